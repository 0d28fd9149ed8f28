// Stored zip archives laid out like torch.save's (64-byte aligned data, zip64 end records), built in
// memory for the .bin reader tests and fuzz targets. Standard library only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pb::test {

inline std::string le64(uint64_t n) {
  std::string out(8, '\0');
  for (char& c : out) {
    c = static_cast<char>(n & 0xFF);
    n >>= 8;
  }
  return out;
}

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

}  // namespace pb::test
