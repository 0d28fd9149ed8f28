// safetensors files without LibTorch: a strict, validating read-only mmap reader and a writer that
// lays files out like the reference writer (huggingface/safetensors safetensors/src/tensor.rs).
// Format and the rules enforced: docs/checkpoints.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "io/mapped_file.h"
#include <vector>

namespace pb {

// Element types of the safetensors format. Newer sub-byte and complex types (F4, F6_*, F8_E8M0,
// C64) are rejected by dtype_from_name: nothing in LLaVA checkpoints uses them.
enum class DType { kBool, kU8, kI8, kI16, kU16, kI32, kU32, kI64, kU64, kF16, kBF16, kF32, kF64, kF8E4M3, kF8E5M2 };

size_t dtype_size(DType dtype);        // bytes per element
const char* dtype_name(DType dtype);   // the spelling used in files: "F32", "BF16", "F8_E4M3", ...
// Parses a file's dtype string; throws pb::Error "<where>: unknown dtype '<name>'" otherwise.
DType dtype_from_name(const std::string& name, const std::string& where);

// One tensor inside a mapped file. `data` points into the mapping and stays valid while the
// SafetensorsFile that produced it lives. Bytes are little-endian, C (row-major) order.
struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;  // [] for a 0-rank scalar; a 0 dim means no elements
  const void* data;            // never null, but only `nbytes` bytes may be read
  size_t nbytes;               // == numel() * dtype_size(dtype)
  std::string file;            // path of the file, for error messages

  int64_t numel() const;  // 1 for a 0-rank tensor
  // True when `data` is aligned to the element size, so it can be used in place as T*. Files from
  // the reference writer always are; others (unpadded headers) may not be: copy first.
  bool is_aligned() const;
};

// A validated, read-only memory-mapped safetensors file. Every check happens in open(), so a
// returned object's views are all in bounds and consistent.
class SafetensorsFile {
 public:
  // Throws pb::Error naming `path` (and the tensor, when one is at fault) for unreadable or
  // malformed files; the rules are listed in docs/checkpoints.md.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);

  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::vector<TensorView>& tensors() const { return tensors_; }  // ascending data offsets
  const TensorView* find(const std::string& name) const;                // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }
  size_t header_bytes() const { return header_bytes_; }  // N, the JSON header length
  size_t file_bytes() const { return file_bytes_; }

 private:
  SafetensorsFile() = default;

  std::string path_;
  MappedFile mapping_;
  size_t file_bytes_ = 0;
  size_t header_bytes_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: `data` must hold numel * dtype_size(dtype) bytes in C order.
struct TensorWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
};

// Writes like the reference writer: tensors ordered by descending dtype alignment, then name;
// data_offsets relative to the data section; the JSON header padded with spaces so the data section
// starts at a multiple of 8. Written to a temporary file in the same folder, then renamed over
// `path`, so readers never see a half-written file. pb::Error on duplicate or reserved names, bad
// shapes, null data, or I/O failure.
void write_safetensors(const std::string& path, const std::vector<TensorWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Receives a piece of a tensor's bytes.
using ByteSink = std::function<void(const void* data, size_t bytes)>;

// One tensor whose bytes are produced while the file is written: `produce` is called once, in file
// order, and must pass exactly numel * dtype_size(dtype) bytes, C order, to the sink (in any number
// of pieces). A converter thus never holds more than one tensor's bytes in memory.
struct TensorSource {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::function<void(const ByteSink& write)> produce;
};

// write_safetensors for produced tensors: the same layout, checks and atomic write. A `produce` that
// passes the wrong number of bytes is an internal error (pb::Error naming the tensor); errors it throws
// propagate, and no file is left behind.
void write_safetensors_streamed(const std::string& path, const std::vector<TensorSource>& tensors,
                                const std::map<std::string, std::string>& metadata = {});

}  // namespace pb
