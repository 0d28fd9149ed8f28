#include "eval/score.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "io/json_file.h"

namespace pb {

namespace {

struct Prediction {
  std::string question_id, answer, prompt;
  size_t line;
};

std::string id_text(const nlohmann::json& id, const std::string& where) {
  if (id.is_string()) return id.get<std::string>();
  if (id.is_number_integer()) return std::to_string(id.get<int64_t>());
  throw Error(fmt::format("{}: question_id must be a string or an integer", where));
}

std::vector<Prediction> read_predictions(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot read predictions", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<Prediction> out;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {  // [{question_id, answer}]
    const nlohmann::json list = parse_json_text(text, path);
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = fmt::format("{}: item {}", path, i);
      if (!list[i].is_object() || !list[i].contains("question_id") || !list[i].contains("answer") ||
          !list[i]["answer"].is_string()) {
        throw Error(fmt::format("{} must be an object with question_id and a string answer", where));
      }
      out.push_back({id_text(list[i]["question_id"], where), list[i]["answer"].get<std::string>(), "", i + 1});
    }
    return out;
  }
  std::istringstream lines(text);
  std::string line;
  for (size_t n = 1; std::getline(lines, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}: line {}", path, n);
    const nlohmann::json j = parse_json_text(line, where);
    if (!j.is_object() || !j.contains("question_id") || !j.contains("text") || !j["text"].is_string()) {
      throw Error(fmt::format("{}: expected an object with question_id and a string text (LLaVA answers format)", where));
    }
    out.push_back({id_text(j["question_id"], where), j["text"].get<std::string>(), j.value("prompt", ""), n});
  }
  return out;
}

}  // namespace

ScoredPredictions score_predictions(const Dataset& dataset, const std::string& predictions_path, MetricMode mode) {
  std::unordered_multimap<std::string, const Sample*> by_id;
  std::unordered_set<std::string> distinct_ids;
  for (const Sample& s : dataset.samples) {
    by_id.emplace(s.question_id, &s);
    distinct_ids.insert(s.question_id);
  }
  // When question ids repeat in this dataset (LLaVA's TextVQA file), every row also names its key.
  const bool ids_repeat = distinct_ids.size() != dataset.samples.size();
  ScoredPredictions result;
  std::unordered_set<std::string> answered;
  double total = 0;
  for (const Prediction& p : read_predictions(predictions_path)) {
    const auto [lo, hi] = by_id.equal_range(p.question_id);
    const Sample* match = nullptr;
    bool ambiguous = false;
    for (auto it = lo; it != hi; ++it) {
      if (std::distance(lo, hi) == 1 || it->second->llava_text == p.prompt) {
        ambiguous = match != nullptr;
        match = it->second;
      }
    }
    if (ambiguous) {
      throw Error(fmt::format("{}: line {}: question_id {} matches several questions", predictions_path, p.line,
                              p.question_id));
    }
    if (match == nullptr) {
      ++result.unknown;
      continue;
    }
    answered.insert(match->key);
    nlohmann::json row = {{"question_id", p.question_id}};
    if (ids_repeat) row["key"] = match->key;
    if (!match->scored()) {
      ++result.unscored;
      row["score"] = nullptr;
    } else {
      const double s = score_answer(mode, p.answer, match->answers).score;
      row["score"] = s;
      total += s;
      ++result.scored;
    }
    result.per_question.push_back(std::move(row));
  }
  for (const Sample& s : dataset.samples) {
    if (s.scored() && answered.count(s.key) == 0) ++result.missing;
  }
  result.accuracy = result.scored > 0 ? 100.0 * total / static_cast<double>(result.scored) : 0.0;
  return result;
}

}  // namespace pb
