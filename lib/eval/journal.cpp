#include "eval/journal.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "io/atomic_file.h"

namespace pb {

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("{}: cannot read ({})", path, std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

JournalContents read_journal(const std::string& path) {
  JournalContents out;
  if (!std::filesystem::exists(path)) {
    return out;
  }
  const std::string text = read_all(path);
  size_t begin = 0, line = 1;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    if (end == std::string::npos) {
      out.torn_bytes = text.size() - begin;  // the last write did not finish
      break;
    }
    try {
      out.records.push_back(nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(begin),
                                                  text.begin() + static_cast<std::ptrdiff_t>(end)));
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: line {} is not valid JSON: {}", path, line, e.what()));
    }
    begin = end + 1;
    ++line;
  }
  return out;
}

std::vector<size_t> repair_journal(const std::string& path, std::string* backup_path) {
  std::vector<size_t> bad;
  if (!std::filesystem::exists(path)) return bad;
  const std::string text = read_all(path);
  std::string good;
  size_t begin = 0, line = 1;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    if (end == std::string::npos) {
      good.append(text, begin, std::string::npos);  // a torn last line is JournalWriter's to truncate
      break;
    }
    const std::string one = text.substr(begin, end - begin);
    const nlohmann::json j = nlohmann::json::parse(one, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("key") && j["key"].is_string()) {
      good += one + "\n";
    } else {
      bad.push_back(line);
    }
    begin = end + 1;
    ++line;
  }
  if (bad.empty()) return bad;
  std::string backup;
  for (int n = 1;; ++n) {
    backup = fmt::format("{}.corrupt-{}", path, n);
    if (!std::filesystem::exists(backup)) break;
  }
  std::filesystem::copy_file(path, backup);
  write_file_atomic(path, good);
  if (backup_path != nullptr) *backup_path = backup;
  return bad;
}

std::vector<nlohmann::json> read_run_journals(const std::string& folder) {
  std::vector<std::filesystem::path> journals;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("journal", 0) == 0 && entry.path().extension() == ".jsonl") journals.push_back(entry.path());
  }
  std::sort(journals.begin(), journals.end());  // shard order; a key's last record wins
  std::vector<nlohmann::json> records;
  for (const auto& j : journals) {
    for (nlohmann::json& r : read_journal(j.string()).records) records.push_back(std::move(r));
  }
  return records;
}

JournalWriter::JournalWriter(const std::string& path) : path_(path) {
  const JournalContents existing = read_journal(path);
  if (existing.torn_bytes > 0) {
    const auto size = std::filesystem::file_size(path);
    std::filesystem::resize_file(path, size - existing.torn_bytes);
  }
  file_ = std::fopen(path.c_str(), "ab");
  if (file_ == nullptr) {
    throw Error(fmt::format("{}: cannot open the journal for appending ({})", path, std::strerror(errno)));
  }
  if (const char* fault = std::getenv(kJournalFaultEnv); fault != nullptr && *fault != '\0') {
    char* end = nullptr;
    fault_after_bytes_ = std::strtoll(fault, &end, 10);
    if (*end != '\0' || fault_after_bytes_ < 0) {
      throw Error(fmt::format("{}={}: not a byte count", kJournalFaultEnv, fault));
    }
  }
}

JournalWriter::~JournalWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
  }
}

void JournalWriter::append(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  if (fault_after_bytes_ >= 0 && written_ + static_cast<int64_t>(line.size()) > fault_after_bytes_) {
    // The fault seam: the disk "fills" part-way through this line, as a real ENOSPC would leave it.
    const auto room = static_cast<size_t>(fault_after_bytes_ - written_);
    std::fwrite(line.data(), 1, room, file_);
    std::fflush(file_);
    written_ = fault_after_bytes_;
    errno = ENOSPC;
    throw Error(fmt::format("{}: cannot write the journal ({}); finished samples are kept, re-run to resume",
                            path_, std::strerror(errno)));
  }
  written_ += static_cast<int64_t>(line.size());
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0 ||
      ::fsync(::fileno(file_)) != 0) {
    throw Error(fmt::format("{}: cannot write the journal ({}); finished samples are kept, re-run to resume",
                            path_, std::strerror(errno)));
  }
}

}  // namespace pb
