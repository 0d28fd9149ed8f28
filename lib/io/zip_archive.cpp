// Zip reader for torch.save archives: end records (with zip64), central directory, local headers,
// CRC-32. Every offset and size read from the file is checked against the file size before use.
#include "io/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"

namespace pb {
namespace {

// Signatures and fixed sizes from APPNOTE.TXT 6.3.10, sections 4.3.7 to 4.3.16.
constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kLocalHeaderBytes = 30;
constexpr uint64_t kCentralHeaderBytes = 46;
constexpr uint64_t kEndBytes = 22;
constexpr uint64_t kZip64EndBytes = 56;
constexpr uint64_t kZip64LocatorBytes = 20;
constexpr uint64_t kMaxCommentBytes = 0xFFFF;  // the end record's comment length is a u16
constexpr uint16_t kZip64ExtraId = 0x0001;     // 4.5.3 Zip64 Extended Information Extra Field
// General purpose flag bits (4.4.4): 0 encrypted, 6 strong encryption.
constexpr uint16_t kEncryptedFlags = 0x0001 | 0x0040;

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) { return le32(p) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

// `offset + bytes <= limit` without overflow.
bool fits(uint64_t offset, uint64_t bytes, uint64_t limit) { return offset <= limit && bytes <= limit - offset; }

// Entry names come from the file: printed with control bytes escaped and cut short, so an error
// stays one readable line.
std::string printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 200; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7F) ? fmt::format("\\x{:02x}", c) : std::string(1, static_cast<char>(c));
  }
  if (s.size() > 200) out += "...";
  return out;
}

uint32_t crc32_of(const unsigned char* data, uint64_t bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  while (bytes > 0) {
    const auto chunk = static_cast<uInt>(std::min<uint64_t>(bytes, uint64_t{1} << 30));  // zlib takes a uInt
    crc = ::crc32(crc, data, chunk);
    data += chunk;
    bytes -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

struct DirectoryLocation {
  uint64_t entries;
  uint64_t offset;
  uint64_t bytes;
  uint64_t end;  // where the end records start: the directory must stop before
};

// Finds the end of central directory record (scanning back over a possible comment) and, when a
// zip64 locator precedes it, the zip64 record, whose 64-bit fields then win. torch.save always
// writes the zip64 records (miniz with MZ_ZIP_FLAG_WRITE_ZIP64, caffe2/serialize/inline_container.cc).
DirectoryLocation locate_directory(const unsigned char* base, uint64_t file_bytes, const std::string& path) {
  if (file_bytes < kEndBytes) {
    throw Error(fmt::format("{}: not a zip archive ({} bytes, shorter than a zip end record)", path, file_bytes));
  }
  const uint64_t lowest = file_bytes - kEndBytes - std::min(file_bytes - kEndBytes, kMaxCommentBytes);
  uint64_t end = file_bytes - kEndBytes;
  for (;; --end) {
    // The comment length must account exactly for the bytes after the record, so that a signature
    // inside the comment or the data is not taken for the record.
    if (le32(base + end) == kEndSig && le16(base + end + 20) == file_bytes - end - kEndBytes) break;
    if (end == lowest) {
      throw Error(fmt::format("{}: not a zip archive (no end of central directory record; truncated?)", path));
    }
  }
  const unsigned char* rec = base + end;
  if (le16(rec + 4) != 0 || le16(rec + 6) != 0) {
    throw Error(fmt::format("{}: multi-disk zip archives are not supported", path));
  }
  DirectoryLocation loc{le16(rec + 10), le32(rec + 16), le32(rec + 12), end};

  if (end >= kZip64LocatorBytes && le32(base + end - kZip64LocatorBytes) == kZip64LocatorSig) {
    const unsigned char* locator = base + end - kZip64LocatorBytes;
    const uint64_t record = le64(locator + 8);
    if (le32(locator + 4) != 0 || le32(locator + 16) > 1) {
      throw Error(fmt::format("{}: multi-disk zip archives are not supported", path));
    }
    if (!fits(record, kZip64EndBytes, end - kZip64LocatorBytes) || le32(base + record) != kZip64EndSig) {
      throw Error(fmt::format("{}: the zip64 locator points to offset {}, where there is no zip64 end record", path,
                              record));
    }
    const unsigned char* z = base + record;
    if (le32(z + 16) != 0 || le32(z + 20) != 0) {
      throw Error(fmt::format("{}: multi-disk zip archives are not supported", path));
    }
    loc = DirectoryLocation{le64(z + 32), le64(z + 48), le64(z + 40), record};
  }
  if (!fits(loc.offset, loc.bytes, loc.end)) {
    throw Error(fmt::format("{}: central directory [{}, +{}) runs past its end records at {} (truncated or corrupt)",
                            path, loc.offset, loc.bytes, loc.end));
  }
  // Bounds the allocation below by the file size: each entry takes at least 46 bytes.
  if (loc.entries > loc.bytes / kCentralHeaderBytes) {
    throw Error(fmt::format("{}: the end record claims {} entries, more than a {}-byte central directory can hold",
                            path, loc.entries, loc.bytes));
  }
  return loc;
}

// Replaces the 32-bit fields that are 0xFFFFFFFF by the values of the zip64 extra field, which lists
// them in this order and only those (APPNOTE 4.5.3).
void apply_zip64_extra(const unsigned char* extra, uint64_t extra_bytes, uint64_t* size, uint64_t* csize,
                       uint64_t* local_offset, const std::string& where) {
  const bool need[3] = {*size == 0xFFFFFFFF, *csize == 0xFFFFFFFF, *local_offset == 0xFFFFFFFF};
  if (!need[0] && !need[1] && !need[2]) return;
  uint64_t pos = 0;
  while (pos + 4 <= extra_bytes) {
    const uint16_t id = le16(extra + pos), bytes = le16(extra + pos + 2);
    if (!fits(pos + 4, bytes, extra_bytes)) break;
    if (id == kZip64ExtraId) {
      const unsigned char* field = extra + pos + 4;
      uint64_t used = 0;
      uint64_t* targets[3] = {size, csize, local_offset};
      for (int i = 0; i < 3; ++i) {
        if (!need[i]) continue;
        if (used + 8 > bytes) throw Error(fmt::format("{}: zip64 extra field is too short", where));
        *targets[i] = le64(field + used);
        used += 8;
      }
      return;
    }
    pos += 4 + uint64_t{bytes};
  }
  throw Error(fmt::format("{}: sizes or offset are 0xFFFFFFFF but there is no zip64 extra field", where));
}


}  // namespace

const ZipArchive::Entry* ZipArchive::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string_view ZipArchive::read(const Entry& entry) const {
  const unsigned char* data = mapping_.data() + entry.data_offset;
  const uint32_t crc = crc32_of(data, entry.size);
  if (crc != entry.crc32) {
    throw Error(fmt::format("{}: entry '{}' is corrupt (CRC-32 {:08x}, the directory says {:08x})", path_,
                            printable(entry.name), crc, entry.crc32));
  }
  return {reinterpret_cast<const char*>(data), static_cast<size_t>(entry.size)};
}

std::shared_ptr<ZipArchive> ZipArchive::open(const std::string& path) {
  MappedFile mapped = MappedFile::open(path, "zip archive");
  const uint64_t file_bytes = mapped.size();
  if (file_bytes < kEndBytes) {
    throw Error(fmt::format("{}: not a zip archive ({} bytes, shorter than a zip end record)", path, file_bytes));
  }

  std::shared_ptr<ZipArchive> zip(new ZipArchive());
  zip->path_ = path;
  zip->mapping_ = std::move(mapped);
  zip->file_bytes_ = file_bytes;
  const unsigned char* base = zip->mapping_.data();

  const DirectoryLocation dir = locate_directory(base, file_bytes, path);
  zip->entries_.reserve(dir.entries);
  uint64_t pos = dir.offset;
  const uint64_t dir_end = dir.offset + dir.bytes;
  for (uint64_t i = 0; i < dir.entries; ++i) {
    if (!fits(pos, kCentralHeaderBytes, dir_end) || le32(base + pos) != kCentralHeaderSig) {
      throw Error(fmt::format("{}: central directory entry {} at offset {} is malformed", path, i, pos));
    }
    const unsigned char* h = base + pos;
    const uint16_t flags = le16(h + 8), method = le16(h + 10);
    const uint32_t crc = le32(h + 16);
    uint64_t csize = le32(h + 20), size = le32(h + 24), local = le32(h + 42);
    const uint64_t name_bytes = le16(h + 28), extra_bytes = le16(h + 30), comment_bytes = le16(h + 32);
    const uint64_t record_bytes = kCentralHeaderBytes + name_bytes + extra_bytes + comment_bytes;
    if (!fits(pos, record_bytes, dir_end)) {
      throw Error(fmt::format("{}: central directory entry {} runs past the directory's end", path, i));
    }
    std::string name(reinterpret_cast<const char*>(h + kCentralHeaderBytes), name_bytes);
    const std::string where = fmt::format("{}: entry '{}'", path, printable(name));
    apply_zip64_extra(h + kCentralHeaderBytes + name_bytes, extra_bytes, &size, &csize, &local, where);
    if ((flags & kEncryptedFlags) != 0) throw Error(fmt::format("{} is encrypted", where));
    if (method != 0) {
      throw Error(fmt::format("{} is compressed (method {}{}); torch.save writes stored entries, so this file was "
                              "repacked: re-save it with torch.save",
                              where, method, method == 8 ? ", deflate" : ""));
    }
    if (csize != size) {
      throw Error(fmt::format("{} is stored but its compressed size {} differs from its size {}", where, csize, size));
    }

    // The data starts after the local header, whose extra field differs from the central one
    // (torch pads it so that data is 64-byte aligned), so it must be read from the local header.
    if (!fits(local, kLocalHeaderBytes, dir.offset) || le32(base + local) != kLocalHeaderSig) {
      throw Error(fmt::format("{}: no local header at offset {} (before the central directory at {})", where, local,
                              dir.offset));
    }
    const uint64_t local_name = le16(base + local + 26), local_extra = le16(base + local + 28);
    const uint64_t data = local + kLocalHeaderBytes + local_name + local_extra;
    if (local_name != name_bytes ||
        std::memcmp(base + local + kLocalHeaderBytes, name.data(), static_cast<size_t>(name_bytes)) != 0) {
      throw Error(fmt::format("{}: the local header at offset {} names another entry", where, local));
    }
    if (!fits(data, size, dir.offset)) {
      throw Error(fmt::format("{}: data [{}, +{}) runs past the central directory at {} (truncated or corrupt)", where,
                              data, size, dir.offset));
    }
    if (!zip->index_.emplace(name, zip->entries_.size()).second) {
      throw Error(fmt::format("{} appears twice in the archive", where));
    }
    zip->entries_.push_back(Entry{std::move(name), data, size, crc});
    pos += record_bytes;
  }
  return zip;
}

}  // namespace pb
