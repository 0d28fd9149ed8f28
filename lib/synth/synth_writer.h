// Writes a SynthVQA split in the official file formats, so the same loaders, protocols and metrics
// run on it as on the real data (docs/synthvqa.md):
//   images/COCO_synth-<split>_<id:012>.jpg                 every sample's image (VQAv2 naming)
//   v2_OpenEnded_synthvqa_<split>_questions.json          VQAv2 questions: every sample
//   v2_synthvqa_<split>_annotations.json                  VQAv2 annotations: ten answers each
//   synthvqa_<split>_gqa_balanced_questions.json          GQA format: the spatial questions
//   TextVQA_0.5.1_synth-<split>.json                      TextVQA format: the reading questions
//   TextVQA_Rosetta_OCR_v0.2_synth-<split>.json           their OCR tokens (the rendered text)
//   synthvqa.json                                         what was generated, and the dataset specs
//   manifest.tsv                                          fnv1a64 of every file above; written last
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace pb::synth {

struct SplitRequest {
  std::string out_dir;
  std::string split;    // train | val | test
  int64_t n = 0;        // questions (one image each)
  uint64_t seed = 0;
};

// Generates and writes the split; returns synthvqa.json's content with the specs under out_dir. pb::Error for a bad request or
// an unwritable folder.
nlohmann::json write_split(const SplitRequest& request);

// Dataset specs (for --dataset) of a split written to `dir`: "vqav2" (every question), "gqa"
// (spatial), "textvqa" (reading, with OCR).
std::string synth_dataset_spec(const std::string& dir, const std::string& split, const std::string& format);

// True when `dir` holds a complete split generated with exactly these parameters (synthvqa.json
// matches and manifest.tsv exists).
bool split_is_complete(const SplitRequest& request);

}  // namespace pb::synth
