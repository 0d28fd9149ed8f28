#include "tokenizer/sentencepiece_model.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "tokenizer/protobuf_reader.h"

namespace pb {

namespace {

using detail::ProtobufField;
using detail::ProtobufReader;

SentencePieceEntry parse_piece(ProtobufReader reader) {
  SentencePieceEntry entry;
  ProtobufField f;
  while (reader.next(f)) {
    switch (f.number) {
      case 1: entry.piece = reader.as_string(f, "piece"); break;
      case 2: entry.score = reader.as_float(f, "score"); break;
      case 3: {
        const int32_t type = reader.as_int32(f, "type");
        if (type < 1 || type > 6) {
          throw Error(fmt::format("{}: unknown piece type {} (valid: 1..6)", reader.where(), type));
        }
        entry.type = static_cast<PieceType>(type);
        break;
      }
      default: break;  // extensions and future fields
    }
  }
  return entry;
}

// Repeated occurrences of a nested message merge into one, as protobuf does, so the parse
// functions below update an existing struct instead of returning a fresh one.
void parse_trainer_spec(ProtobufReader reader, SentencePieceTrainerSpec& spec) {
  ProtobufField f;
  while (reader.next(f)) {
    switch (f.number) {
      case 3: spec.model_type = reader.as_int32(f, "model_type"); break;
      case 24: spec.treat_whitespace_as_suffix = reader.as_bool(f, "treat_whitespace_as_suffix"); break;
      case 35: spec.byte_fallback = reader.as_bool(f, "byte_fallback"); break;
      case 44: spec.unk_surface = reader.as_string(f, "unk_surface"); break;
      case 45: spec.unk_piece = reader.as_string(f, "unk_piece"); break;
      case 46: spec.bos_piece = reader.as_string(f, "bos_piece"); break;
      case 47: spec.eos_piece = reader.as_string(f, "eos_piece"); break;
      case 48: spec.pad_piece = reader.as_string(f, "pad_piece"); break;
      default: break;  // training-only options
    }
  }
}

void parse_normalizer_spec(ProtobufReader reader, SentencePieceNormalizerSpec& spec) {
  ProtobufField f;
  while (reader.next(f)) {
    switch (f.number) {
      case 1: spec.name = reader.as_string(f, "name"); break;
      case 2: spec.precompiled_charsmap = reader.as_string(f, "precompiled_charsmap"); break;
      case 3: spec.add_dummy_prefix = reader.as_bool(f, "add_dummy_prefix"); break;
      case 4: spec.remove_extra_whitespaces = reader.as_bool(f, "remove_extra_whitespaces"); break;
      case 5: spec.escape_whitespaces = reader.as_bool(f, "escape_whitespaces"); break;
      default: break;
    }
  }
}

int32_t count_self_test_samples(ProtobufReader reader) {
  int32_t n = 0;
  ProtobufField f;
  while (reader.next(f)) {
    if (f.number == 1) {
      reader.nested(f, "sample");  // checks the wire type
      ++n;
    }
  }
  return n;
}

}  // namespace

SentencePieceModelProto parse_sentencepiece_model(std::string_view bytes, const std::string& where) {
  SentencePieceModelProto model;
  ProtobufReader reader(bytes, where);
  ProtobufField f;
  while (reader.next(f)) {
    switch (f.number) {
      case 1:
        model.pieces.push_back(
            parse_piece(reader.nested(f, fmt::format("pieces[{}]", model.pieces.size()))));
        break;
      case 2: parse_trainer_spec(reader.nested(f, "trainer_spec"), model.trainer_spec); break;
      case 3: parse_normalizer_spec(reader.nested(f, "normalizer_spec"), model.normalizer_spec); break;
      case 4: model.self_test_samples += count_self_test_samples(reader.nested(f, "self_test_data")); break;
      case 5:
        parse_normalizer_spec(reader.nested(f, "denormalizer_spec"), model.denormalizer_spec);
        break;
      default: break;
    }
  }
  return model;
}

SentencePieceModelProto read_sentencepiece_model(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(fmt::format("tokenizer model '{}' does not exist or is not a regular file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("cannot open tokenizer model '{}': {}", path, std::strerror(errno)));
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(fmt::format("cannot read tokenizer model '{}'", path));
  if (bytes.empty()) throw Error(fmt::format("tokenizer model '{}' is empty", path));
  return parse_sentencepiece_model(bytes, fmt::format("tokenizer model '{}'", path));
}

}  // namespace pb
