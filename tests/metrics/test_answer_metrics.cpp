// score_answer per mode on hand-checked cases, the mode registry and errors.
// Speed is measured by bench/metrics_bench, not here.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "metrics/answer_metrics.h"

using Catch::Matchers::Contains;
using pb::MetricMode;

namespace {

std::vector<std::string> repeat(const std::string& a,
                                int n_a,
                                const std::string& b = "",
                                int n_b = 0) {
  std::vector<std::string> out(static_cast<size_t>(n_a), a);
  out.insert(out.end(), static_cast<size_t>(n_b), b);
  return out;
}

double score(MetricMode mode, const std::string& pred, const std::vector<std::string>& answers) {
  return pb::score_answer(mode, pred, answers).score;
}

const MetricMode kVqaModes[] = {MetricMode::kOfficial, MetricMode::kLlavaSubmit, MetricMode::kM4c,
                                MetricMode::kAlwaysNormalize, MetricMode::kVlmEvalKit};

}  // namespace

TEST_CASE("metrics: registry names round-trip in enum order", "[metrics][registry]") {
  const std::vector<MetricMode> modes = pb::all_metric_modes();
  const std::vector<std::string> names = {"official",         "llava_submit",  "m4c",
                                          "always_normalize", "vlmevalkit",    "gqa_llava",
                                          "gqa_lmms_eval",    "gqa_vlmevalkit"};
  REQUIRE(modes.size() == names.size());
  for (size_t i = 0; i < modes.size(); ++i) {
    CHECK(static_cast<size_t>(modes[i]) == i);
    CHECK(pb::metric_mode_name(modes[i]) == names[i]);
    CHECK(pb::metric_mode_from_name(names[i]) == modes[i]);
  }
}

TEST_CASE("metrics: unknown mode name lists the valid ones", "[metrics][registry]") {
  CHECK_THROWS_AS(pb::metric_mode_from_name("vqa"), pb::Error);
  CHECK_THROWS_WITH(pb::metric_mode_from_name("offical"),
                    Contains("unknown metric mode 'offical'") &&
                        Contains("Did you mean: official?") &&
                        Contains("official, llava_submit, m4c, always_normalize, vlmevalkit, "
                                 "gqa_llava, gqa_lmms_eval, gqa_vlmevalkit"));
  CHECK_THROWS_WITH(pb::metric_mode_from_name(""), Contains("Valid modes"));
  CHECK_THROWS_WITH(pb::metric_mode_from_name("Official"), Contains("Did you mean: official?"));
}

TEST_CASE("metrics: empty answers is an error naming the mode", "[metrics][errors]") {
  for (MetricMode m : pb::all_metric_modes()) {
    CHECK_THROWS_WITH(pb::score_answer(m, "yes", {}),
                      Contains(pb::metric_mode_name(m)) && Contains("no ground-truth answers"));
  }
}

TEST_CASE("metrics: official keeps raw strings when the ten answers agree", "[metrics][vqa]") {
  // Number word, capital, trailing period, 10,000: all normalised away unless the answers are
  // identical, where vqaEval.py compares the raw (stripped) strings.
  CHECK(score(MetricMode::kOfficial, "two", repeat("2", 10)) == 0.0);
  CHECK(score(MetricMode::kOfficial, "two", repeat("2", 5, "3", 5)) == 1.0);
  CHECK(score(MetricMode::kOfficial, "yes.", repeat("yes", 10)) == 0.0);
  CHECK(score(MetricMode::kOfficial, " yes\n", repeat("yes", 10)) == 1.0);  // cleaning always
  CHECK(score(MetricMode::kOfficial, "10,000", repeat("10000", 10)) == 0.0);
  CHECK(score(MetricMode::kOfficial, "10,000", repeat("10000", 4, "1000", 6)) == 1.0);
  CHECK(pb::score_answer(MetricMode::kOfficial, "  Yes. ", repeat("yes", 10)).normalized_answer ==
        "Yes.");
  CHECK(pb::score_answer(MetricMode::kOfficial, "Two dogs", repeat("2 dogs", 3, "2", 7))
            .normalized_answer == "2 dogs");
  // The answers count as different when they differ only in case (V47).
  CHECK(score(MetricMode::kOfficial, "YES", {"Yes", "yes", "yes", "yes"}) == 1.0);
  CHECK(score(MetricMode::kOfficial, "YES", repeat("yes", 4)) == 0.0);
}

TEST_CASE("metrics: every VQA mode on number words, articles, contractions, commas",
          "[metrics][vqa]") {
  for (MetricMode m : kVqaModes) {
    INFO("mode " << pb::metric_mode_name(m));
    CHECK(score(m, "two", repeat("2", 5, "3", 5)) == 1.0);
    CHECK(score(m, "Two", repeat("2", 1, "3", 9)) == Approx(0.3).margin(1e-12));
    CHECK(score(m, "a dog", repeat("dog", 3, "cat", 7)) == Approx(0.9).margin(1e-12));
    CHECK(score(m, "the", repeat("dog", 5, "cat", 5)) == 0.0);
    CHECK(score(m, "dont", repeat("don't", 4, "no", 6)) == 1.0);
    CHECK(score(m, "10,000", repeat("10000", 4, "1000", 6)) == 1.0);
    CHECK(score(m, "eleven", repeat("11", 5, "12", 5)) == 0.0);
    CHECK(score(m, "", repeat("yes", 5, "no", 5)) == 0.0);
  }
  // Identical answers: only the official mode compares raw strings.
  for (MetricMode m : {MetricMode::kLlavaSubmit, MetricMode::kM4c, MetricMode::kAlwaysNormalize,
                       MetricMode::kVlmEvalKit}) {
    INFO("mode " << pb::metric_mode_name(m));
    CHECK(score(m, "two", repeat("2", 10)) == 1.0);
    CHECK(score(m, "Yes", repeat("yes", 10)) == 1.0);
  }
}

TEST_CASE("metrics: where the VQA modes part ways", "[metrics][vqa]") {
  // "3.": VLMEvalKit's look-behind keeps the period (V19).
  CHECK(score(MetricMode::kAlwaysNormalize, "3.", repeat("3", 4, "4", 6)) == 1.0);
  CHECK(score(MetricMode::kVlmEvalKit, "3.", repeat("3", 4, "4", 6)) == 0.0);
  CHECK(pb::score_answer(MetricMode::kVlmEvalKit, "3.", {"3", "4"}).normalized_answer == "3.");
  // "man's": EvalAI splits "'s" on the prediction only in llava_submit (V32); m4c splits both.
  CHECK(score(MetricMode::kLlavaSubmit, "man's", repeat("man's", 4, "man", 6)) == 0.0);
  CHECK(score(MetricMode::kM4c, "man's", repeat("man's", 4, "man", 6)) == 1.0);
  CHECK(pb::score_answer(MetricMode::kM4c, "Man's", {"man's", "man"}).normalized_answer ==
        "man 's");
  CHECK(
      pb::score_answer(MetricMode::kAlwaysNormalize, "Man's", {"man's", "man"}).normalized_answer ==
      "man's");
  // "2,000-3,000": EvalAI drops commas before the delete-mode test (V40).
  CHECK(score(MetricMode::kM4c, "2,000-3,000", repeat("2000 3000", 4, "2000", 6)) == 1.0);
  CHECK(score(MetricMode::kAlwaysNormalize, "2,000-3,000", repeat("2000 3000", 4, "2000", 6)) ==
        0.0);
  // "1,,2": a comma run only triggers lmms-eval's regex.
  CHECK(score(MetricMode::kAlwaysNormalize, "1,,2", repeat("12", 4, "x", 6)) == 1.0);
  CHECK(score(MetricMode::kVlmEvalKit, "1,,2", repeat("12", 4, "x", 6)) == 0.0);
  // 40 periods: 32 removed per pass; llava_submit gets two passes (V46).
  const std::string dots = "yes" + std::string(40, '.');
  CHECK(score(MetricMode::kOfficial, dots, repeat("yes", 5, "no", 5)) == 0.0);
  CHECK(score(MetricMode::kLlavaSubmit, dots, repeat("yes", 5, "no", 5)) == 1.0);
  // Last-bit differences of the averaging rules (V48).
  const auto v48 = repeat("black & white", 3, "black and white", 2);
  std::vector<std::string> answers = v48;
  answers.insert(answers.end(), 5, "white");
  CHECK(score(MetricMode::kOfficial, "black and white", answers) == 0.6000000000000001);
  CHECK(score(MetricMode::kAlwaysNormalize, "black and white", answers) == 0.6);
}

TEST_CASE("metrics: VQA modes accept any number of answers", "[metrics][vqa]") {
  for (MetricMode m : kVqaModes) {
    INFO("mode " << pb::metric_mode_name(m));
    CHECK(score(m, "yes", {"yes"}) == 0.0);  // leave-one-out: nothing left to match
    CHECK(score(m, "yes", {"yes", "yes"}) == Approx(1.0 / 3.0).margin(1e-15));
    CHECK(score(m, "yes", repeat("yes", 4)) == 1.0);
    CHECK(score(m, "yes", repeat("yes", 20, "no", 20)) == 1.0);
  }
}

TEST_CASE("metrics: GQA modes on the G01-G12 vectors", "[metrics][gqa]") {
  struct Case {
    const char* id;
    const char* pred;
    const char* gold;
    double llava, lmms, vlmeval;
  };
  const Case cases[] = {
      {"G01", "Yes", "yes", 1, 1, 1},           {"G02", "Yes.", "yes", 1, 1, 0},
      {"G03", "yes..", "yes", 1, 1, 0},         {"G04", " Yes", "yes", 0, 0, 1},
      {"G05", "The man", "man", 0, 0, 0},       {"G06", "t-shirt", "t-shirt", 1, 1, 1},
      {"G07", "tshirt", "t-shirt", 0, 1, 0},    {"G08", "t shirt", "t-shirt", 0, 0, 0},
      {"G09", "Yes!", "yes", 0, 1, 0},          {"G10", "Left.", "left", 1, 1, 0},
      {"G11", "No, it is not.", "no", 0, 0, 0}, {"G12", "Man's", "man's", 1, 1, 1},
  };
  for (const Case& c : cases) {
    INFO(c.id << ": '" << c.pred << "' vs '" << c.gold << "'");
    CHECK(score(MetricMode::kGqaLlava, c.pred, {c.gold}) == c.llava);
    CHECK(score(MetricMode::kGqaLmmsEval, c.pred, {c.gold}) == c.lmms);
    CHECK(score(MetricMode::kGqaVlmEvalKit, c.pred, {c.gold}) == c.vlmeval);
  }
}

TEST_CASE("metrics: GQA modes' normalised answers, gold handling, several answers",
          "[metrics][gqa]") {
  CHECK(pb::score_answer(MetricMode::kGqaLlava, "Yes..", {"yes"}).normalized_answer == "yes");
  CHECK(pb::score_answer(MetricMode::kGqaLmmsEval, "T-Shirt!", {"x"}).normalized_answer ==
        "tshirt");
  CHECK(pb::score_answer(MetricMode::kGqaVlmEvalKit, " Yes\n", {"x"}).normalized_answer == "yes");
  // LLaVA leaves the gold answer untouched; lmms-eval and VLMEvalKit transform both sides.
  CHECK(score(MetricMode::kGqaLlava, "yes", {"Yes"}) == 0.0);
  CHECK(score(MetricMode::kGqaLmmsEval, "yes", {"Yes."}) == 1.0);
  CHECK(score(MetricMode::kGqaVlmEvalKit, "yes", {" Yes "}) == 1.0);
  // More than one answer: the best match counts.
  for (MetricMode m :
       {MetricMode::kGqaLlava, MetricMode::kGqaLmmsEval, MetricMode::kGqaVlmEvalKit}) {
    CHECK(score(m, "yes", {"no", "yes"}) == 1.0);
    CHECK(score(m, "maybe", {"no", "yes"}) == 0.0);
  }
  // lmms-eval's numpy arrays keep their width: "I-dot" lower-cases to two code points and the
  // last character is cut ("\xC4\xB0x" -> "i\xCC\x87", not "i\xCC\x87x").
  CHECK(pb::score_answer(MetricMode::kGqaLmmsEval, "\xC4\xB0x", {"x"}).normalized_answer ==
        "i\xCC\x87");
  CHECK(pb::score_answer(MetricMode::kGqaLlava, "\xC4\xB0x", {"x"}).normalized_answer ==
        "i\xCC\x87x");
}

TEST_CASE("metrics: bytes that are not UTF-8 pass through unchanged", "[metrics][vqa]") {
  const std::string latin1 = "caf\xE9";  // Latin-1 e-acute: not valid UTF-8
  for (MetricMode m : pb::all_metric_modes()) {
    INFO("mode " << pb::metric_mode_name(m));
    const pb::AnswerScore s = pb::score_answer(m, latin1, repeat(latin1, 5, "tea", 5));
    CHECK(s.score == 1.0);
    CHECK(s.normalized_answer == latin1);
  }
}
