// TorchBinFile: finds data.pkl in the archive, unpickles it with the allow-list, resolves storages
// to archive entries and checks every tensor's geometry against its storage before any data is read.
// Layout written by torch.save: torch/serialization.py `_save` and caffe2/serialize/inline_container.cc.
#include "io/torch_bin.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "io/torch_pickle.h"

namespace pb {
namespace {

// data.pkl takes about 75 bytes per tensor (tests/data/torch_bin/state_dict.bin: 2038 bytes for 28
// tensors), so this admits ~900k tensors; a 13B LLaVA has about 400. Refused before it is parsed.
constexpr uint64_t kMaxPickleBytes = uint64_t{64} << 20;

// A view may repeat storage elements (stride 0, as `expand` makes), so its contents can exceed its
// storage. Real ones are small (CLIP's expanded position_ids buffer: [1, 577] int64, 4.6 KB); the cap
// stops a tiny hostile file from expanding one element into terabytes of output.
constexpr uint64_t kMaxExpandedBytes = uint64_t{64} << 20;

// The first bytes of the pre-1.6 format: pickle protocol 2, then LONG1 of torch/serialization.py's
// MAGIC_NUMBER 0x1950a86a20f9469cfc6c, little-endian.
constexpr unsigned char kLegacyMagic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

std::string dims_str(const std::vector<int64_t>& v) { return fmt::format("[{}]", fmt::join(v, ", ")); }

// Refuses the formats that are not a torch.save zip with a message that says what they are.
void refuse_non_zip_formats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[2 + sizeof kLegacyMagic] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  if (in.gcount() < 2 || head[0] != 0x80) return;  // not a pickle: the zip reader says what is wrong
  if (in.gcount() == sizeof head && std::memcmp(head + 2, kLegacyMagic, sizeof kLegacyMagic) == 0) {
    throw Error(fmt::format("{}: legacy torch.save format (before PyTorch 1.6, or _use_new_zipfile_serialization="
                            "False) is not supported: re-save it with torch.save in PyTorch >= 1.6",
                            path));
  }
  throw Error(fmt::format("{}: a bare pickle stream, not a torch.save zip archive; only torch.save checkpoints "
                          "can be converted",
                          path));
}

// Finds <archive>/data.pkl: torch.save names the top folder after the file (or "archive"), and
// torch.load takes whatever folder the entries share.
std::string archive_prefix(const ZipArchive& zip) {
  std::vector<std::string> found;
  bool torchscript = false;
  for (const ZipArchive::Entry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash == std::string::npos) continue;
    const std::string rest = e.name.substr(slash + 1);
    if (rest == "data.pkl") found.push_back(e.name.substr(0, slash + 1));
    if (rest == "constants.pkl") torchscript = true;
  }
  if (found.size() == 1) return found[0];
  if (found.size() > 1) {
    throw Error(fmt::format("{}: {} entries named <folder>/data.pkl; a torch.save archive has one", zip.path(),
                            found.size()));
  }
  throw Error(fmt::format("{}: no <folder>/data.pkl entry: {}", zip.path(),
                          torchscript ? "a TorchScript archive (torch.jit.save), not a state dict saved by torch.save"
                                      : "not a torch.save checkpoint"));
}

// Checked numel and byte size of a shape; false on 64-bit overflow.
bool checked_numel(const std::vector<int64_t>& shape, size_t element_bytes, uint64_t* numel, uint64_t* nbytes) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  // safetensors readers hold element counts in int64 (TensorView::numel).
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  *numel = n;
  return !__builtin_mul_overflow(n, static_cast<uint64_t>(element_bytes), nbytes);
}

// The storage element holding the tensor's last element: offset + sum((size - 1) * stride); false on
// overflow. Only for tensors with elements.
bool last_element(const TorchTensorRef& t, uint64_t* last) {
  uint64_t at = static_cast<uint64_t>(t.offset);
  for (size_t i = 0; i < t.shape.size(); ++i) {
    uint64_t step = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.shape[i] - 1), static_cast<uint64_t>(t.strides[i]), &step) ||
        __builtin_add_overflow(at, step, &at)) {
      return false;
    }
  }
  *last = at;
  return true;
}

}  // namespace

bool TorchTensor::is_contiguous() const {
  if (numel == 0) return true;
  uint64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && static_cast<uint64_t>(strides[i]) != expected) return false;
    expected *= static_cast<uint64_t>(shape[i]);
  }
  return true;
}

std::shared_ptr<TorchBinFile> TorchBinFile::open(const std::string& path) {
  refuse_non_zip_formats(path);
  std::shared_ptr<TorchBinFile> file(new TorchBinFile());
  file->path_ = path;
  file->zip_ = ZipArchive::open(path);
  const ZipArchive& zip = *file->zip_;
  const std::string prefix = archive_prefix(zip);

  // torch.save records the byte order since PyTorch 2.1 (torch/serialization.py); older files are
  // little-endian, and safetensors always is.
  if (const ZipArchive::Entry* order = zip.find(prefix + "byteorder")) {
    const std::string_view value = zip.read(*order);
    if (value != "little") {
      throw Error(fmt::format("{}: byteorder is '{}'; only little-endian checkpoints are supported", path,
                              value.substr(0, std::min<size_t>(value.size(), 16))));
    }
  }

  const ZipArchive::Entry& pkl = *zip.find(prefix + "data.pkl");
  if (pkl.size > kMaxPickleBytes) {
    throw Error(fmt::format("{}: data.pkl is {} bytes, over the {}-byte limit (about 900k tensors)", path, pkl.size,
                            kMaxPickleBytes));
  }
  const TorchPickle pickle = read_torch_pickle(zip.read(pkl), path);

  // Storages: each persistent id names one; views of the same storage repeat its key.
  std::map<std::string, size_t> slot_of_key;
  std::vector<size_t> slot_of_ref;
  std::vector<const TorchStorageRef*> slot_ref;
  for (const TorchStorageRef& ref : pickle.storages) {
    const auto [it, added] = slot_of_key.emplace(ref.key, slot_ref.size());
    if (added) {
      const std::string entry_name = prefix + "data/" + ref.key;
      const ZipArchive::Entry* entry = zip.find(entry_name);
      if (entry == nullptr) {
        throw Error(fmt::format("{}: storage '{}' has no entry {} in the archive", path, ref.key, entry_name));
      }
      const uint64_t element = dtype_size(ref.dtype);
      if (ref.numel > entry->size / element || ref.numel * element != entry->size) {
        throw Error(fmt::format("{}: storage '{}' should hold {} {} elements but its entry has {} bytes", path,
                                ref.key, ref.numel, dtype_name(ref.dtype), entry->size));
      }
      file->storages_.push_back(entry);
      slot_ref.push_back(&ref);
    } else {
      const TorchStorageRef& first = *slot_ref[it->second];
      if (first.dtype != ref.dtype || first.numel != ref.numel) {
        throw Error(fmt::format("{}: storage '{}' is named as {} x {} and as {} x {}", path, ref.key, first.numel,
                                dtype_name(first.dtype), ref.numel, dtype_name(ref.dtype)));
      }
    }
    slot_of_ref.push_back(it->second);
  }
  file->storage_bytes_.resize(file->storages_.size());
  file->storage_checked_.assign(file->storages_.size(), false);

  const PickleValue& root = pickle.values[pickle.root];
  if (root.kind != PickleKind::kDict) {
    throw Error(fmt::format("{}: data.pkl holds {}, not a state dict", path, pickle_kind_name(root.kind)));
  }
  std::set<std::string_view> names;
  for (size_t i = 0; i < root.items.size(); i += 2) {
    const PickleValue& key = pickle.values[root.items[i]];
    const PickleValue& value = pickle.values[root.items[i + 1]];
    if (key.kind != PickleKind::kString) {
      throw Error(fmt::format("{}: state dict key #{} is {}, not a string", path, i / 2, pickle_kind_name(key.kind)));
    }
    const std::string& name = key.text;
    if (value.kind != PickleKind::kTensor) {
      throw Error(fmt::format("{}: entry '{}' is {}, not a tensor; only flat state dicts {{name: tensor}} can be "
                              "converted (for a training checkpoint, save its model's state_dict() alone)",
                              path, name, pickle_kind_name(value.kind)));
    }
    if (!names.insert(name).second) throw Error(fmt::format("{}: tensor '{}' appears twice", path, name));

    const TorchTensorRef& ref = pickle.tensors[static_cast<size_t>(value.number)];
    const TorchStorageRef& storage = pickle.storages[ref.storage];
    TorchTensor t{name, storage.dtype, ref.shape, ref.strides, static_cast<uint64_t>(ref.offset),
                  slot_of_ref[ref.storage], 0, 0};
    const std::string where = fmt::format("{}: tensor '{}'", path, name);
    if (!checked_numel(t.shape, dtype_size(t.dtype), &t.numel, &t.nbytes)) {
      throw Error(fmt::format("{}: shape {} ({}) overflows 64-bit sizes", where, dims_str(t.shape),
                              dtype_name(t.dtype)));
    }
    if (t.numel > 0) {
      uint64_t last = 0;
      if (!last_element(ref, &last) || last >= storage.numel) {
        throw Error(fmt::format("{}: shape {} with strides {} at offset {} reaches past its storage '{}' of {} "
                                "elements (storage too small; corrupt file?)",
                                where, dims_str(t.shape), dims_str(t.strides), t.offset, storage.key, storage.numel));
      }
      if (t.numel > storage.numel && t.nbytes > kMaxExpandedBytes) {
        throw Error(fmt::format("{}: an expanded view of {} bytes over a {}-element storage: over the {}-byte limit "
                                "for views that repeat elements",
                                where, t.nbytes, storage.numel, kMaxExpandedBytes));
      }
    }
    file->tensors_.push_back(std::move(t));
  }
  return file;
}

std::string_view TorchBinFile::storage_bytes(size_t storage) const {
  if (!storage_checked_[storage]) {
    storage_bytes_[storage] = zip_->read(*storages_[storage]);
    storage_checked_[storage] = true;
  }
  return storage_bytes_[storage];
}

void TorchBinFile::read_contents(const TorchTensor& t, const ByteSink& write) const {
  if (t.numel == 0) return;
  const size_t element = dtype_size(t.dtype);
  const char* base = storage_bytes(t.storage).data() + t.offset * element;
  if (t.is_contiguous()) {
    write(base, t.nbytes);
    return;
  }
  // Not contiguous, so at least one dim. Rows along the last dim, gathered into `buffer`.
  const size_t rank = t.shape.size();
  const auto inner = static_cast<uint64_t>(t.shape[rank - 1]);
  const auto inner_stride = static_cast<uint64_t>(t.strides[rank - 1]);
  std::vector<char> buffer(static_cast<size_t>(std::min<uint64_t>(kGatherBytes, t.nbytes)));
  size_t used = 0;
  const auto append = [&](const char* p, size_t bytes) {
    while (bytes > 0) {
      const size_t n = std::min(bytes, buffer.size() - used);
      std::memcpy(buffer.data() + used, p, n);
      used += n, p += n, bytes -= n;
      if (used == buffer.size()) {
        write(buffer.data(), used);
        used = 0;
      }
    }
  };
  std::vector<int64_t> index(rank - 1, 0);
  for (uint64_t row = 0, rows = t.numel / inner; row < rows; ++row) {
    uint64_t start = 0;
    for (size_t d = 0; d + 1 < rank; ++d) {
      start += static_cast<uint64_t>(index[d]) * static_cast<uint64_t>(t.strides[d]);
    }
    const char* p = base + start * element;
    if (inner_stride == 1) {
      append(p, inner * element);
    } else {
      for (uint64_t j = 0; j < inner; ++j) append(p + j * inner_stride * element, element);
    }
    for (size_t d = rank - 1; d-- > 0;) {
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
  if (used > 0) write(buffer.data(), used);
}

}  // namespace pb
