// Reading float tensors out of safetensors files in CLI tests.
#pragma once

#include <algorithm>
#include <cmath>
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

// max|got - want| / max|want| over equally long value lists.
inline double relative_max_diff(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  return diff / scale;
}

}  // namespace pb::test
