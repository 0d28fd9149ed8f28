// Located JSON access for the dataset loaders. nlohmann::json keeps no source positions, so a
// failure finds the value's path in the parsed tree and then walks the raw text along that path to
// recover the byte offset; all of that runs only when something is wrong.
#include "datasets/json_source.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "io/json_file.h"

namespace pb::detail {
namespace {

using nlohmann::json;

struct Step {
  bool is_key;
  std::string key;
  size_t index;
};

bool find_path(const json& node, const json* target, std::vector<Step>& out) {
  if (&node == target) return true;
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      out.push_back({true, it.key(), 0});
      if (find_path(it.value(), target, out)) return true;
      out.pop_back();
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      out.push_back({false, {}, i});
      if (find_path(node[i], target, out)) return true;
      out.pop_back();
    }
  }
  return false;
}

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string path_text(const std::vector<Step>& steps) {
  if (steps.empty()) return "top level";
  std::string out;
  for (const Step& s : steps) {
    if (!s.is_key) {
      out += fmt::format("[{}]", s.index);
    } else if (is_identifier(s.key)) {
      out += (out.empty() ? "" : ".") + s.key;
    } else {
      out += "[" + json(s.key).dump() + "]";
    }
  }
  return out;
}

// --- a minimal scanner over text that is known to be valid JSON ---

size_t skip_ws(const std::string& t, size_t p) {
  while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) ++p;
  return p;
}

// p at the opening quote; returns the position after the closing quote.
size_t skip_string(const std::string& t, size_t p) {
  for (++p; p < t.size(); ++p) {
    if (t[p] == '\\') {
      ++p;
    } else if (t[p] == '"') {
      return p + 1;
    }
  }
  return t.size();
}

size_t skip_value(const std::string& t, size_t p) {
  if (p >= t.size()) return p;
  if (t[p] == '"') return skip_string(t, p);
  if (t[p] == '{' || t[p] == '[') {
    int depth = 0;
    while (p < t.size()) {
      const char c = t[p];
      if (c == '"') {
        p = skip_string(t, p);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return p + 1;
      }
      ++p;
    }
    return p;
  }
  while (p < t.size() && t[p] != ',' && t[p] != '}' && t[p] != ']' && t[p] != ' ' && t[p] != '\n' &&
         t[p] != '\r' && t[p] != '\t') {
    ++p;
  }
  return p;
}

std::string decode_key(const std::string& t, size_t begin, size_t end) {
  const std::string raw = t.substr(begin, end - begin);  // with the quotes
  if (raw.find('\\') == std::string::npos) return raw.substr(1, raw.size() - 2);
  return json::parse(raw).get<std::string>();
}

// Calls f(key, key_offset, value_offset) for each member of the object starting at p; false when
// the text at p is not an object.
template <typename F>
bool for_each_member(const std::string& t, size_t p, F&& f) {
  if (p >= t.size() || t[p] != '{') return false;
  p = skip_ws(t, p + 1);
  while (p < t.size() && t[p] == '"') {
    const size_t key_end = skip_string(t, p);
    const std::string key = decode_key(t, p, key_end);
    size_t v = skip_ws(t, key_end);
    if (v >= t.size() || t[v] != ':') return true;
    v = skip_ws(t, v + 1);
    f(key, p, v);
    p = skip_ws(t, skip_value(t, v));
    if (p < t.size() && t[p] == ',') p = skip_ws(t, p + 1);
  }
  return true;
}

// Byte offset of the value at `steps`. A duplicate key resolves to its last occurrence, the one
// nlohmann::json keeps.
std::optional<size_t> locate(const std::string& t, const std::vector<Step>& steps) {
  size_t p = skip_ws(t, 0);
  for (const Step& s : steps) {
    if (s.is_key) {
      std::optional<size_t> found;
      const bool object = for_each_member(t, p, [&](const std::string& key, size_t, size_t value) {
        if (key == s.key) found = value;
      });
      if (!object || !found) return std::nullopt;
      p = *found;
    } else {
      if (p >= t.size() || t[p] != '[') return std::nullopt;
      p = skip_ws(t, p + 1);
      for (size_t k = 0; k < s.index; ++k) {
        p = skip_ws(t, skip_value(t, p));
        if (p >= t.size() || t[p] != ',') return std::nullopt;
        p = skip_ws(t, p + 1);
      }
      if (p >= t.size() || t[p] == ']') return std::nullopt;
    }
  }
  return p;
}

std::string show(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("{}: is a folder, expected a file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("{}: read failed", path));
  return buffer.str();
}

JsonDocument::JsonDocument(const std::string& path) : path_(path), text_(read_text_file(path)) {
  root_ = parse_json_text(text_, path_);
}

JsonDocument::JsonDocument(std::string text, const std::string& path, size_t line)
    : path_(path), text_(std::move(text)), line_(line) {
  try {
    root_ = json::parse(text_);
  } catch (const json::parse_error& e) {
    // Same wording as io/json_file.h, with the column inside the line instead of a file offset.
    std::string detail = e.what();
    if (const size_t colon = detail.find(": "); colon != std::string::npos) detail = detail.substr(colon + 2);
    throw Error(fmt::format("{}: line {}, column {}: invalid JSON: {}", path_, line_, e.byte == 0 ? 1 : e.byte,
                            detail));
  } catch (const json::out_of_range& e) {  // a number too large for a double (tests/fuzz)
    std::string detail = e.what();
    if (const size_t space = detail.find("] "); space != std::string::npos) detail = detail.substr(space + 2);
    throw Error(fmt::format("{}: line {}: invalid JSON: {}", path_, line_, detail));
  }
}

JsonRef JsonDocument::root() const { return JsonRef(*this, root_); }

std::string JsonDocument::where(size_t offset) const {
  if (line_ > 0) return fmt::format("{}: line {}, column {}", path_, line_, offset + 1);
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text_.size(); ++i) {
    if (text_[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("{}: byte {} (line {}, column {})", path_, offset, line, column);
}

void JsonDocument::fail(const json& at, const std::string& problem) const {
  std::vector<Step> steps;
  if (!find_path(root_, &at, steps)) {
    throw Error(fmt::format("{}{}: {}", path_, line_ > 0 ? fmt::format(": line {}", line_) : "", problem));
  }
  const std::optional<size_t> offset = locate(text_, steps);
  const std::string place =
      offset ? where(*offset) : (line_ > 0 ? fmt::format("{}: line {}", path_, line_) : path_);
  throw Error(fmt::format("{}: {}: {}", place, path_text(steps), problem));
}

void JsonDocument::fail_at_offset(size_t offset, const std::string& what, const std::string& problem) const {
  throw Error(fmt::format("{}: {}: {}", where(offset), what, problem));
}

std::vector<std::pair<std::string, size_t>> JsonDocument::top_level_members() const {
  std::vector<std::pair<std::string, size_t>> out;
  for_each_member(text_, skip_ws(text_, 0),
                  [&](const std::string& key, size_t key_offset, size_t) { out.emplace_back(key, key_offset); });
  return out;
}

// --- JsonRef ---

void JsonRef::wrong_type(const char* expected) const {
  fail(fmt::format("expected {}, got {}", expected, show(*value_)));
}

void JsonRef::expect_object() const {
  if (!value_->is_object()) wrong_type("an object");
}

JsonRef JsonRef::member(const char* key) const {
  expect_object();
  const auto it = value_->find(key);
  if (it == value_->end()) fail(fmt::format("missing field '{}'", key));
  return JsonRef(*doc_, *it);
}

std::optional<JsonRef> JsonRef::find(const char* key) const {
  expect_object();
  const auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  return JsonRef(*doc_, *it);
}

size_t JsonRef::size() const {
  if (!value_->is_array()) wrong_type("an array");
  return value_->size();
}

JsonRef JsonRef::element(size_t i) const {
  if (!value_->is_array()) wrong_type("an array");
  return JsonRef(*doc_, (*value_)[i]);
}

std::string JsonRef::string() const {
  if (!value_->is_string()) wrong_type("a string");
  return value_->get<std::string>();
}

int64_t JsonRef::integer() const {
  if (value_->is_number_unsigned()) {
    if (value_->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) fail(fmt::format("{} is too large", show(*value_)));
    return static_cast<int64_t>(value_->get<uint64_t>());
  }
  if (!value_->is_number_integer()) wrong_type("an integer");
  return value_->get<int64_t>();
}

bool JsonRef::boolean() const {
  if (!value_->is_boolean()) wrong_type("true or false");
  return value_->get<bool>();
}

std::string JsonRef::id_text() const {
  if (value_->is_number_integer()) return std::to_string(integer());
  if (value_->is_string() && !value_->get_ref<const std::string&>().empty()) return value_->get<std::string>();
  wrong_type("an id (an integer or a non-empty string)");
}

std::vector<std::string> JsonRef::string_list() const {
  const size_t n = size();
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(element(i).string());
  return out;
}

}  // namespace pb::detail
