// Loads `spec_prefix` + the input's path through load_dataset (the whole loader: official JSON,
// question/answer fields, keys, image names), with an images folder that exists but is never read.
#pragma once

#include <string>

#include "core/error.h"
#include "datasets/dataset.h"
#include "fuzz_temp_folder.h"

namespace pb::fuzz {

inline void load_spec(const std::string& spec) {
  try {
    (void)pb::load_dataset(spec);
  } catch (const pb::Error&) {
  }
}

inline std::string images_arg() { return ",images=" + scratch_folder().string(); }

}  // namespace pb::fuzz
