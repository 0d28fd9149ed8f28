// The per-sample journal of a run: JSON Lines, one finished sample per line, each line flushed and
// fsync'ed before the next sample starts, so a run killed at any moment loses at most the sample in
// flight and can resume by skipping the keys already present.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace pb {

struct JournalContents {
  std::vector<nlohmann::json> records;  // complete lines, in file order (a re-run key keeps its last record)
  size_t torn_bytes = 0;                // bytes of a truncated last line that were dropped
};

// Reads a journal; a missing file is empty. A last line without its newline (a crash mid-write) is
// dropped and reported in torn_bytes; any other malformed line is an error naming the file and line.
JournalContents read_journal(const std::string& path);

// Makes a journal readable again after corruption that is not a torn last line (a line that is not a
// JSON object with a string "key", e.g. from a disk or copy fault): the original is kept beside it as
// `<path>.corrupt-<N>`, and the journal is rewritten atomically with its good lines only, so the bad
// lines' samples simply run again. Returns the bad line numbers (1-based; empty when nothing was
// wrong, and then nothing is touched). Call it only while holding the run folder's lock.
std::vector<size_t> repair_journal(const std::string& path, std::string* backup_path = nullptr);

// Every record of every journal*.jsonl in a run folder (all shards), files in name order, so a key's
// last record is its latest (summary.h latest_records). A missing folder has none.
std::vector<nlohmann::json> read_run_journals(const std::string& folder);

// Test seam for a full disk: when this environment variable holds N, a JournalWriter fails with ENOSPC
// once N bytes have been appended through it, leaving the failing line torn as a real full disk would.
inline constexpr const char* kJournalFaultEnv = "PB_FAULT_JOURNAL_ENOSPC_AFTER";

class JournalWriter {
 public:
  // Opens `path` for appending. If the file ends in a torn line, it is truncated back to the last
  // complete line first, so the sample in flight is simply run again.
  explicit JournalWriter(const std::string& path);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void append(const nlohmann::json& record);  // one line, then fflush + fsync; pb::Error on failure

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t written_ = 0;             // bytes appended through this writer
  int64_t fault_after_bytes_ = -1;  // kJournalFaultEnv, or -1
};

}  // namespace pb
