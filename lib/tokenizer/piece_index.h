// Piece string -> id lookup for the BPE hot loop: open addressing over ids, keys compared against
// the tokenizer's own piece strings. About twice as fast as std::unordered_map here, where most
// lookups (candidate pairs) miss.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pb::detail {

class PieceIndex {
 public:
  // `pieces` must outlive the index and stay in place; it is indexed by id.
  explicit PieceIndex(const std::vector<std::string>* pieces = nullptr);

  // Adds `id` under its piece string; false (and nothing added) if that string is present.
  bool insert(int32_t id);
  // The id stored for `piece`, or -1.
  int32_t find(std::string_view piece) const {
    if (piece.size() > max_length_ || slots_.empty()) return -1;
    const uint64_t h = hash(piece);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = static_cast<size_t>(h) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && (*pieces_)[static_cast<size_t>(s.id)] == piece) return s.id;
    }
  }

 private:
  struct Slot {
    int32_t id = -1;
    uint32_t tag = 0;  // high hash bits, to skip most string compares
  };
  static uint64_t hash(std::string_view s) {
    uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a 64
    for (const char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001B3ull;
    return h ^ (h >> 29);
  }
  void grow();

  const std::vector<std::string>* pieces_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
  size_t max_length_ = 0;
};

}  // namespace pb::detail
