// What commands use when no --model / --dataset is given: the embedded SynthVQA benchmark
// (docs/synthvqa.md), found in this source tree.
#pragma once

#include <cstdint>
#include <string>

namespace pb {

std::string embedded_model_dir();     // <source>/models/synthvqa-tiny
std::string embedded_dataset_root();  // <source>/datasets/synthvqa: where synthvqa: specs generate
// SynthVQA val, 1000 questions, seed 0: generated on first use.
inline constexpr const char* kEmbeddedDataset = "synthvqa:split=val";
inline constexpr int64_t kEmbeddedDatasetQuestions = 1000;

}  // namespace pb
