// Hand-made torch.save archives for the .bin reader tests: a pickle opcode writer, archives built with
// zip_builder.h, and the reference JSON of the committed fixtures (tests/data/torch_bin/README.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "io_test_util.h"
#include "zip_builder.h"

namespace pb::test {

// Pickle opcodes (Python's Lib/pickletools.py), written the way protocol 2 does.
struct PickleWriter {
  std::string bytes = std::string("\x80\x02", 2);  // PROTO 2

  PickleWriter& op(char c) { return raw(std::string(1, c)); }
  PickleWriter& raw(const std::string& s) {
    bytes += s;
    return *this;
  }
  PickleWriter& global(const std::string& module, const std::string& name) {
    return raw("c" + module + "\n" + name + "\n");
  }
  PickleWriter& str(const std::string& s) { return raw("X" + le32(s.size()) + s); }
  PickleWriter& integer(int64_t v) {
    if (v >= 0 && v < 256) return raw("K" + std::string(1, static_cast<char>(v)));
    return raw("\x8a\x08" + le64(static_cast<uint64_t>(v)));  // LONG1, 8 bytes
  }
  PickleWriter& ints(const std::vector<int64_t>& v) {  // a tuple of ints
    op('(');
    for (int64_t x : v) integer(x);
    return op('t');
  }
  PickleWriter& empty_ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
  // _rebuild_tensor_v2 over the persistent id ('storage', torch.<type>, key, 'cpu', numel).
  PickleWriter& tensor(const std::string& storage_type, const std::string& key, int64_t numel, int64_t offset,
                       const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", storage_type).str(key).str("cpu").integer(numel).op('t').op('Q');
    integer(offset).ints(shape).ints(strides).op('\x89').empty_ordered_dict().op('t');
    return op('R');
  }
  std::string done() { return bytes + "."; }
};

// A torch.save-like archive "archive/..." holding `pickle` as data.pkl and the given storages.
inline std::string torch_zip(const std::string& pickle,
                             const std::vector<std::pair<std::string, std::string>>& storages,
                             const std::string& prefix = "archive/") {
  std::vector<ZipEntrySpec> entries{{prefix + "data.pkl", pickle}};
  for (const auto& [key, data] : storages) entries.push_back({prefix + "data/" + key, data});
  entries.push_back({prefix + "version", "3\n"});
  return build_zip(entries);
}

// An OrderedDict state dict with one tensor "w" over storage "0".
inline std::string one_tensor_pickle(const std::string& storage_type, int64_t numel, int64_t offset,
                                     const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
  PickleWriter p;
  p.empty_ordered_dict().op('(').str("w").tensor(storage_type, "0", numel, offset, shape, strides).op('u');
  return p.done();
}

inline std::string torch_bin_fixture(const std::string& relative) { return data_path("torch_bin/" + relative); }

inline std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// The reference a fixture's tensors must match: name -> {dtype, shape, hex}.
inline nlohmann::json fixture_reference(const std::string& relative_json) {
  return nlohmann::json::parse(read_bytes(torch_bin_fixture(relative_json)));
}

}  // namespace pb::test
