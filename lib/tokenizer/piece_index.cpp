#include "tokenizer/piece_index.h"

#include <algorithm>
#include <utility>

namespace pb::detail {

PieceIndex::PieceIndex(const std::vector<std::string>* pieces) : pieces_(pieces) {}

bool PieceIndex::insert(int32_t id) {
  const std::string& piece = (*pieces_)[static_cast<size_t>(id)];
  if (find(piece) >= 0) return false;
  if ((size_ + 1) * 2 > slots_.size()) grow();  // load factor <= 1/2
  max_length_ = std::max(max_length_, piece.size());
  const uint64_t h = hash(piece);
  size_t i = static_cast<size_t>(h) & mask_;
  while (slots_[i].id >= 0) i = (i + 1) & mask_;
  slots_[i] = Slot{id, static_cast<uint32_t>(h >> 32)};
  ++size_;
  return true;
}

void PieceIndex::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(std::max<size_t>(16, old.size() * 2), Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    size_t i = static_cast<size_t>(hash((*pieces_)[static_cast<size_t>(s.id)])) & mask_;
    while (slots_[i].id >= 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

}  // namespace pb::detail
