// Hand-made torch.save archives for the .bin reader tests: a stored-zip builder laid out like
// torch.save's (64-byte aligned data, zip64 end records), a pickle opcode writer, and the reference
// JSON of the committed fixtures (tests/data/torch_bin/README.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "io_test_util.h"

namespace pb::test {

inline std::string le16(uint64_t n) { return le64(n).substr(0, 2); }
inline std::string le32(uint64_t n) { return le64(n).substr(0, 4); }

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) computed bit by bit: independent of the
// zlib the reader uses.
inline uint32_t crc32_bitwise(const std::string& data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

struct ZipEntrySpec {
  std::string name;
  std::string data;
  uint16_t method = 0;        // 0 stored; anything else is written as-is (the data is not compressed)
  uint16_t flags = 0;
  bool bad_crc = false;       // store a wrong CRC in the directory
};

// A zip like torch.save writes: local headers padded so data starts at multiples of 64, a central
// directory, and (zip64 = true) the zip64 end record and locator before the classic end record.
inline std::string build_zip(const std::vector<ZipEntrySpec>& entries, bool zip64 = true) {
  std::string out, dir;
  for (const ZipEntrySpec& e : entries) {
    const uint64_t local = out.size();
    const uint64_t unpadded = local + 30 + e.name.size() + 4;
    const uint64_t pad = (64 - unpadded % 64) % 64;
    const std::string extra = le16(0x4246) + le16(pad) + std::string(pad, 'Z');  // "FB" padding, as torch
    const uint32_t crc = crc32_bitwise(e.data) ^ (e.bad_crc ? 1u : 0u);
    const std::string common = le16(e.method) + le16(0) + le16(0) + le32(crc) + le32(e.data.size()) +
                               le32(e.data.size()) + le16(e.name.size());
    out += le32(0x04034b50) + le16(20) + le16(e.flags) + common + le16(extra.size()) + e.name + extra + e.data;
    dir += le32(0x02014b50) + le16(20) + le16(20) + le16(e.flags) + common + le16(0) + le16(0) + le16(0) + le16(0) +
           le32(0) + le32(local) + e.name;
  }
  const uint64_t dir_offset = out.size();
  out += dir;
  if (zip64) {
    const uint64_t record = out.size();
    out += le32(0x06064b50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0) + le64(entries.size()) +
           le64(entries.size()) + le64(dir.size()) + le64(dir_offset);
    out += le32(0x07064b50) + le32(0) + le64(record) + le32(1);
  }
  out += le32(0x06054b50) + le16(0) + le16(0) + le16(entries.size()) + le16(entries.size()) + le32(dir.size()) +
         le32(dir_offset) + le16(0);
  return out;
}

// Pickle opcodes (Python's Lib/pickletools.py), written the way protocol 2 does.
struct PickleWriter {
  std::string bytes = std::string("\x80\x02", 2);  // PROTO 2

  PickleWriter& op(char c) { return raw(std::string(1, c)); }
  PickleWriter& raw(const std::string& s) {
    bytes += s;
    return *this;
  }
  PickleWriter& global(const std::string& module, const std::string& name) { return raw("c" + module + "\n" + name + "\n"); }
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
inline std::string torch_zip(const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& storages,
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
