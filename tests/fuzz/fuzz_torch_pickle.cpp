// data.pkl of a PyTorch .bin checkpoint: the bytes go through read_torch_pickle (the allow-list, every
// opcode, the limits); when they parse, a torch.save-like zip is built around them with an entry for
// every storage they name, and the whole runs through TorchBinFile::open and read_contents, so tensor
// geometry checks and strided gathering are fuzzed with the pickle in control.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "core/error.h"
#include "fuzz_input.h"
#include "fuzz_torch_read.h"
#include "io/torch_bin.h"
#include "io/torch_pickle.h"
#include "zip_builder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string pickle(reinterpret_cast<const char*>(data), size);
  pb::TorchPickle parsed;
  try {
    parsed = pb::read_torch_pickle(pickle, "fuzz.bin");
  } catch (const pb::Error&) {
    return 0;
  }
  std::vector<pb::test::ZipEntrySpec> entries{{"archive/data.pkl", pickle}};
  std::set<std::string> keys;
  for (const pb::TorchStorageRef& s : parsed.storages) {
    if (!keys.insert(s.key).second) continue;
    const uint64_t element = pb::dtype_size(s.dtype);
    // Larger storages get a 1-byte entry, which the reader must refuse.
    const uint64_t bytes = s.numel <= pb::fuzz::kMaxTorchFuzzBytes / element ? s.numel * element : 1;
    // Bytes 0..255 repeating: contents differ per element, so gathering mistakes change the checksum.
    std::string contents(static_cast<size_t>(bytes), '\0');
    for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i);
    entries.push_back({"archive/data/" + s.key, contents});
  }
  const std::string zip = pb::test::build_zip(entries);
  const pb::fuzz::MemoryFile file(reinterpret_cast<const uint8_t*>(zip.data()), zip.size());
  try {
    const unsigned sum = pb::fuzz::read_every_small_tensor(*pb::TorchBinFile::open(file.path()));
    if (sum == 0xFFFFFFFFu) std::abort();  // keeps the reads from being optimised away
  } catch (const pb::Error&) {
  }
  return 0;
}
