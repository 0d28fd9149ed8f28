// The 48 VQA-accuracy vectors of tests/data/golden/metrics/vqa_metric_vectors.json, each scored by
// the unmodified reference implementations: every column must match.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "metrics/answer_metrics.h"
#include "test_paths.h"

namespace {

nlohmann::json load_vectors() {
  const std::string path = std::string(PB_TEST_DATA) + "/golden/metrics/vqa_metric_vectors.json";
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// Golden column -> the mode that reproduces it.
const std::pair<const char*, pb::MetricMode> kColumns[] = {
    {"official_raw", pb::MetricMode::kOfficial},
    {"official_evalai_pred", pb::MetricMode::kLlavaSubmit},
    {"m4c_textvqa", pb::MetricMode::kM4c},
    {"lmms_vqav2", pb::MetricMode::kAlwaysNormalize},
    {"vlmevalkit", pb::MetricMode::kVlmEvalKit},
};

}  // namespace

TEST_CASE("metrics: golden VQA vectors, every column", "[metrics][golden]") {
  const nlohmann::json vectors = load_vectors();
  REQUIRE(vectors.size() == 48);
  size_t checked = 0;
  for (const nlohmann::json& v : vectors) {
    const std::string id = v.at("id");
    const std::string pred = v.at("pred");
    const std::vector<std::string> gt = v.at("gt");
    REQUIRE(gt.size() == 10);
    for (const auto& [column, mode] : kColumns) {
      const double expected = v.at(column);
      const double got = pb::score_answer(mode, pred, gt).score;
      INFO("vector " << id << " (" << v.value("note", "") << "), column " << column << ", mode "
                     << pb::metric_mode_name(mode) << ": expected " << expected << ", got " << got);
      CHECK(std::abs(got - expected) <= 1e-9);
      ++checked;
    }
  }
  CHECK(checked == 48 * 5);
}

TEST_CASE("metrics: golden pred_evalai equals evalai_process(pred)", "[metrics][golden]") {
  for (const nlohmann::json& v : load_vectors()) {
    const std::string pred = v.at("pred");
    const std::string expected = v.at("pred_evalai");
    INFO("vector " << v.at("id").get<std::string>() << ": pred '" << pred << "'");
    CHECK(pb::evalai_process(pred) == expected);
    // m4c and llava_submit journal the processed prediction.
    CHECK(pb::score_answer(pb::MetricMode::kM4c, pred, v.at("gt")).normalized_answer == expected);
  }
}
