#include "metrics/vqa_normalize.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace pb::detail {

namespace {

// The 21 characters of vqaEval.py's `punct` list (GT-Vision-Lab/VQA
// PythonEvaluationTools/vqaEvaluation/vqaEval.py); identical in mmf/LLaVA m4c_evaluator.py
// PUNCTUATIONS, lmms-eval vqa_eval_metric.py and VLMEvalKit vlmeval/smp/misc.py. Not in it:
// the apostrophe, ':', '.', and % $ & * # ~ ^ |.
constexpr std::u32string_view kPunctuation = U";/[]\"{}()=+\\_-><@`,?!";

// `manualMap` (vqaEval.py) / NUMBER_MAP (m4c_evaluator.py): only zero..ten, and "none" -> "0".
constexpr std::pair<std::string_view, std::string_view> kNumberWords[] = {
    {"none", "0"}, {"zero", "0"}, {"one", "1"}, {"two", "2"},   {"three", "3"}, {"four", "4"},
    {"five", "5"}, {"six", "6"},  {"seven", "7"}, {"eight", "8"}, {"nine", "9"}, {"ten", "10"},
};

// `articles` (vqaEval.py) / ARTICLES (m4c_evaluator.py).
constexpr std::string_view kArticles[] = {"a", "an", "the"};

// `contractions` of vqaEval.py, transcribed in its order (the same 120 entries, byte for byte, in
// m4c_evaluator.py CONTRACTIONS, lmms-eval vqa_eval_metric.py and VLMEvalKit
// vlmeval/dataset/utils/vqa_eval.py). Kept as published, quirks included: the four keys with an
// upper-case letter (Id've, I'dve, Im, Ive) can never match a lower-cased token, let's and she's
// map to themselves, and somebody'd maps to "somebodyd".
constexpr std::pair<std::string_view, std::string_view> kContractions[] = {
    {"aint", "ain't"}, {"arent", "aren't"}, {"cant", "can't"}, {"couldve", "could've"},
    {"couldnt", "couldn't"}, {"couldn'tve", "couldn't've"}, {"couldnt've", "couldn't've"},
    {"didnt", "didn't"}, {"doesnt", "doesn't"}, {"dont", "don't"}, {"hadnt", "hadn't"},
    {"hadnt've", "hadn't've"}, {"hadn'tve", "hadn't've"}, {"hasnt", "hasn't"},
    {"havent", "haven't"}, {"hed", "he'd"}, {"hed've", "he'd've"}, {"he'dve", "he'd've"},
    {"hes", "he's"}, {"howd", "how'd"}, {"howll", "how'll"}, {"hows", "how's"}, {"Id've", "I'd've"},
    {"I'dve", "I'd've"}, {"Im", "I'm"}, {"Ive", "I've"}, {"isnt", "isn't"}, {"itd", "it'd"},
    {"itd've", "it'd've"}, {"it'dve", "it'd've"}, {"itll", "it'll"}, {"let's", "let's"},
    {"maam", "ma'am"}, {"mightnt", "mightn't"}, {"mightnt've", "mightn't've"},
    {"mightn'tve", "mightn't've"}, {"mightve", "might've"}, {"mustnt", "mustn't"},
    {"mustve", "must've"}, {"neednt", "needn't"}, {"notve", "not've"}, {"oclock", "o'clock"},
    {"oughtnt", "oughtn't"}, {"ow's'at", "'ow's'at"}, {"'ows'at", "'ow's'at"},
    {"'ow'sat", "'ow's'at"}, {"shant", "shan't"}, {"shed've", "she'd've"}, {"she'dve", "she'd've"},
    {"she's", "she's"}, {"shouldve", "should've"}, {"shouldnt", "shouldn't"},
    {"shouldnt've", "shouldn't've"}, {"shouldn'tve", "shouldn't've"}, {"somebody'd", "somebodyd"},
    {"somebodyd've", "somebody'd've"}, {"somebody'dve", "somebody'd've"},
    {"somebodyll", "somebody'll"}, {"somebodys", "somebody's"}, {"someoned", "someone'd"},
    {"someoned've", "someone'd've"}, {"someone'dve", "someone'd've"}, {"someonell", "someone'll"},
    {"someones", "someone's"}, {"somethingd", "something'd"}, {"somethingd've", "something'd've"},
    {"something'dve", "something'd've"}, {"somethingll", "something'll"}, {"thats", "that's"},
    {"thered", "there'd"}, {"thered've", "there'd've"}, {"there'dve", "there'd've"},
    {"therere", "there're"}, {"theres", "there's"}, {"theyd", "they'd"}, {"theyd've", "they'd've"},
    {"they'dve", "they'd've"}, {"theyll", "they'll"}, {"theyre", "they're"}, {"theyve", "they've"},
    {"twas", "'twas"}, {"wasnt", "wasn't"}, {"wed've", "we'd've"}, {"we'dve", "we'd've"},
    {"weve", "we've"}, {"werent", "weren't"}, {"whatll", "what'll"}, {"whatre", "what're"},
    {"whats", "what's"}, {"whatve", "what've"}, {"whens", "when's"}, {"whered", "where'd"},
    {"wheres", "where's"}, {"whereve", "where've"}, {"whod", "who'd"}, {"whod've", "who'd've"},
    {"who'dve", "who'd've"}, {"wholl", "who'll"}, {"whos", "who's"}, {"whove", "who've"},
    {"whyll", "why'll"}, {"whyre", "why're"}, {"whys", "why's"}, {"wont", "won't"},
    {"wouldve", "would've"}, {"wouldnt", "wouldn't"}, {"wouldnt've", "wouldn't've"},
    {"wouldn'tve", "wouldn't've"}, {"yall", "y'all"}, {"yall'll", "y'all'll"},
    {"y'allll", "y'all'll"}, {"yall'd've", "y'all'd've"}, {"y'alld've", "y'all'd've"},
    {"y'all'dve", "y'all'd've"}, {"youd", "you'd"}, {"youd've", "you'd've"},
    {"you'dve", "you'd've"}, {"youll", "you'll"}, {"youre", "you're"}, {"youve", "you've"},
};

// kContractions sorted by key, for binary search.
const std::vector<std::pair<std::string_view, std::string_view>>& sorted_contractions() {
  static const auto table = [] {
    std::vector<std::pair<std::string_view, std::string_view>> t(std::begin(kContractions),
                                                                 std::end(kContractions));
    std::sort(t.begin(), t.end());
    return t;
  }();
  return table;
}

// Every table key is ASCII: a token with any other code point matches none of them.
bool to_ascii(std::u32string_view token, std::string* out) {
  out->clear();
  for (char32_t c : token) {
    if (c >= 0x80) return false;
    *out += static_cast<char>(c);
  }
  return true;
}

// Does the digit-comma-digit regex of `rule` find a match anywhere in `text`?
bool has_digit_comma_digit(std::u32string_view text, const PunctuationRules& rules) {
  const auto digit = [&](char32_t c) { return py_is_regex_digit(c, rules.python); };
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    if (!digit(text[i]) || text[i + 1] != U',') continue;
    size_t j = i + 1;
    if (rules.comma == CommaRule::kCommaRun) {
      while (j < text.size() && text[j] == U',') ++j;
    } else {
      ++j;
    }
    if (j < text.size() && digit(text[j])) return true;
  }
  return false;
}

}  // namespace

std::u32string process_punctuation(std::u32string_view text, const PunctuationRules& rules) {
  // The delete-or-space decision is taken per punctuation character, always on the input text
  // (`p + ' ' in inText or ' ' + p in inText`, or the comma regex), never on the partial result.
  std::array<bool, kPunctuation.size()> delete_mode{};
  delete_mode.fill(has_digit_comma_digit(text, rules));
  for (size_t i = 0; i < text.size(); ++i) {
    const size_t p = kPunctuation.find(text[i]);
    if (p == std::u32string_view::npos) continue;
    if ((i + 1 < text.size() && text[i + 1] == U' ') || (i > 0 && text[i - 1] == U' ')) {
      delete_mode[p] = true;
    }
  }
  std::u32string spaced;
  spaced.reserve(text.size());
  for (char32_t c : text) {
    const size_t p = kPunctuation.find(c);
    if (p == std::u32string_view::npos) {
      spaced += c;
    } else if (!delete_mode[p]) {
      spaced += U' ';
    }
  }
  // The period regex runs on that result; its look-arounds see the text before any deletion,
  // and Pattern.sub stops after count = re.UNICODE = 32 replacements.
  constexpr int kMaxPeriodsRemoved = 32;
  const auto digit = [&](char32_t c) { return py_is_regex_digit(c, rules.python); };
  std::u32string out;
  out.reserve(spaced.size());
  int removed = 0;
  for (size_t i = 0; i < spaced.size(); ++i) {
    const char32_t c = spaced[i];
    bool remove = c == U'.' && removed < kMaxPeriodsRemoved &&
                  !(i + 1 < spaced.size() && digit(spaced[i + 1]));
    if (remove && rules.period == PeriodRule::kNotBesideDigit && i > 0 && digit(spaced[i - 1])) {
      remove = false;
    }
    if (remove) {
      ++removed;
    } else {
      out += c;
    }
  }
  return out;
}

std::u32string process_digit_article(std::u32string_view text, PyVersion version) {
  const std::u32string lowered = py_lower(text, version);
  const auto& contractions = sorted_contractions();
  std::u32string out;
  out.reserve(lowered.size());
  std::string ascii;
  bool first = true;
  for (std::u32string_view token : py_split(lowered, version)) {
    std::u32string_view word = token;
    std::u32string mapped;
    if (to_ascii(token, &ascii)) {
      for (const auto& [from, to] : kNumberWords) {
        if (ascii == from) {
          mapped.assign(to.begin(), to.end());
          ascii = to;
          word = mapped;
          break;
        }
      }
      if (std::find(std::begin(kArticles), std::end(kArticles), ascii) != std::end(kArticles)) {
        continue;
      }
      // Contractions are looked up after number mapping and article removal, as in the original
      // (a second loop over the kept words); no number word or digit is a contraction key.
      const auto it = std::lower_bound(contractions.begin(), contractions.end(),
                                       std::string_view(ascii),
                                       [](const auto& e, std::string_view k) { return e.first < k; });
      if (it != contractions.end() && it->first == ascii) {
        mapped.assign(it->second.begin(), it->second.end());
        word = mapped;
      }
    }
    if (!first) out += U' ';
    out += word;
    first = false;
  }
  return out;
}

std::u32string normalize_answer(std::u32string_view text, const PunctuationRules& rules) {
  return process_digit_article(process_punctuation(text, rules), rules.python);
}

std::string process_punctuation(const std::string& text, const PunctuationRules& rules) {
  return py_encode(process_punctuation(py_decode(text), rules));
}

std::string process_digit_article(const std::string& text, PyVersion version) {
  return py_encode(process_digit_article(py_decode(text), version));
}

}  // namespace pb::detail
