// A whole PyTorch .bin file: the zip layer (end records, zip64, central directory, local headers,
// CRCs) through ZipArchive, then TorchBinFile::open and read_contents of every small tensor. Seeds are
// the torch.save fixtures of tests/data/torch_bin.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_input.h"
#include "fuzz_torch_read.h"
#include "io/torch_bin.h"
#include "io/zip_archive.h"

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
    sum += pb::fuzz::read_every_small_tensor(*pb::TorchBinFile::open(file.path()));
  } catch (const pb::Error&) {
  }
  if (sum == 0xFFFFFFFFu) std::abort();  // keeps the reads from being optimised away
  return 0;
}
