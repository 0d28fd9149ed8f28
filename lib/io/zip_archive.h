// Read-only access to the stored (uncompressed) entries of a zip archive, the container that
// torch.save writes. The file is memory-mapped, so multi-GB shards are never read into memory whole.
// Format: PKWARE APPNOTE.TXT 6.3.x (sections 4.3.7 local header, 4.3.12 central directory,
// 4.3.14-4.3.16 zip64 and end records). Rules enforced: docs/convert.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.h"

namespace pb {

class ZipArchive {
 public:
  struct Entry {
    std::string name;      // as stored: bytes, '/'-separated
    uint64_t data_offset;  // first byte of the entry's data in the file
    uint64_t size;         // bytes of data (stored entries: compressed == uncompressed)
    uint32_t crc32;        // from the central directory
  };

  // Maps `path` and validates the end records and the whole central directory: every entry stored,
  // unencrypted, with a matching local header and its data inside the file. Throws pb::Error naming
  // the path (and the entry) otherwise, before allocating anything the file size does not bound.
  static std::shared_ptr<ZipArchive> open(const std::string& path);

  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  const std::vector<Entry>& entries() const { return entries_; }  // central directory order
  const Entry* find(const std::string& name) const;              // nullptr if absent
  // The entry's bytes inside the mapping (valid while this lives), after checking their CRC-32:
  // pb::Error naming the entry on a mismatch. Every call checks again, so read each entry once.
  std::string_view read(const Entry& entry) const;
  const std::string& path() const { return path_; }
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  ZipArchive() = default;

  std::string path_;
  MappedFile mapping_;
  uint64_t file_bytes_ = 0;
  std::vector<Entry> entries_;
  std::map<std::string, size_t> index_;  // name -> position in entries_
};

}  // namespace pb
