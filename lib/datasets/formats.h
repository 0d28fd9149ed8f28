// Internals shared by the dataset loaders: parsed spec arguments, the official ground-truth readers
// (also used to join ground truth into LLaVA question files) and image-name checks.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "datasets/dataset.h"

namespace pb::detail {

// "<format>:k=v,..." after validation against the format's keys.
struct SpecArgs {
  std::string spec;
  std::string format;
  std::map<std::string, std::string> values;

  const std::string& at(const std::string& key) const { return values.at(key); }  // a required key
  const std::string* find(const std::string& key) const {
    const auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  }
};

Dataset load_vqav2(const SpecArgs& args);
Dataset load_textvqa(const SpecArgs& args);
Dataset load_gqa(const SpecArgs& args);
Dataset load_llava_jsonl(const SpecArgs& args);
Dataset load_synthvqa(const SpecArgs& args);  // generates the split on first use, then loads it

// --- official ground truth ---

// One entry of a VQAv2 annotations file (v2_mscoco_<split>_annotations.json).
struct Vqav2Annotation {
  std::string question_id;           // decimal text
  int64_t image_id = 0;
  std::vector<std::string> answers;  // the annotators' answers, file order
  nlohmann::json meta;               // answer_type, question_type, multiple_choice_answer
};
struct Vqav2Annotations {
  std::string data_subtype;  // "val2014", ... ("" when absent)
  std::vector<Vqav2Annotation> entries;
  std::unordered_map<std::string, size_t> by_question_id;
};
Vqav2Annotations read_vqav2_annotations(const std::string& path);

// One question of TextVQA_0.5.1_<split>.json.
struct TextvqaEntry {
  std::string question_id;           // decimal text
  std::string image_id;
  std::string question;
  std::vector<std::string> answers;  // absent in the test split
  nlohmann::json meta;               // image_id, textvqa_question_id (integer), set_name
};
std::vector<TextvqaEntry> read_textvqa_json(const std::string& path);

// TextVQA_Rosetta_OCR_v0.2_<split>.json: image_id -> OCR tokens.
std::unordered_map<std::string, std::vector<std::string>> read_rosetta_ocr(const std::string& path);

// One question of a GQA questions file (<split>_balanced_questions.json), file order.
struct GqaEntry {
  std::string question_id;
  std::string image_id;
  std::string question;
  std::vector<std::string> answers;  // the one answer; absent in the challenge test split
  nlohmann::json meta;               // image_id, isBalanced, types, groups, fullAnswer
};
std::vector<GqaEntry> read_gqa_questions(const std::string& path);

// --- images ---

// Why `name` may not be joined to the images folder ("" when it may): absolute, empty, a "." or
// ".." component, an empty component, a backslash or a NUL byte.
std::string unsafe_image_name(const std::string& name);
std::string join_image_path(const std::string& folder, const std::string& name);

// The sample key of LLaVA's TextVQA question file, whose question_id holds the image id.
std::string llava_textvqa_key(const std::string& question_id, const std::string& question);

}  // namespace pb::detail
