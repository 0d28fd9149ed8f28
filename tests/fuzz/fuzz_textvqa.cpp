// TextVQA: the TextVQA_0.5.1 json through the loader, and the same bytes as a Rosetta OCR file.
#include <cstddef>
#include <cstdint>

#include "datasets/formats.h"
#include "fuzz_datasets.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  pb::fuzz::load_spec("textvqa:json=" + file.path() + pb::fuzz::images_arg());
  try {
    (void)pb::detail::read_rosetta_ocr(file.path());
  } catch (const pb::Error&) {
  }
  return 0;
}
