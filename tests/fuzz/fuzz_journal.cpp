// A run journal (read_journal): torn last lines, malformed lines, duplicate keys.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "eval/journal.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  try {
    (void)pb::read_journal(file.path());
  } catch (const pb::Error&) {
  }
  return 0;
}
