// Typed, located access to dataset JSON: every wrong type or missing field becomes a pb::Error that
// names the file, the byte offset (or the jsonl line) and the path of the value, e.g.
// "v2_mscoco_val2014_annotations.json: byte 1234 (line 1, column 1235): annotations[3].answers: ...".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pb::detail {

// The whole file as bytes; pb::Error "<path>: cannot open: ..." (also for folders).
std::string read_text_file(const std::string& path);

class JsonRef;

// A parsed JSON text that remembers where it came from, so that failures can be located.
class JsonDocument {
 public:
  // Reads and parses a file; parse errors name the file and the byte offset (io/json_file.h).
  explicit JsonDocument(const std::string& path);
  // One line of a JSON-lines file; `line` counts from 1. Parse errors name the file and the line.
  JsonDocument(std::string text, const std::string& path, size_t line);
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;

  const std::string& path() const { return path_; }
  JsonRef root() const;

  // pb::Error "<where>: <path of at>: <problem>", where <where> is "<file>: byte N (line L, column C)"
  // or, for a jsonl line, "<file>: line L, column C". `at` must be a value inside root().
  [[noreturn]] void fail(const nlohmann::json& at, const std::string& problem) const;
  // The same for a byte offset found by other means (top_level_members()).
  [[noreturn]] void fail_at_offset(size_t offset, const std::string& what, const std::string& problem) const;

  // The members of the top-level object in file order with the byte offset of each key, duplicates
  // included (the parsed object keeps only the last value of a duplicate key and sorts the keys).
  std::vector<std::pair<std::string, size_t>> top_level_members() const;

 private:
  std::string where(size_t offset) const;

  std::string path_;
  std::string text_;
  size_t line_ = 0;  // 0 for whole files
  nlohmann::json root_;
};

// A value inside a JsonDocument. Accessors check the type and fail with the location.
class JsonRef {
 public:
  JsonRef(const JsonDocument& doc, const nlohmann::json& value) : doc_(&doc), value_(&value) {}

  const nlohmann::json& json() const { return *value_; }
  [[noreturn]] void fail(const std::string& problem) const { doc_->fail(*value_, problem); }

  JsonRef member(const char* key) const;                  // required: fails when absent
  std::optional<JsonRef> find(const char* key) const;     // absent -> nullopt (null counts as present)
  size_t size() const;                                    // of an array; fails otherwise
  JsonRef element(size_t i) const;                        // of an array
  void expect_object() const;

  std::string string() const;                 // a JSON string
  int64_t integer() const;                    // a JSON integer (not 1.0, not true)
  bool boolean() const;
  std::string id_text() const;                // an integer as decimal text, or a non-empty string
  std::vector<std::string> string_list() const;

 private:
  [[noreturn]] void wrong_type(const char* expected) const;

  const JsonDocument* doc_;
  const nlohmann::json* value_;
};

}  // namespace pb::detail
