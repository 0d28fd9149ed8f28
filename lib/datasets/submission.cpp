// Submission writers. Formats: LLaVA scripts/convert_vqav2_for_submission.py (VQAv2 EvalAI),
// scripts/convert_gqa_for_eval.py and GQA eval.py's header ("predictions file format: JSON array:
// [{"questionId": str, "prediction": str}]"), lmms-eval tasks/textvqa/utils.py (TextVQA EvalAI:
// {"question_id", "answer"}; mmf's TextVQA predictions carry the same two fields plus extras).
#include "datasets/submission.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/error.h"
#include "datasets/json_source.h"
#include "io/atomic_file.h"

namespace pb {
namespace {

using detail::JsonDocument;
using detail::JsonRef;

// A JSON string as Python's json.dumps writes it (ensure_ascii=True): everything outside ' '..'~'
// escaped, \uXXXX in lower-case hex, surrogate pairs above U+FFFF. Invalid UTF-8 becomes U+FFFD.
std::string python_json_string(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c >= 0x20 && c <= 0x7E) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    uint32_t cp = 0xFFFD;
    size_t len = 1;
    const size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (need == 1) {
      cp = c;
    } else if (need > 1 && i + need <= s.size()) {
      uint32_t v = c & (0x7F >> need);
      bool ok = true;
      for (size_t k = 1; k < need; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        ok = ok && (b & 0xC0) == 0x80;
        v = (v << 6) | (b & 0x3F);
      }
      const uint32_t min_value = need == 2 ? 0x80 : need == 3 ? 0x800 : 0x10000;
      if (ok && v >= min_value && v <= 0x10FFFF && !(v >= 0xD800 && v <= 0xDFFF)) {
        cp = v;
        len = need;
      }
    }
    i += len;
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
    } else {
      out += fmt::format("\\u{:04x}", cp);
    }
  }
  return out + "\"";
}

// A question id that must be written as a JSON integer: canonical decimal text.
bool parse_id(const std::string& text, int64_t& value) {
  if (text.empty() || text.size() > 18 || (text.size() > 1 && text[0] == '0')) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The question ids of a VQAv2 questions file (official JSON or LLaVA jsonl), file order.
std::vector<int64_t> vqav2_question_ids(const std::string& path) {
  std::vector<int64_t> ids;
  if (ends_with(path, ".jsonl")) {
    const std::string text = detail::read_text_file(path);
    size_t line_no = 0;
    for (size_t begin = 0; begin < text.size();) {
      size_t end = text.find('\n', begin);
      if (end == std::string::npos) end = text.size();
      const JsonDocument doc(text.substr(begin, end - begin), path, ++line_no);
      ids.push_back(doc.root().member("question_id").integer());
      begin = end + 1;
    }
  } else {
    const JsonDocument doc(path);
    const JsonRef list = doc.root().member("questions");
    ids.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) ids.push_back(list.element(i).member("question_id").integer());
  }
  return ids;
}

std::string id_answer_array(const std::vector<std::pair<int64_t, const std::string*>>& rows, const char* id_key,
                            const char* answer_key) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    out += fmt::format("{}{{\"{}\": {}, \"{}\": {}}}", i == 0 ? "" : ", ", id_key, rows[i].first, answer_key,
                       python_json_string(rows[i].second ? *rows[i].second : std::string()));
  }
  return out + "]";
}

}  // namespace

void write_vqav2_submission(const std::string& out_path, const std::string& questions_file,
                            const std::map<std::string, std::string>& answer_by_question_id) {
  const std::vector<int64_t> ids = vqav2_question_ids(questions_file);
  std::unordered_set<int64_t> seen;
  std::vector<std::pair<int64_t, const std::string*>> rows;
  rows.reserve(ids.size());
  size_t answered = 0;
  for (int64_t id : ids) {
    if (!seen.insert(id).second) throw Error(fmt::format("{}: question_id {} appears twice", questions_file, id));
    const auto it = answer_by_question_id.find(std::to_string(id));
    rows.emplace_back(id, it == answer_by_question_id.end() ? nullptr : &it->second);
    answered += it == answer_by_question_id.end() ? 0 : 1;
  }
  if (answered != answer_by_question_id.size()) {
    for (const auto& [key, answer] : answer_by_question_id) {
      int64_t id = 0;
      if (!parse_id(key, id) || seen.count(id) == 0) {
        throw Error(fmt::format("{}: {} answers have question ids that are not in {} (first: '{}')", out_path,
                                answer_by_question_id.size() - answered, questions_file, key));
      }
    }
  }
  write_file_atomic(out_path, id_answer_array(rows, "question_id", "answer"));
}

void write_gqa_submission(const std::string& out_path,
                          const std::map<std::string, std::string>& prediction_by_question_id) {
  std::string out = "[";
  for (const auto& [id, prediction] : prediction_by_question_id) {
    out += fmt::format("{}{{\"questionId\": {}, \"prediction\": {}}}", out.size() == 1 ? "" : ", ",
                       python_json_string(id), python_json_string(prediction));
  }
  write_file_atomic(out_path, out + "]");
}

void write_textvqa_submission(const std::string& out_path,
                              const std::map<std::string, std::string>& answer_by_question_id) {
  std::vector<std::pair<int64_t, const std::string*>> rows;
  rows.reserve(answer_by_question_id.size());
  for (const auto& [key, answer] : answer_by_question_id) {
    int64_t id = 0;
    if (!parse_id(key, id)) {
      throw Error(fmt::format(
          "{}: '{}' is not a TextVQA question id (an integer); samples from LLaVA's TextVQA file carry it in "
          "meta \"textvqa_question_id\" once ground truth is joined",
          out_path, key));
    }
    rows.emplace_back(id, &answer);
  }
  std::sort(rows.begin(), rows.end());
  write_file_atomic(out_path, id_answer_array(rows, "question_id", "answer"));
}

}  // namespace pb
