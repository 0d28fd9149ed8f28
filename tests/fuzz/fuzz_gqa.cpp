// GQA: a <split>_balanced_questions.json through the loader.
#include <cstddef>
#include <cstdint>

#include "fuzz_datasets.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  pb::fuzz::load_spec("gqa:questions=" + file.path() + pb::fuzz::images_arg());
  return 0;
}
