// The answer normalisers (vqaEval.py processPunctuation/processDigitArticle, EvalAIAnswerProcessor,
// VLMEvalKit's variant) and the three averaging rules. Expected strings were checked against the
// reference code (Python 2.7.18 for vqaEval.py, Python 3.11 for the others).
#include <catch2/catch.hpp>
#include <cmath>

#include "metrics/evalai_processor.h"
#include "metrics/vqa_accuracy.h"
#include "metrics/vqa_normalize.h"

using pb::detail::kEvalAiPunctuation;
using pb::detail::kOfficialPunctuation;
using pb::detail::kVlmEvalKitPunctuation;
using pb::detail::PyVersion;

namespace {

std::string official(const std::string& s) {
  return pb::detail::process_digit_article(pb::detail::process_punctuation(s, kOfficialPunctuation),
                                           PyVersion::kPython2);
}

std::string punct(const std::string& s, const pb::detail::PunctuationRules& rules) {
  return pb::detail::process_punctuation(s, rules);
}

}  // namespace

TEST_CASE("metrics: official normaliser string vectors", "[metrics][normalize]") {
  const std::pair<const char*, const char*> cases[] = {
      {"Two dogs", "2 dogs"},
      {"none", "0"},
      {"1,000", "1000"},
      {"10,000", "10000"},
      {"2.5", "2.5"},
      {"3.", "3"},
      {"u.s.", "us"},
      {"An apple", "apple"},
      {"the", ""},
      {"The two", "2"},
      {"none of the three", "0 of 3"},
      {"eleven", "eleven"},
      {"t-shirt", "t shirt"},
      {"red / white", "red white"},
      {"a-b - c", "ab c"},
      {"yes, (no)", "yes no"},
      {"10:30", "10:30"},
      {"$1,000.50!", "$1000.50"},
      {"dont", "don't"},
      {"Dont", "don't"},
      {"youll", "you'll"},
      {"couldnt've", "couldn't've"},
      {"she's", "she's"},
      {"let's", "let's"},
      {"Im", "im"},
      {"Ive", "ive"},
      {"somebody'd", "somebodyd"},
      {"2,000-3,000", "20003000"},
      {"..5", ".5"},
      {"1,,2", "1 2"},
  };
  for (const auto& [in, want] : cases) {
    INFO("input '" << in << "'");
    CHECK(official(in) == want);
  }
}

TEST_CASE("metrics: processPunctuation delete-or-space rule", "[metrics][normalize]") {
  // Unspaced punctuation becomes a space, spaced punctuation is deleted, per character.
  CHECK(punct("red/white", kOfficialPunctuation) == "red white");
  CHECK(punct("red / white", kOfficialPunctuation) == "red  white");
  CHECK(punct("yes, (no)", kOfficialPunctuation) == "yes no ");
  // One digit-comma-digit anywhere deletes every punctuation character (V40).
  CHECK(punct("2,000-3,000", kOfficialPunctuation) == "20003000");
  // Only 32 periods go per pass (count = re.UNICODE = 32).
  CHECK(punct("yes" + std::string(40, '.'), kOfficialPunctuation) == "yes" + std::string(8, '.'));
  CHECK(punct(std::string(32, '.'), kOfficialPunctuation).empty());
}

TEST_CASE("metrics: the comma and period regexes of each implementation", "[metrics][normalize]") {
  // (\d)(\,)(\d) needs exactly one comma; (?<=\d)(\,)+(?=\d) takes a run.
  CHECK(punct("1,,2", kOfficialPunctuation) == "1  2");
  CHECK(punct("1,,2", kVlmEvalKitPunctuation) == "1  2");
  CHECK(punct("1,,2", kEvalAiPunctuation) == "12");
  // vqaEval.py is Python 2 without re.UNICODE: \d is ASCII. The Python 3 copies see Nd digits.
  CHECK(punct("\xD9\xA3,\xD9\xA4", kOfficialPunctuation) == "\xD9\xA3 \xD9\xA4");
  CHECK(punct("\xD9\xA3,\xD9\xA4", kVlmEvalKitPunctuation) == "\xD9\xA3\xD9\xA4");
  // (?!<=\d)(\.)(?!\d) deletes "3."'s period; VLMEvalKit's (?<!\d)\.(?!\d) keeps it (V19).
  CHECK(punct("3.", kOfficialPunctuation) == "3");
  CHECK(punct("3.", kEvalAiPunctuation) == "3");
  CHECK(punct("3.", kVlmEvalKitPunctuation) == "3.");
  CHECK(punct("3..", kVlmEvalKitPunctuation) == "3.");
  CHECK(punct("a.3", kVlmEvalKitPunctuation) == "a.3");
  CHECK(punct("u.s.", kVlmEvalKitPunctuation) == "us");
}

TEST_CASE("metrics: evalai_process (EvalAIAnswerProcessor)", "[metrics][normalize]") {
  CHECK(pb::evalai_process("man's") == "man 's");
  CHECK(pb::evalai_process("Man'S hat") == "man 's hat");
  CHECK(pb::evalai_process("It's") == "it 's");
  CHECK(pb::evalai_process("'S") == "'s");
  CHECK(pb::evalai_process("What?") == "what");
  CHECK(pb::evalai_process("yes?!") == "yes");
  CHECK(pb::evalai_process("1,000?") == "1000");
  CHECK(pb::evalai_process("1,,2") == "12");
  CHECK(pb::evalai_process("2,000-3,000") == "2000 3000");  // commas go before the dash test
  CHECK(pb::evalai_process("yes" + std::string(40, '.')) == "yes" + std::string(8, '.'));
  CHECK(pb::evalai_process("  Two\tdogs \n") == "2 dogs");
  CHECK(pb::evalai_process("") == "");
}

TEST_CASE("metrics: leave-one-out accuracy and each averaging rule's last bit",
          "[metrics][accuracy]") {
  using pb::detail::vqa_leave_one_out_accuracy;
  using pb::detail::VqaMean;
  const auto answers = [](int k, int n) {
    std::vector<std::u32string> a(static_cast<size_t>(n), U"no");
    for (int i = 0; i < k; ++i) a[static_cast<size_t>(i)] = U"yes";
    return a;
  };
  // Closed form with k of 10 matching: 0, .3, .6, .9, 1, 1, ...
  const double want[] = {0.0, 0.3, 0.6, 0.9, 1.0, 1.0};
  for (int k = 0; k <= 5; ++k) {
    for (VqaMean m : {VqaMean::kSequential, VqaMean::kExact, VqaMean::kNumpy}) {
      CHECK(std::abs(vqa_leave_one_out_accuracy(answers(k, 10), U"yes", m) - want[k]) < 1e-15);
    }
  }
  // Fewer answers: one answer never scores; n = 4 all matching gives 1.
  CHECK(vqa_leave_one_out_accuracy(answers(1, 1), U"yes", VqaMean::kSequential) == 0.0);
  CHECK(vqa_leave_one_out_accuracy(answers(4, 4), U"yes", VqaMean::kSequential) == 1.0);
  CHECK(vqa_leave_one_out_accuracy(answers(2, 2), U"yes", VqaMean::kExact) == 1.0 / 3.0);

  // The bits the references produce (vectors V48 and V42, run through each implementation):
  // V48: answers 3 x other, 2 x prediction, 5 x other -> values 2/3 x 3, 1/3 x 2, 2/3 x 5.
  const std::vector<std::u32string> v48 = {U"b", U"b", U"b", U"p", U"p",
                                           U"w", U"w", U"w", U"w", U"w"};
  CHECK(vqa_leave_one_out_accuracy(v48, U"p", VqaMean::kSequential) == 0.6000000000000001);
  CHECK(vqa_leave_one_out_accuracy(v48, U"p", VqaMean::kExact) == 0.6);
  CHECK(vqa_leave_one_out_accuracy(v48, U"p", VqaMean::kNumpy) == 0.6);
  // V42: 7 x other, 3 x prediction -> values 1 x 7, 2/3 x 3.
  const std::vector<std::u32string> v42 = {U"5", U"5", U"5", U"5", U"5",
                                           U"5", U"5", U"p", U"p", U"p"};
  CHECK(vqa_leave_one_out_accuracy(v42, U"p", VqaMean::kSequential) == 0.9);
  CHECK(vqa_leave_one_out_accuracy(v42, U"p", VqaMean::kExact) == 0.9);
  CHECK(vqa_leave_one_out_accuracy(v42, U"p", VqaMean::kNumpy) == 0.8999999999999998);
}

TEST_CASE("metrics: numpy pairwise sum and exact ratio helpers", "[metrics][accuracy]") {
  using pb::detail::nearest_double_ratio;
  using pb::detail::numpy_sum;
  const double third = 1.0 / 3.0;
  // n < 8: left to right from 0.0.
  const double small[] = {0.1, 0.2, 0.3};
  CHECK(numpy_sum(small, 3) == (0.1 + 0.2) + 0.3);
  // 8 <= n <= 128: eight interleaved partial sums, then the tail.
  std::vector<double> v(10, third);
  v[0] = 0.0;
  const double r = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
  CHECK(numpy_sum(v.data(), v.size()) == (r + v[8]) + v[9]);
  // n > 128 splits at a multiple of 8 below n / 2.
  std::vector<double> big(300, 0.1);
  CHECK(numpy_sum(big.data(), 300) ==
        numpy_sum(big.data(), 144) + numpy_sum(big.data() + 144, 156));
  // Correct rounding, ties to even.
  CHECK(nearest_double_ratio(1, 3) == 1.0 / 3.0);
  CHECK(nearest_double_ratio(2, 3) == 2.0 / 3.0);
  CHECK(nearest_double_ratio(9, 10) == 0.9);
  CHECK(nearest_double_ratio(0, 7) == 0.0);
  CHECK(nearest_double_ratio((static_cast<pb::detail::Uint128>(1) << 53) + 1, 1) ==
        9007199254740992.0);  // 2^53 + 1 ties to the even 2^53
  CHECK(nearest_double_ratio((static_cast<pb::detail::Uint128>(1) << 53) + 3, 1) ==
        9007199254740996.0);  // 2^53 + 3 ties to the even 2^53 + 4
}
