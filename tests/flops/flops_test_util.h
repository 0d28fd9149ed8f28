// Shared helpers of the FLOPs tests: config paths and "to the printed precision" formatting.
#pragma once

#include <fmt/format.h>

#include <string>

#include "io/model_config.h"
#include "test_paths.h"

namespace pb::test {

inline LlavaConfig repo_config(const std::string& rel) { return load_llava_config(std::string(PB_SOURCE_DIR) + "/" + rel); }

// The published llava-hf configs (text dims left at LlamaConfig defaults: d 4096, m 11008, 32 layers).
inline LlavaConfig llava15_7b() { return repo_config("configs/models/llava-1.5-7b-hf.json"); }
inline LlavaConfig llava_next_7b() { return repo_config("tests/data/golden/configs/llava-v1.6-vicuna-7b-hf.json"); }
inline LlavaConfig tiny() { return repo_config("tests/data/golden/llava15-tiny/config.json"); }
inline LlavaConfig tiny_gqa() { return repo_config("tests/data/golden/llava15-tiny-gqa/config.json"); }
inline LlavaConfig tiny_hr() { return repo_config("tests/data/golden/llava-hr-tiny/config.json"); }
inline LlavaConfig llava_hr_7b() { return repo_config("configs/models/llava-hr-7b.json"); }

// `x` in scientific notation with `digits` after the point, as papers print it: sci(1.7774e12, 3) == "1.777e+12".
inline std::string sci(double x, int digits) { return fmt::format("{:.{}e}", x, digits); }

}  // namespace pb::test
