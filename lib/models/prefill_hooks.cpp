#include "models/prefill_hooks.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace pb {

void SequenceState::keep_rows(const at::Tensor& rows) {
  PB_CHECK(rows.dim() == 1 && rows.scalar_type() == at::kLong, "keep_rows takes [k] int64 indices");
  const at::Tensor idx = rows.to(hidden.device());
  const at::Tensor kept_cpu = rows.to(at::kCPU);
  const auto* r = kept_cpu.data_ptr<int64_t>();
  int64_t new_begin = 0, new_len = 0;
  for (int64_t i = 0; i < kept_cpu.size(0); ++i) {
    PB_CHECK(r[i] >= 0 && r[i] < hidden.size(0) && (i == 0 || r[i] > r[i - 1]),
             "kept rows must be unique, ascending and in range");
    if (r[i] < image_begin) {
      ++new_begin;
    } else if (r[i] < image_begin + image_len) {
      ++new_len;
    }
  }
  hidden = hidden.index_select(0, idx);
  positions = positions.index_select(0, idx);
  origin = origin.index_select(0, idx);
  image_begin = new_begin;
  image_len = new_len;
}

}  // namespace pb
