// Bridges torch-free file views (io/) and LibTorch tensors.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <string>

#include "io/safetensors.h"

namespace pb {

c10::ScalarType to_scalar_type(DType dtype);  // pb::Error for dtypes LibTorch 1.13 lacks (F8, U16, U32, U64)
DType to_dtype(c10::ScalarType type);

// A tensor over the mapped bytes when `dtype` equals the stored dtype and the data is aligned
// (no copy: the caller keeps the mapping alive); otherwise a converted copy.
at::Tensor tensor_from_view(const TensorView& view, c10::ScalarType dtype);

// A contiguous CPU copy of `tensor` described for write_safetensors (the copy is returned in
// `holder` so its bytes stay alive until the write).
TensorWrite tensor_to_write(const std::string& name, const at::Tensor& tensor, at::Tensor& holder);

}  // namespace pb
