// An exclusive advisory lock held for as long as the object lives: two prune-bench processes must
// never append to the same journal (their lines would interleave and a resume would double-count).
// flock(2) on a companion "<path>.lock" file: the kernel drops it when the holder exits for any
// reason, SIGKILL included, so a crashed run never leaves a stale lock behind.
#pragma once

#include <string>

namespace pb {

class FileLock {
 public:
  // Takes the lock on `path` + ".lock" without waiting. pb::Error naming `path` and the holder's pid
  // (as it recorded it in the lock file) when another process holds it; `what` says what is locked,
  // e.g. "run folder results/x (journal.jsonl)".
  FileLock(const std::string& path, const std::string& what);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace pb
