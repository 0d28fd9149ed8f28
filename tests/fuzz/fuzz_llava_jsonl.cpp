// LLaVA's question files (llava_*.jsonl) through the loader; the first byte picks which dataset kind
// the prompts are parsed as, the rest is the file.
#include <cstddef>
#include <cstdint>

#include "fuzz_datasets.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kinds[] = {"vqav2", "textvqa", "gqa"};
  const char* kind = kinds[data[0] % 3];
  const pb::fuzz::MemoryFile file(data + 1, size - 1);
  pb::fuzz::load_spec("llava-jsonl:questions=" + file.path() + ",kind=" + kind + pb::fuzz::images_arg());
  return 0;
}
