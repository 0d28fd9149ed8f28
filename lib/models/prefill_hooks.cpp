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

void SequenceState::keep_rows_and_insert_visual(const at::Tensor& rows, const at::Tensor& extra) {
  keep_rows(rows);
  const int64_t m = extra.size(0), at_row = image_begin + image_len, t = hidden.size(0);
  if (m == 0) return;
  PB_CHECK(extra.dim() == 2 && extra.size(1) == hidden.size(1), "inserted visual rows must be [m, D]");
  const at::Tensor first = at_row > 0 ? positions.narrow(0, at_row - 1, 1) + 1 : at::zeros({1}, positions.options());
  const at::Tensor new_positions = first + at::arange(m, positions.options());  // [m] int64
  hidden = at::cat({hidden.narrow(0, 0, at_row), extra.to(hidden.scalar_type()).to(hidden.device()),
                    hidden.narrow(0, at_row, t - at_row)});
  positions = at::cat({positions.narrow(0, 0, at_row), new_positions, positions.narrow(0, at_row, t - at_row)});
  origin = at::cat({origin.narrow(0, 0, at_row), at::full({m}, -1, origin.options()),
                    origin.narrow(0, at_row, t - at_row)});
  image_len += m;
}

void SequenceState::reindex_positions() {
  positions = at::arange(hidden.size(0), positions.options());
  decode_positions_from_cache = true;
}

}  // namespace pb
