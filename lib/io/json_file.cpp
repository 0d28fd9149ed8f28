#include "io/json_file.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace pb {

nlohmann::json parse_json_text(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's e.byte is 1-based (the position of the offending character); report 0-based
    // offsets like a hex dump would show them, plus line and column for editors.
    const size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
    std::string detail = e.what();
    if (const size_t colon = detail.find(": "); colon != std::string::npos) detail = detail.substr(colon + 2);
    throw Error(fmt::format("{}: invalid JSON at byte {} (line {}, column {}): {}", source, offset, line, column,
                            detail));
  } catch (const nlohmann::json::out_of_range& e) {
    // A number too large for a double (e.g. 1e999): nlohmann reports it as out_of_range 406, without
    // a position (found by tests/fuzz).
    std::string detail = e.what();
    if (const size_t space = detail.find("] "); space != std::string::npos) detail = detail.substr(space + 2);
    throw Error(fmt::format("{}: invalid JSON: {}", source, detail));
  }
}

nlohmann::json read_json_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("{}: is a folder, expected a JSON file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("{}: read failed", path));
  return parse_json_text(buffer.str(), path);
}

}  // namespace pb
