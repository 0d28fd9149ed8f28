// A model's config.json (load_llava_config): LLaVA-1.5 and LLaVA-NeXT fields, nested vision/text
// configs, pinpoints, every number's type and range.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_input.h"
#include "io/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  try {
    (void)pb::load_llava_config(file.path());
  } catch (const pb::Error&) {
  }
  return 0;
}
