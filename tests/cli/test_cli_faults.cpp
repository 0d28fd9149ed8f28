// The fault matrix of a run (issue 10): SIGKILL at random moments, SIGTERM, a full disk, a corrupt
// journal line and a concurrent writer. Each asserts that no finished sample is lost and that the
// final result equals an uninterrupted run's.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "eval/journal.h"
#include "io/file_lock.h"
#include "run_fixtures.h"
#include "run_results.h"
#include "test_paths.h"

namespace pb::test {
namespace {

// Keys of the journal's finished ("ok") records.
std::set<std::string> finished_keys(const fs::path& folder) {
  std::set<std::string> keys;
  const fs::path journal = folder / "journal.jsonl";
  if (!fs::exists(journal)) return keys;
  for (const auto& r : read_journal(journal.string()).records) {
    if (r.value("status", "") == "ok") keys.insert(r["key"].get<std::string>());
  }
  return keys;
}

// Interrupts `run` with `signal` after each of `delays` seconds in turn on one folder, checking after
// every interruption that each sample finished before it is still there; then lets it finish.
void interrupt_repeatedly(const std::string& spec, const fs::path& out, const char* signal,
                          const std::vector<double>& delays) {
  std::set<std::string> before;
  for (const double delay : delays) {
    char prefix[64];
    std::snprintf(prefix, sizeof(prefix), "timeout -s %s %.2f", signal, delay);
    run_cli_with_prefix(prefix, run_args(spec, out));
    const std::set<std::string> after = finished_keys(out);
    INFO(signal << " after " << delay << " s");
    CHECK(std::includes(after.begin(), after.end(), before.begin(), before.end()));  // nothing lost
    before = after;
  }
  const CliResult last = run_cli(run_args(spec, out));
  INFO(last.err);
  REQUIRE(last.exit_code == 0);
}

}  // namespace

TEST_CASE("run faults: SIGKILL at 20 random moments, then a resume, equals the uninterrupted run", "[cli][faults]") {
  const fs::path dir = temp_dir("faults_kill");
  const std::string spec = write_vqav2_fixture(dir / "data", 10);
  REQUIRE(run_cli(run_args(spec, dir / "reference")).exit_code == 0);
  std::mt19937 rng(20261122);  // fixed seed: the same moments on every CI run
  std::uniform_real_distribution<double> moment(0.05, 2.0);
  std::vector<double> delays(20);
  for (double& d : delays) d = moment(rng);
  interrupt_repeatedly(spec, dir / "out", "KILL", delays);
  require_equal_results(dir / "reference", dir / "out");
}

TEST_CASE("run faults: SIGTERM mid-run, then a resume, equals the uninterrupted run", "[cli][faults]") {
  const fs::path dir = temp_dir("faults_term");
  const std::string spec = write_vqav2_fixture(dir / "data", 10);
  REQUIRE(run_cli(run_args(spec, dir / "reference")).exit_code == 0);
  interrupt_repeatedly(spec, dir / "out", "TERM", {0.6, 1.1, 1.7});
  require_equal_results(dir / "reference", dir / "out");
}

TEST_CASE("run faults: a corrupt journal line is set aside, its sample re-run, the rest kept", "[cli][faults]") {
  const fs::path dir = temp_dir("faults_corrupt");
  const std::string spec = write_vqav2_fixture(dir / "data", 6);
  REQUIRE(run_cli(run_args(spec, dir / "reference")).exit_code == 0);
  REQUIRE(run_cli(run_args(spec, dir / "out")).exit_code == 0);
  // Line 3 of 6 becomes garbage of the same length, as a disk or copy fault would leave it.
  const fs::path journal = dir / "out" / "journal.jsonl";
  std::vector<std::string> lines;
  {
    std::istringstream in(read_text(journal));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  REQUIRE(lines.size() == 6);
  const std::string original = read_text(journal);
  lines[2] = std::string(lines[2].size(), '#');
  {
    std::ofstream out(journal, std::ios::trunc);
    for (const std::string& line : lines) out << line << "\n";
  }
  const CliResult r = run_cli(run_args(spec, dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("1 line(s) were not journal records (first: line 3)") != std::string::npos);
  CHECK(fs::exists(journal.string() + ".corrupt-1"));  // the evidence is kept
  require_equal_results(dir / "reference", dir / "out");
}

TEST_CASE("run faults: two writers started together on one folder; one is refused, the result is whole",
          "[cli][faults]") {
  const fs::path dir = temp_dir("faults_concurrent");
  const std::string spec = write_vqav2_fixture(dir / "data", 6);
  REQUIRE(run_cli(run_args(spec, dir / "reference")).exit_code == 0);
  fs::create_directories(dir / "out");
  // Both in one shell line, in the background, so they really overlap.
  const std::string cmd = run_args(spec, dir / "out");
  const std::string both = std::string(PB_CLI_PATH) + " " + cmd + " > " + (dir / "a.err").string() + " 2>&1 & " +
                           std::string(PB_CLI_PATH) + " " + cmd + " > " + (dir / "b.err").string() + " 2>&1; wait";
  REQUIRE(std::system(both.c_str()) == 0);
  const std::string errors = read_text(dir / "a.err") + read_text(dir / "b.err");
  INFO(errors);
  // Either they overlapped (one refused by the lock) or one finished before the other began (which
  // then found nothing to do): never interleaved lines.
  const CliResult again = run_cli(run_args(spec, dir / "out"));
  REQUIRE(again.exit_code == 0);
  require_equal_results(dir / "reference", dir / "out");
  CHECK(read_journal((dir / "out" / "journal.jsonl").string()).records.size() == 6);
}

TEST_CASE("run: a second process on the same run folder is refused while the first holds it", "[cli][run]") {
  const fs::path dir = temp_dir("run_locked");
  const std::string spec = write_vqav2_fixture(dir / "data", 2);
  fs::create_directories(dir / "out");
  {
    // This test process plays the first writer: it holds the journal's lock as `run` does.
    const FileLock first((dir / "out" / "journal.jsonl").string(), "test");
    const CliResult r = run_cli(run_args(spec, dir / "out"));
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("another prune-bench process (pid " + std::to_string(::getpid()) + ")") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one line
    CHECK_FALSE(fs::exists(dir / "out" / "journal.jsonl"));  // nothing written
  }
  const CliResult after = run_cli(run_args(spec, dir / "out"));  // the lock died with its holder
  INFO(after.err);
  CHECK(after.exit_code == 0);
}

TEST_CASE("run: a full disk mid-run is a one-line error, finished samples survive and a re-run completes",
          "[cli][run]") {
  const fs::path dir = temp_dir("run_enospc");
  const std::string spec = write_vqav2_fixture(dir / "data", 8);
  REQUIRE(run_cli(run_args(spec, dir / "reference")).exit_code == 0);
  // The disk fills half-way through the 4th journal line (sized from the reference run's lines, which
  // differ from this run's only in a few timing digits).
  std::istringstream lines(read_text(dir / "reference" / "journal.jsonl"));
  std::string line;
  size_t three_lines = 0;
  for (int i = 0; i < 3 && std::getline(lines, line); ++i) three_lines += line.size() + 1;
  REQUIRE(std::getline(lines, line));
  const std::string fault =
      "env " + std::string(kJournalFaultEnv) + "=" + std::to_string(three_lines + line.size() / 2);
  const CliResult full = run_cli_with_prefix(fault, run_args(spec, dir / "out"));
  CHECK(full.exit_code == 1);
  CHECK(full.err.find("No space left on device") != std::string::npos);
  CHECK(std::count(full.err.begin(), full.err.end(), '\n') == 1);
  const JournalContents kept = read_journal((dir / "out" / "journal.jsonl").string());
  CHECK(kept.records.size() == 3);
  CHECK(kept.torn_bytes > 0);  // the 4th line, torn
  const CliResult resumed = run_cli(run_args(spec, dir / "out"));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  require_equal_results(dir / "reference", dir / "out");
}

}  // namespace pb::test
