#include "models/torch_tensor.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "core/error.h"

namespace pb {

c10::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kBool: return c10::kBool;
    case DType::kU8: return c10::kByte;
    case DType::kI8: return c10::kChar;
    case DType::kI16: return c10::kShort;
    case DType::kI32: return c10::kInt;
    case DType::kI64: return c10::kLong;
    case DType::kF16: return c10::kHalf;
    case DType::kBF16: return c10::kBFloat16;
    case DType::kF32: return c10::kFloat;
    case DType::kF64: return c10::kDouble;
    default: break;
  }
  throw Error(fmt::format("tensor dtype {} has no LibTorch 1.13 equivalent", dtype_name(dtype)));
}

DType to_dtype(c10::ScalarType type) {
  switch (type) {
    case c10::kBool: return DType::kBool;
    case c10::kByte: return DType::kU8;
    case c10::kChar: return DType::kI8;
    case c10::kShort: return DType::kI16;
    case c10::kInt: return DType::kI32;
    case c10::kLong: return DType::kI64;
    case c10::kHalf: return DType::kF16;
    case c10::kBFloat16: return DType::kBF16;
    case c10::kFloat: return DType::kF32;
    case c10::kDouble: return DType::kF64;
    default: break;
  }
  throw Error(fmt::format("LibTorch dtype {} cannot be written to safetensors", c10::toString(type)));
}

at::Tensor tensor_from_view(const TensorView& view, c10::ScalarType dtype) {
  const c10::ScalarType stored = to_scalar_type(view.dtype);
  const auto options = at::TensorOptions().dtype(stored);
  // from_blob never writes; the mapping is read-only and outlives the model (Checkpoint is kept).
  void* data = const_cast<void*>(view.data);
  const bool aligned = view.is_aligned();
  if (view.numel() == 0) {
    return at::empty(view.shape, at::TensorOptions().dtype(dtype));
  }
  if (aligned) {
    at::Tensor mapped = at::from_blob(data, view.shape, options);
    return stored == dtype ? mapped : mapped.to(dtype);
  }
  // Unaligned data (third-party writers without header padding): copy bytes first.
  at::Tensor copy = at::empty(view.shape, options);
  std::memcpy(copy.data_ptr(), view.data, view.nbytes);
  return stored == dtype ? copy : copy.to(dtype);
}

TensorWrite tensor_to_write(const std::string& name, const at::Tensor& tensor, at::Tensor& holder) {
  holder = tensor.detach().to(at::kCPU).contiguous();
  return TensorWrite{name, to_dtype(holder.scalar_type()), holder.sizes().vec(), holder.data_ptr()};
}

}  // namespace pb
