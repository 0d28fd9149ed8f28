// The parts of a serialized sentencepiece ModelProto (tokenizer.model) that encoding and decoding
// need, read with our own wire-format reader. Field numbers and defaults follow
// google/sentencepiece src/sentencepiece_model.proto (v0.1.97).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb {

// ModelProto.SentencePiece.Type, with the values used on the wire.
enum class PieceType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// TrainerSpec.ModelType values.
enum class SentencePieceModelType : int32_t { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

struct SentencePieceEntry {
  std::string piece;
  float score = 0.0f;
  PieceType type = PieceType::kNormal;
};

// Fields of TrainerSpec that matter at encode/decode time; proto2 defaults when absent.
struct SentencePieceTrainerSpec {
  int32_t model_type = 1;  // UNIGRAM unless the file says otherwise
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  // libsentencepiece resolves bos/eos/unk/pad by these piece strings, not by the *_id fields;
  // an empty string means the default ("<unk>", "<s>", "</s>", "<pad>").
  std::string unk_piece, bos_piece, eos_piece, pad_piece;
  std::optional<std::string> unk_surface;  // decode text of <unk>; default " \u2047 "
};

struct SentencePieceNormalizerSpec {
  std::string name;
  std::string precompiled_charsmap;  // non-empty for nmt_nfkc and friends (not supported)
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

struct SentencePieceModelProto {
  std::vector<SentencePieceEntry> pieces;  // index == id
  SentencePieceTrainerSpec trainer_spec;
  SentencePieceNormalizerSpec normalizer_spec;
  SentencePieceNormalizerSpec denormalizer_spec;
  int32_t self_test_samples = 0;  // SelfTestData.samples; counted, not run
};

// Parses a serialized ModelProto. Unknown fields are skipped as protobuf does; malformed wire data
// or a known field with the wrong wire type throws pb::Error naming `where` and the byte offset.
SentencePieceModelProto parse_sentencepiece_model(std::string_view bytes, const std::string& where);

// Reads and parses `path`; throws pb::Error naming the file when it is missing, empty or malformed.
SentencePieceModelProto read_sentencepiece_model(const std::string& path);

}  // namespace pb
