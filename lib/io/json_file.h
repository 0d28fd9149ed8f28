// Reading JSON files (configs, shard indexes) with errors that name the file and the byte offset.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace pb {

// Parses the whole file. pb::Error "<path>: cannot read ..." when it cannot be read and
// "<path>: invalid JSON at byte N (line L, column C): ..." (N counted from 0) when it does not parse.
// Duplicate keys keep the last value, as Python's json module does for config files.
nlohmann::json read_json_file(const std::string& path);

// The same for text already in memory; `source` names it in messages.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);

}  // namespace pb
