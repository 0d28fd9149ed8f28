// Loading and validating a SentencePiece BPE model, and id/piece lookups. The checks mirror
// libsentencepiece's ModelInterface::InitializePieces (src/model_interface.cc, v0.1.97), so a
// model it refuses is refused here too, with the file named.
#include "tokenizer/sentencepiece.h"

#include <fmt/format.h>

#include <utility>

#include "core/error.h"
#include "tokenizer/sentencepiece_impl.h"

namespace pb {

namespace {

const char* model_type_name(int32_t type) {
  switch (type) {
    case 1: return "UNIGRAM";
    case 2: return "BPE";
    case 3: return "WORD";
    case 4: return "CHAR";
    default: return "unknown";
  }
}

}  // namespace

SentencePieceTokenizer::Impl::Impl(SentencePieceModelProto model, std::string source_name)
    : source(std::move(source_name)) {
  const SentencePieceTrainerSpec& trainer = model.trainer_spec;
  const SentencePieceNormalizerSpec& norm = model.normalizer_spec;
  const auto fail = [&](const std::string& what) { throw Error(fmt::format("{}: {}", source, what)); };

  if (trainer.model_type != static_cast<int32_t>(SentencePieceModelType::kBpe)) {
    fail(fmt::format("model_type is {} ({}); only BPE (2) models are supported",
                     model_type_name(trainer.model_type), trainer.model_type));
  }
  if (model.pieces.empty()) fail("the model has no pieces");
  if (!norm.precompiled_charsmap.empty()) {
    fail(fmt::format("normalizer '{}' uses a precompiled character map, which is not implemented "
                     "(only identity normalisation, as LLaMA tokenizers use)",
                     norm.name));
  }
  if (!model.denormalizer_spec.precompiled_charsmap.empty()) {
    fail("a denormalizer character map is not implemented");
  }

  byte_fallback = trainer.byte_fallback;
  byte_ids.fill(-1);
  std::vector<std::string> user_defined;
  for (SentencePieceEntry& entry : model.pieces) {
    piece_str.push_back(std::move(entry.piece));
    score.push_back(entry.score);
    types.push_back(entry.type);
  }
  for (size_t i = 0; i < piece_str.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    const std::string& piece = piece_str[i];
    const PieceType piece_type = types[i];
    if (piece.empty()) fail(fmt::format("piece {} is empty", id));
    const bool is_mergeable = piece_type == PieceType::kNormal ||
                              piece_type == PieceType::kUserDefined ||
                              piece_type == PieceType::kUnused;
    if (!(is_mergeable ? mergeable : reserved).insert(id)) {
      fail(fmt::format("piece '{}' (id {}) is already defined", piece, id));
    }
    switch (piece_type) {
      case PieceType::kUserDefined: user_defined.push_back(piece); break;
      case PieceType::kUnused: has_unused = true; break;
      case PieceType::kUnknown:
        if (model_unk >= 0) fail(fmt::format("a second unknown piece '{}' (id {})", piece, id));
        model_unk = id;
        break;
      case PieceType::kByte: {
        if (!byte_fallback) {
          fail(fmt::format("byte piece '{}' found although byte_fallback is false", piece));
        }
        const int byte = detail::byte_of_piece(piece);
        if (byte < 0) fail(fmt::format("byte piece '{}' (id {}) is invalid", piece, id));
        byte_ids[static_cast<size_t>(byte)] = id;
        break;
      }
      default: break;
    }
  }
  if (model_unk < 0) fail("the model has no unknown (<unk>) piece");
  if (byte_fallback) {
    for (size_t b = 0; b < 256; ++b) {
      if (byte_ids[b] < 0) fail(fmt::format("byte_fallback is on but piece <0x{:02X}> is missing", b));
    }
  }
  matcher = detail::PrefixMatcher(user_defined);

  normalizer.add_dummy_prefix = norm.add_dummy_prefix;
  normalizer.remove_extra_whitespaces = norm.remove_extra_whitespaces;
  normalizer.escape_whitespaces = norm.escape_whitespaces;
  normalizer.treat_whitespace_as_suffix = trainer.treat_whitespace_as_suffix;
  // U+2047 between spaces is sentencepiece's default unk_surface.
  unk_surface = trainer.unk_surface.value_or(" \xE2\x81\x87 ");

  // Special ids are found by piece string and must have the right type (SentencePieceProcessor::
  // bos_id() etc.); an empty piece string in the spec means the default one.
  const auto special = [&](const std::string& piece, const char* fallback, PieceType want) {
    const int32_t id = lookup(piece.empty() ? std::string_view(fallback) : std::string_view(piece));
    return type(id) == want ? id : -1;
  };
  unk = special(trainer.unk_piece, "<unk>", PieceType::kUnknown);
  bos = special(trainer.bos_piece, "<s>", PieceType::kControl);
  eos = special(trainer.eos_piece, "</s>", PieceType::kControl);
  pad = special(trainer.pad_piece, "<pad>", PieceType::kControl);
}

void SentencePieceTokenizer::Impl::check_id(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= size()) {
    throw Error(fmt::format("{}: token id {} is out of range [0, {})", source, id, size()));
  }
}

SentencePieceTokenizer::SentencePieceTokenizer(std::shared_ptr<const Impl> impl)
    : impl_(std::move(impl)) {}

SentencePieceTokenizer SentencePieceTokenizer::load(const std::string& path) {
  return from_model(read_sentencepiece_model(path), path);
}

SentencePieceTokenizer SentencePieceTokenizer::from_serialized(std::string_view bytes,
                                                               const std::string& name) {
  return from_model(parse_sentencepiece_model(bytes, fmt::format("tokenizer model '{}'", name)),
                    name);
}

SentencePieceTokenizer SentencePieceTokenizer::from_model(SentencePieceModelProto model,
                                                          const std::string& name) {
  return SentencePieceTokenizer(
      std::make_shared<const Impl>(std::move(model), fmt::format("tokenizer model '{}'", name)));
}

std::string SentencePieceTokenizer::id_to_piece(int32_t id) const {
  impl_->check_id(id);
  return impl_->piece_str[static_cast<size_t>(id)];
}

int32_t SentencePieceTokenizer::piece_to_id(std::string_view piece) const {
  return impl_->lookup(piece);
}

PieceType SentencePieceTokenizer::piece_type(int32_t id) const {
  impl_->check_id(id);
  return impl_->type(id);
}

int32_t SentencePieceTokenizer::bos_id() const { return impl_->bos; }
int32_t SentencePieceTokenizer::eos_id() const { return impl_->eos; }
int32_t SentencePieceTokenizer::unk_id() const { return impl_->unk; }
int32_t SentencePieceTokenizer::pad_id() const { return impl_->pad; }
int32_t SentencePieceTokenizer::vocab_size() const {
  return static_cast<int32_t>(impl_->size());
}

}  // namespace pb
