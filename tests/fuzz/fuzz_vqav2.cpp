// VQAv2: the questions file through the loader, and the same bytes as an annotations file.
#include <cstddef>
#include <cstdint>

#include "datasets/formats.h"
#include "fuzz_datasets.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  pb::fuzz::load_spec("vqav2:questions=" + file.path() + pb::fuzz::images_arg());
  try {
    (void)pb::detail::read_vqav2_annotations(file.path());
  } catch (const pb::Error&) {
  }
  return 0;
}
