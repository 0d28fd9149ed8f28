// A minimal, bounds-checked reader for the protobuf wire format: just enough to walk a serialized
// sentencepiece ModelProto without linking protobuf (wire format: protobuf.dev/programming-guides/encoding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pb::detail {

// Wire types 3 and 4 (groups) are deprecated and never used by sentencepiece; they are rejected.
enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

const char* wire_type_name(WireType type);

// One field as read from the wire. Only the member matching `wire_type` is meaningful.
struct ProtobufField {
  uint32_t number = 0;
  WireType wire_type = WireType::kVarint;
  uint64_t value = 0;      // kVarint, kFixed64 and kFixed32 (zero-extended)
  std::string_view bytes;  // kLengthDelimited: the payload, pointing into the reader's input
  size_t offset = 0;       // byte offset of the tag, for error messages
};

// Iterates over the fields of one message. `where` names the input in error messages (e.g.
// "model.bin: normalizer_spec"); `base_offset` is the message's offset in the whole file, so
// offsets in messages refer to the file. Every malformation throws pb::Error.
class ProtobufReader {
 public:
  ProtobufReader(std::string_view data, std::string where, size_t base_offset = 0);

  // Reads the next field; false at the end of the message.
  bool next(ProtobufField& field);

  // A reader over a length-delimited field's payload (a nested message).
  ProtobufReader nested(const ProtobufField& field, const std::string& name) const;

  // Typed accessors: each checks the field's wire type and throws naming the field.
  bool as_bool(const ProtobufField& field, const char* name) const;
  int32_t as_int32(const ProtobufField& field, const char* name) const;  // int32 / enum
  float as_float(const ProtobufField& field, const char* name) const;
  std::string as_string(const ProtobufField& field, const char* name) const;

  const std::string& where() const { return where_; }

 private:
  uint64_t read_varint(const char* what);
  void expect(const ProtobufField& field, WireType type, const char* name) const;
  [[noreturn]] void fail(size_t offset, const std::string& message) const;

  std::string_view data_;
  size_t pos_ = 0;
  std::string where_;
  size_t base_offset_;
};

}  // namespace pb::detail
