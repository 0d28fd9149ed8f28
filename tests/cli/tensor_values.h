// Reading float tensors out of safetensors files in CLI tests.
#pragma once

#include <cstring>
#include <vector>

#include "io/safetensors.h"

namespace pb::test {

// A copy of an f32 tensor's values (the view may be unaligned).
inline std::vector<float> floats(const TensorView& v) {
  std::vector<float> out(static_cast<size_t>(v.numel()));
  std::memcpy(out.data(), v.data, v.nbytes);
  return out;
}

}  // namespace pb::test
