// SentencePiece decoding, as libsentencepiece 0.1.97's DecodeIds (SentencePieceProcessor::Decode
// in src/sentencepiece_processor.cc).
#include "core/error.h"
#include "tokenizer/sentencepiece_impl.h"
#include "tokenizer/utf8.h"

namespace pb {

namespace {

// Appends a run of byte pieces as UTF-8; each byte that does not start a valid character becomes
// U+FFFD on its own and decoding resumes at the next byte.
void append_bytes(const std::string& bytes, std::string& text) {
  for (size_t offset = 0; offset < bytes.size();) {
    size_t length = 0;
    if (detail::decode_utf8_char(std::string_view(bytes).substr(offset), &length)) {
      text.append(bytes, offset, length);
    } else {
      text.append(detail::kReplacementChar);
    }
    offset += length;
  }
}

void append_unescaped(std::string_view piece, std::string& text) {
  for (size_t pos = 0;;) {
    const size_t hit = piece.find(detail::kSpaceSymbol, pos);
    text.append(piece.substr(pos, hit == std::string_view::npos ? std::string_view::npos : hit - pos));
    if (hit == std::string_view::npos) return;
    text.push_back(' ');
    pos = hit + detail::kSpaceSymbol.size();
  }
}

}  // namespace

std::string SentencePieceTokenizer::decode(const std::vector<int32_t>& ids) const {
  const Impl& m = *impl_;
  for (const int32_t id : ids) m.check_id(id);

  // The leading "▁" of the first visible piece is the dummy prefix and is dropped, once.
  const bool strip_leading_space =
      m.normalizer.add_dummy_prefix || m.normalizer.remove_extra_whitespaces;
  std::string text;
  std::string bytes;  // pending run of <0xXX> pieces
  bool expect_leading_space = true;
  bool leading_space_seen = false;
  for (const int32_t raw_id : ids) {
    const std::string& piece_str = m.piece_str[static_cast<size_t>(raw_id)];
    // libsentencepiece decodes ids via their piece strings, so look the id up again.
    const int32_t id = m.lookup(piece_str);
    const PieceType type = m.type(id);
    if (type == PieceType::kByte) {
      bytes.push_back(static_cast<char>(detail::byte_of_piece(piece_str)));
      continue;
    }
    append_bytes(bytes, text);
    bytes.clear();
    if (leading_space_seen || !text.empty()) expect_leading_space = false;

    std::string_view piece = piece_str;
    leading_space_seen = false;
    if (type == PieceType::kControl) continue;  // <s>, </s>: invisible
    if (type == PieceType::kUnknown) {
      text.append(m.piece_str[static_cast<size_t>(id)] == piece ? m.unk_surface : piece_str);
      continue;
    }
    if (expect_leading_space && strip_leading_space &&
        piece.substr(0, detail::kSpaceSymbol.size()) == detail::kSpaceSymbol) {
      piece.remove_prefix(detail::kSpaceSymbol.size());
      // With remove_extra_whitespaces every leading "▁" piece is stripped, not just the first.
      leading_space_seen = !m.normalizer.remove_extra_whitespaces;
    }
    append_unescaped(piece, text);
  }
  append_bytes(bytes, text);
  return text;
}

std::string SentencePieceTokenizer::decode_generated(const std::vector<int64_t>& generated, int64_t eos) const {
  std::vector<int32_t> ids;
  for (const int64_t id : generated) {
    if (id != eos && id >= 0 && id < vocab_size()) ids.push_back(static_cast<int32_t>(id));
  }
  return decode(ids);
}

}  // namespace pb
