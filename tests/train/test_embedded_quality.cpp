// Issue 6's quality bar on the committed model: greedy answers to a fixed 300-question SynthVQA val
// subset (the first 300, as `train-synth --eval-only models/synthvqa-tiny --eval-samples 300` scores),
// at least 80% overall and 60% on every question type, reading at least 50%.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "synth/sample.h"
#include "train/train_synth.h"
#include "test_paths.h"

namespace pb::test {

TEST_CASE("embedded model: the committed SynthVQA model meets issue 6's accuracy bar on 300 val questions", "[quality]") {
  const nlohmann::json eval = evaluate_synth_model(std::string(PB_SOURCE_DIR) + "/models/synthvqa-tiny", 300, 2);
  INFO(eval.dump());
  REQUIRE(eval["samples"] == 300);
  CHECK(eval["accuracy"].get<double>() >= 0.80);
  for (const synth::QuestionType t : synth::kQuestionTypes) {
    const std::string name = synth::question_type_name(t);
    INFO(name);
    REQUIRE(eval["per_type"].contains(name));
    // Reading's bar is 50% (the issue: "at least 60% on every question type (reading at least 50%)").
    CHECK(eval["per_type"][name].get<double>() >= (t == synth::QuestionType::kReading ? 0.50 : 0.60));
  }
}

}  // namespace pb::test
