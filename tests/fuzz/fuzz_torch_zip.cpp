// A whole PyTorch .bin file: the zip layer (end records, zip64, central directory, local headers,
// CRCs) through ZipArchive, then TorchBinFile::open and read_contents of every small tensor. Seeds are
// the torch.save fixtures of tests/data/torch_bin.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_input.h"
#include "io/torch_bin.h"
#include "io/zip_archive.h"

namespace {

// Tensor contents are read up to this size: keeps each input fast (expanded views may be 64 MiB).
constexpr uint64_t kMaxFuzzBytes = uint64_t{1} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  unsigned sum = 0;
  try {
    const auto zip = pb::ZipArchive::open(file.path());
    for (const pb::ZipArchive::Entry& e : zip->entries()) {
      const std::string_view bytes = zip->read(e);
      if (!bytes.empty()) sum += static_cast<uint8_t>(bytes.front()) + static_cast<uint8_t>(bytes.back());
    }
  } catch (const pb::Error&) {
  }
  try {
    const auto bin = pb::TorchBinFile::open(file.path());
    for (const pb::TorchTensor& t : bin->tensors()) {
      if (t.nbytes > kMaxFuzzBytes) continue;
      uint64_t seen = 0;
      bin->read_contents(t, [&](const void* piece, size_t bytes) {
        const auto* p = static_cast<const uint8_t*>(piece);
        for (size_t i = 0; i < bytes; ++i) sum = sum * 31 + p[i];
        seen += bytes;
      });
      if (seen != t.nbytes) std::abort();  // read_contents must produce exactly the tensor's bytes
    }
  } catch (const pb::Error&) {
  }
  if (sum == 0xFFFFFFFFu) std::abort();  // keeps the reads from being optimised away
  return 0;
}
