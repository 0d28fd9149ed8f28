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
#include "io/torch_bin.h"
#include "io/torch_pickle.h"
#include "zip_builder.h"

namespace {

// Storages are materialised up to this size (larger ones get a short entry, which is refused), and
// tensor contents read up to it: keeps each input fast and far below -rss_limit_mb.
constexpr uint64_t kMaxFuzzBytes = uint64_t{1} << 20;

}  // namespace

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
    const uint64_t bytes = s.numel <= kMaxFuzzBytes / element ? s.numel * element : 1;
    // Bytes 0..255 repeating: contents differ per element, so gathering mistakes change the checksum.
    std::string contents(static_cast<size_t>(bytes), '\0');
    for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i);
    entries.push_back({"archive/data/" + s.key, contents});
  }
  const std::string zip = pb::test::build_zip(entries);
  const pb::fuzz::MemoryFile file(reinterpret_cast<const uint8_t*>(zip.data()), zip.size());
  try {
    const auto bin = pb::TorchBinFile::open(file.path());
    unsigned sum = 0;
    for (const pb::TorchTensor& t : bin->tensors()) {
      if (t.nbytes > kMaxFuzzBytes) continue;
      uint64_t seen = 0;
      bin->read_contents(t, [&](const void* piece, size_t bytes) {
        const auto* p = static_cast<const uint8_t*>(piece);
        for (size_t i = 0; i < bytes; ++i) sum = sum * 31 + p[i];
        seen += bytes;
      });
      if (seen != t.nbytes) std::abort();  // read_contents must produce exactly the tensor's bytes
    }
    if (sum == 0xFFFFFFFFu) std::abort();  // keeps the reads from being optimised away
  } catch (const pb::Error&) {
  }
  return 0;
}
