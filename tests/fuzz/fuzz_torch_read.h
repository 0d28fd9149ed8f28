// What both .bin fuzz targets do once a TorchBinFile opened: read every tensor small enough and check
// that read_contents produced exactly its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "io/torch_bin.h"

namespace pb::fuzz {

// Tensor contents (and, in fuzz_torch_pickle, synthesized storages) are materialised up to this size:
// keeps each input fast and far below -rss_limit_mb (expanded views may claim 64 MiB or more).
constexpr uint64_t kMaxTorchFuzzBytes = uint64_t{1} << 20;

// Reads every tensor of at most kMaxTorchFuzzBytes, folding its bytes into a checksum that is returned
// (the caller uses it so the reads cannot be optimised away). Aborts (a finding) when read_contents
// delivers more or fewer bytes than the tensor's nbytes. pb::Error passes through.
inline unsigned read_every_small_tensor(const TorchBinFile& bin) {
  unsigned sum = 0;
  for (const TorchTensor& t : bin.tensors()) {
    if (t.nbytes > kMaxTorchFuzzBytes) continue;
    uint64_t seen = 0;
    bin.read_contents(t, [&](const void* piece, size_t bytes) {
      const auto* p = static_cast<const uint8_t*>(piece);
      for (size_t i = 0; i < bytes; ++i) sum = sum * 31 + p[i];
      seen += bytes;
    });
    if (seen != t.nbytes) std::abort();
  }
  return sum;
}

}  // namespace pb::fuzz
