#include "tokenizer/protobuf_reader.h"

#include <fmt/format.h>

#include <cstring>
#include <utility>

#include "core/error.h"

namespace pb::detail {

const char* wire_type_name(WireType type) {
  switch (type) {
    case WireType::kVarint: return "varint";
    case WireType::kFixed64: return "fixed64";
    case WireType::kLengthDelimited: return "length-delimited";
    case WireType::kFixed32: return "fixed32";
  }
  return "?";
}

ProtobufReader::ProtobufReader(std::string_view data, std::string where, size_t base_offset)
    : data_(data), where_(std::move(where)), base_offset_(base_offset) {}

void ProtobufReader::fail(size_t offset, const std::string& message) const {
  throw Error(fmt::format("{}: malformed protobuf at byte {}: {}", where_, base_offset_ + offset,
                          message));
}

uint64_t ProtobufReader::read_varint(const char* what) {
  const size_t start = pos_;
  uint64_t result = 0;
  // A varint has at most 10 bytes (64 bits in 7-bit groups); the 10th may only carry 1 bit.
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos_ >= data_.size()) fail(start, fmt::format("truncated varint ({})", what));
    const auto byte = static_cast<uint8_t>(data_[pos_++]);
    if (shift == 63 && byte > 1) fail(start, fmt::format("varint overflows 64 bits ({})", what));
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return result;
  }
  fail(start, fmt::format("varint longer than 10 bytes ({})", what));
}

bool ProtobufReader::next(ProtobufField& field) {
  if (pos_ >= data_.size()) return false;
  field = ProtobufField{};
  field.offset = pos_;
  const uint64_t tag = read_varint("field tag");
  const uint64_t number = tag >> 3;
  if (number == 0 || number > 0x1FFFFFFF) {
    fail(field.offset, fmt::format("invalid field number {}", number));
  }
  field.number = static_cast<uint32_t>(number);
  switch (tag & 7) {
    case 0:
      field.wire_type = WireType::kVarint;
      field.value = read_varint("field value");
      break;
    case 1:
    case 5: {
      const size_t width = (tag & 7) == 1 ? 8 : 4;
      field.wire_type = width == 8 ? WireType::kFixed64 : WireType::kFixed32;
      if (data_.size() - pos_ < width) {
        fail(field.offset, fmt::format("truncated fixed{} value of field {}", width * 8, number));
      }
      uint8_t buf[8] = {};
      std::memcpy(buf, data_.data() + pos_, width);
      for (size_t i = 0; i < width; ++i) field.value |= static_cast<uint64_t>(buf[i]) << (8 * i);
      pos_ += width;
      break;
    }
    case 2: {
      field.wire_type = WireType::kLengthDelimited;
      const uint64_t length = read_varint("length");
      if (length > data_.size() - pos_) {
        fail(field.offset, fmt::format("field {} claims {} bytes but only {} remain", number,
                                       length, data_.size() - pos_));
      }
      field.bytes = data_.substr(pos_, static_cast<size_t>(length));
      pos_ += static_cast<size_t>(length);
      break;
    }
    default:
      fail(field.offset, fmt::format("unsupported wire type {} in field {} (groups are not used "
                                     "by sentencepiece; is this a tokenizer.model file?)",
                                     tag & 7, number));
  }
  return true;
}

ProtobufReader ProtobufReader::nested(const ProtobufField& field, const std::string& name) const {
  expect(field, WireType::kLengthDelimited, name.c_str());
  const size_t payload_offset = static_cast<size_t>(field.bytes.data() - data_.data());
  return ProtobufReader(field.bytes, where_ + ": " + name, base_offset_ + payload_offset);
}

void ProtobufReader::expect(const ProtobufField& field, WireType type, const char* name) const {
  if (field.wire_type != type) {
    fail(field.offset, fmt::format("field {} ({}) has wire type {}, expected {}", field.number,
                                   name, wire_type_name(field.wire_type), wire_type_name(type)));
  }
}

bool ProtobufReader::as_bool(const ProtobufField& field, const char* name) const {
  expect(field, WireType::kVarint, name);
  return field.value != 0;
}

int32_t ProtobufReader::as_int32(const ProtobufField& field, const char* name) const {
  expect(field, WireType::kVarint, name);
  // int32 is sign-extended to 64 bits on the wire; protobuf truncates to the low 32 bits.
  return static_cast<int32_t>(static_cast<uint32_t>(field.value & 0xFFFFFFFFu));
}

float ProtobufReader::as_float(const ProtobufField& field, const char* name) const {
  expect(field, WireType::kFixed32, name);
  const auto bits = static_cast<uint32_t>(field.value);
  float result;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}

std::string ProtobufReader::as_string(const ProtobufField& field, const char* name) const {
  expect(field, WireType::kLengthDelimited, name);
  return std::string(field.bytes);
}

}  // namespace pb::detail
