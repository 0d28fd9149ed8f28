// safetensors header + data layout (SafetensorsFile::open) and, with the same bytes as a shard index,
// the model.safetensors.index.json reader (Checkpoint::open on an index whose shards are absent).
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_input.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  try {
    const auto st = pb::SafetensorsFile::open(file.path());
    // Every view must be readable in full: touch its first and last byte.
    unsigned sum = 0;
    for (const pb::TensorView& t : st->tensors()) {
      if (t.nbytes == 0) continue;
      const auto* bytes = static_cast<const uint8_t*>(t.data);
      sum += bytes[0] + bytes[t.nbytes - 1];
    }
    if (sum == 0xFFFFFFFFu) std::abort();  // keeps the reads from being optimised away
  } catch (const pb::Error&) {
  }
  return 0;
}
