// model.safetensors.index.json (Checkpoint::open on an index): shard names that could escape the
// folder, non-string entries, empty maps. The shards it names do not exist, so a valid index ends in
// a "cannot open" pb::Error; the parsing before that is what is fuzzed.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_temp_folder.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pb::fuzz::write_scratch("model.safetensors.index.json", data, size);
  try {
    (void)pb::Checkpoint::open(path);
  } catch (const pb::Error&) {
  }
  return 0;
}
