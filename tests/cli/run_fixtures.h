// Small datasets in the official file formats, written into a temporary folder with real images, and
// the shared arguments for running the text-capable tiny model on them.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_runner.h"
#include "test_paths.h"

namespace pb::test {

inline const std::string kGoldenDir = std::string(PB_TEST_DATA) + "/golden/";

// Tiny LLaVA-1.5 with the real vocabulary and seeded random weights: answers are deterministic.
inline std::string tiny_model_args() {
  return "--model " + shell_quote(std::string(PB_SOURCE_DIR) + "/configs/models/llava15-tiny-text.json") +
         " --random-weights --tokenizer " + shell_quote(kGoldenDir + "tokenizer/llama.model") +
         " --max-new-tokens 3 --threads 1 --quiet";
}

inline std::string fmt_image(int image_id) {
  char name[64];
  std::snprintf(name, sizeof name, "COCO_val2014_%012d.jpg", image_id);
  return name;
}

inline nlohmann::json ten_answers(const std::string& a, const std::string& b) {
  nlohmann::json answers = nlohmann::json::array();
  for (int i = 0; i < 10; ++i) {
    answers.push_back({{"answer", i < 7 ? a : b}, {"answer_confidence", "yes"}, {"answer_id", i + 1}});
  }
  return answers;
}

// VQAv2 val2014-style fixture with `n` questions over the golden images; question `missing_image`
// (if >= 0) points at an image that does not exist. Returns the dataset spec.
inline std::string write_vqav2_fixture(const std::filesystem::path& dir, int n, int missing_image = -1) {
  namespace fs = std::filesystem;
  const char* images[] = {"fruits.jpg", "messi5.jpg", "baboon.jpg", "HappyFish.jpg", "left01.jpg"};
  const char* types[] = {"yes/no", "number", "other"};
  fs::create_directories(dir / "images");
  nlohmann::json questions = nlohmann::json::array(), annotations = nlohmann::json::array();
  for (int i = 0; i < n; ++i) {
    const int image_id = 1 + i % 5;
    const std::string file = fmt_image(image_id);
    if (i != missing_image && !fs::exists(dir / "images" / file)) {
      fs::copy_file(kGoldenDir + "images/" + images[image_id - 1], dir / "images" / file);
    }
    const int image = i == missing_image ? 999 : image_id;
    questions.push_back({{"image_id", image}, {"question", "What is shown number " + std::to_string(i) + "?"},
                         {"question_id", 1000 + i}});
    annotations.push_back({{"question_id", 1000 + i}, {"image_id", image}, {"question_type", "what is"},
                           {"answer_type", types[i % 3]}, {"multiple_choice_answer", "yes"},
                           {"answers", ten_answers(i % 2 ? "yes" : "two", "no")}});
  }
  std::ofstream(dir / "v2_OpenEnded_mscoco_val2014_questions.json")
      << nlohmann::json{{"info", nlohmann::json::object()}, {"task_type", "Open-Ended"}, {"data_type", "mscoco"},
                        {"license", nlohmann::json::object()}, {"data_subtype", "val2014"}, {"questions", questions}}
             .dump();
  std::ofstream(dir / "v2_mscoco_val2014_annotations.json")
      << nlohmann::json{{"info", nlohmann::json::object()}, {"license", nlohmann::json::object()},
                        {"data_subtype", "val2014"}, {"annotations", annotations}}
             .dump();
  return "vqav2:questions=" + (dir / "v2_OpenEnded_mscoco_val2014_questions.json").string() +
         ",annotations=" + (dir / "v2_mscoco_val2014_annotations.json").string() +
         ",images=" + (dir / "images").string();
}

}  // namespace pb::test
