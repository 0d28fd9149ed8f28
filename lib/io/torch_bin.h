// A PyTorch `.bin` checkpoint (torch.save's zip format holding a state dict) read without LibTorch
// and without executing anything: the zip through ZipArchive, data.pkl through the allow-listed
// read_torch_pickle. Rules and limits: docs/convert.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors.h"
#include "io/zip_archive.h"

namespace pb {

// One entry of the state dict: a strided view of a storage, checked to lie inside it.
struct TorchTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;    // [] for a 0-d tensor
  std::vector<int64_t> strides;  // in elements, one per dim (0 for an expanded dim)
  uint64_t offset;               // in elements, into the storage
  size_t storage;                // which of the file's storages (shared by views of the same data)
  uint64_t numel;                // product of shape
  uint64_t nbytes;               // numel * dtype_size(dtype): what the tensor's contents take

  bool is_contiguous() const;  // C order over `numel` consecutive storage elements
};

class TorchBinFile {
 public:
  // Opens and validates everything but the storages' CRCs (checked at first read): the zip, the pickle,
  // that the root is a flat {name: tensor} dict, that every storage entry exists with the size its
  // persistent id implies, and that every tensor's shape and strides stay inside its storage. Throws
  // pb::Error naming the path (and the tensor) otherwise; legacy (pre-1.6) files get their own message.
  static std::shared_ptr<TorchBinFile> open(const std::string& path);

  const std::vector<TorchTensor>& tensors() const { return tensors_; }  // in the state dict's order
  const std::string& path() const { return path_; }
  uint64_t file_bytes() const { return zip_->file_bytes(); }

  // Passes the tensor's contents (C order, little-endian, as safetensors stores them) to `write`: a
  // contiguous tensor as one piece straight from the mapping, a strided one gathered in pieces of at
  // most kGatherBytes. pb::Error if its storage fails the CRC check.
  void read_contents(const TorchTensor& tensor, const ByteSink& write) const;

  // Bytes a strided tensor is gathered in before each write.
  static constexpr size_t kGatherBytes = size_t{1} << 20;

 private:
  TorchBinFile() = default;
  std::string_view storage_bytes(size_t storage) const;

  std::string path_;
  std::shared_ptr<ZipArchive> zip_;
  std::vector<const ZipArchive::Entry*> storages_;         // data/<key> of each storage
  mutable std::vector<std::string_view> storage_bytes_;    // filled at first read, after the CRC check
  mutable std::vector<bool> storage_checked_;
  std::vector<TorchTensor> tensors_;
};

}  // namespace pb
