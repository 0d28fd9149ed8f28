// A native SentencePiece BPE tokenizer (the LLaMA / Vicuna kind) that reproduces libsentencepiece
// 0.1.97's Encode and DecodeIds without linking it or protobuf. Algorithm and limits:
// docs/tokenizer.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/sentencepiece_model.h"

namespace pb {

// Immutable after loading; copies share the vocabulary, and concurrent use is safe.
class SentencePieceTokenizer {
 public:
  // Reads a tokenizer.model file. Throws pb::Error naming the file when it is missing, malformed,
  // not a BPE model, or uses a feature we do not implement (a precompiled normaliser map).
  static SentencePieceTokenizer load(const std::string& path);
  // The same from serialized ModelProto bytes; `name` stands for the file in error messages.
  static SentencePieceTokenizer from_serialized(std::string_view bytes, const std::string& name);
  // From an already parsed model (e.g. with a patched normalizer spec).
  static SentencePieceTokenizer from_model(SentencePieceModelProto model, const std::string& name);

  // Plain SentencePiece encode, as libsentencepiece's Encode(text) -> ids: dummy prefix per the
  // model's normalizer spec, no BOS/EOS. Any byte string is accepted (invalid UTF-8 as U+FFFD);
  // throws only where libsentencepiece fails too (a character that is itself a control piece).
  std::vector<int32_t> encode(std::string_view text) const;
  // The same with the dummy prefix turned off, for text that continues after a special token
  // (HF LlamaTokenizer legacy=false semantics).
  std::vector<int32_t> encode_without_dummy_prefix(std::string_view text) const;

  // As libsentencepiece's DecodeIds: control pieces vanish, the first "▁" from the dummy prefix is
  // dropped, <0xXX> runs are reassembled into UTF-8 (each invalid byte -> U+FFFD), <unk> -> " ⁇ ".
  // Throws pb::Error for an id outside [0, vocab_size()).
  std::string decode(const std::vector<int32_t>& ids) const;

  // The text of a model's generated ids: `eos` and ids past the tokenizer are dropped before
  // decode. Why the latter: llava-hf pads the embedding table past the tokenizer (32001 -> 32064;
  // the SynthVQA model 1025 -> 1088), those rows have no piece, and HF's fast tokenizer decodes
  // them to nothing; an untrained or odd model may still pick one.
  std::string decode_generated(const std::vector<int64_t>& generated, int64_t eos) const;

  std::string id_to_piece(int32_t id) const;  // throws pb::Error when out of range
  int32_t piece_to_id(std::string_view piece) const;  // the unknown piece's id when absent
  PieceType piece_type(int32_t id) const;             // throws pb::Error when out of range

  // Resolved like libsentencepiece: by the trainer spec's piece strings; -1 when the model has
  // no such control (bos/eos/pad) or unknown (unk) piece.
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t unk_id() const;
  int32_t pad_id() const;
  int32_t vocab_size() const;

 private:
  struct Impl;
  explicit SentencePieceTokenizer(std::shared_ptr<const Impl> impl);
  std::vector<int32_t> encode_impl(std::string_view text, bool add_dummy_prefix) const;

  std::shared_ptr<const Impl> impl_;
};

}  // namespace pb
