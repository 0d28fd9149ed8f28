// FileLock: one holder at a time, a clear error naming the holder, and no stale lock after the
// holder dies (SIGKILL included).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "core/error.h"
#include "io/file_lock.h"
#include "io_test_util.h"

namespace pb::test {

TEST_CASE("file lock: a second holder is refused with the first holder's pid, then admitted", "[io][lock]") {
  const TempDir dir;
  const std::string path = dir.file("journal.jsonl");
  {
    const FileLock first(path, "run folder X");
    try {
      const FileLock second(path, "run folder X");
      FAIL("the second lock was granted");
    } catch (const Error& e) {
      const std::string what = e.what();
      CHECK(what.find("run folder X: another prune-bench process (pid " + std::to_string(::getpid()) + ")") == 0);
    }
  }
  CHECK_NOTHROW(FileLock(path, "run folder X"));  // released with its holder
}

TEST_CASE("file lock: a holder killed with SIGKILL leaves no stale lock", "[io][lock]") {
  const TempDir dir;
  const std::string path = dir.file("journal.jsonl");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const FileLock held(path, "child");
    const char byte = 1;
    [[maybe_unused]] const ssize_t w = ::write(ready[1], &byte, 1);
    ::pause();  // until killed
    ::_exit(0);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  CHECK_THROWS_WITH(FileLock(path, "parent"), Catch::Contains("(pid " + std::to_string(child) + ")"));
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK_NOTHROW(FileLock(path, "parent"));
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace pb::test
