// SentencePiece BPE encoding, step for step as libsentencepiece 0.1.97 (src/bpe_model.cc
// SampleEncode without dropout, then SentencePieceProcessor::PopulateSentencePieceText).
#include <fmt/format.h>

#include <queue>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "tokenizer/sentencepiece_impl.h"

namespace pb {

namespace {

struct Symbol {
  int32_t prev;    // -1 at the start
  int32_t next;    // -1 at the end
  uint32_t begin;  // byte range in the normalized text
  uint32_t size;   // 0 once merged into the symbol on its left
  bool freeze;     // a user-defined piece: never merged
};

// A candidate merge of two adjacent symbols into a vocabulary piece of `size` bytes.
struct Candidate {
  float score;
  int32_t left;
  int32_t right;
  uint32_t size;
};

// Highest score first; on equal scores the leftmost pair (sentencepiece's SymbolPairComparator).
struct CandidateOrder {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text) const {
  return encode_impl(text, impl_->normalizer.add_dummy_prefix);
}

std::vector<int32_t> SentencePieceTokenizer::encode_without_dummy_prefix(
    std::string_view text) const {
  return encode_impl(text, false);
}

std::vector<int32_t> SentencePieceTokenizer::encode_impl(std::string_view text,
                                                         bool add_dummy_prefix) const {
  const Impl& m = *impl_;
  detail::NormalizerOptions options = m.normalizer;
  options.add_dummy_prefix = add_dummy_prefix;
  const std::string normalized = detail::normalize(text, options, m.matcher);
  if (normalized.empty()) return {};
  if (normalized.size() > UINT32_MAX / 2) {
    throw Error(fmt::format("{}: text of {} bytes is too long to encode", m.source, text.size()));
  }
  const std::string_view norm(normalized);

  // Characters (or whole user-defined pieces) form a doubly linked list of symbols.
  std::vector<Symbol> symbols;
  symbols.reserve(norm.size());
  for (size_t pos = 0; pos < norm.size();) {
    bool freeze = false;
    const size_t length = m.matcher.match(norm.substr(pos), &freeze);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({index - 1, pos + length < norm.size() ? index + 1 : -1,
                       static_cast<uint32_t>(pos), static_cast<uint32_t>(length), freeze});
    pos += length;
  }
  const auto piece_of = [&](const Symbol& s) { return norm.substr(s.begin, s.size); };

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> agenda;
  // For UNUSED pieces: merged like any other, then split back into the two symbols they were
  // made of (the last pair recorded for that string wins, as in sentencepiece's rev_merge).
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;

  const auto maybe_add_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(right)];
    if (l.freeze || r.freeze) return;
    const std::string_view merged = norm.substr(l.begin, l.size + r.size);
    const int32_t id = m.mergeable.find(merged);
    if (id < 0) return;
    agenda.push({m.score[static_cast<size_t>(id)], left, right, static_cast<uint32_t>(merged.size())});
    if (m.has_unused && m.type(id) == PieceType::kUnused) {
      rev_merge[merged] = {piece_of(l), piece_of(r)};
    }
  };

  for (size_t i = 1; i < symbols.size(); ++i) {
    maybe_add_pair(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }
  while (!agenda.empty()) {
    const Candidate top = agenda.top();
    agenda.pop();
    Symbol& l = symbols[static_cast<size_t>(top.left)];
    Symbol& r = symbols[static_cast<size_t>(top.right)];
    // Stale: one side was merged away or grew since this pair was queued.
    if (l.size == 0 || r.size == 0 || l.size + r.size != top.size) continue;
    l.size += r.size;
    l.next = r.next;
    if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = top.left;
    r.size = 0;
    maybe_add_pair(l.prev, top.left);
    maybe_add_pair(top.left, l.next);
  }

  // Final pieces, with UNUSED ones split back recursively.
  std::vector<std::pair<std::string_view, int32_t>> result;
  const auto resegment = [&](std::string_view piece, auto&& self) -> void {
    const int32_t id = m.lookup(piece);
    if (m.type(id) == PieceType::kUnused) {
      if (const auto it = rev_merge.find(piece); it != rev_merge.end()) {
        self(it->second.first, self);
        self(it->second.second, self);
        return;
      }
    }
    result.emplace_back(piece, id);
  };
  for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    resegment(piece_of(symbols[static_cast<size_t>(i)]), resegment);
  }

  // Ids: an unknown character becomes its UTF-8 bytes with byte_fallback; without it, runs of
  // unknown characters collapse into one <unk> (PopulateSentencePieceText).
  std::vector<int32_t> ids;
  ids.reserve(result.size());
  bool prev_unknown = false;
  for (const auto& [piece, id] : result) {
    const bool unknown = m.type(id) == PieceType::kUnknown;
    if (m.type(id) == PieceType::kControl) {
      // libsentencepiece fails here too ("all normalized characters are not consumed").
      throw Error(fmt::format("{}: text piece '{}' resolves to control piece {}", m.source, piece, id));
    }
    if (unknown && m.byte_fallback) {
      for (const char c : piece) ids.push_back(m.byte_ids[static_cast<uint8_t>(c)]);
    } else if (!(unknown && prev_unknown)) {
      ids.push_back(id);
    }
    prev_unknown = unknown;
  }
  return ids;
}

}  // namespace pb
