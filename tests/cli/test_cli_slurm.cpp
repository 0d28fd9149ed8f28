// `sweep --emit-slurm` against a real single-node Slurm that the test starts (tests/slurm/cluster.sh)
// and stops: the array's merged results equal a local sweep's, and a lost shard is found by the
// finishing step and resubmitted alone. Skipped (with a warning) without root or slurm-wlm + munge.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "run_fixtures.h"
#include "run_results.h"
#include "test_paths.h"

namespace pb::test {
namespace {

struct Shell {
  int status = -1;
  std::string out;
};

Shell shell(const std::string& cmd) {
  Shell r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool slurm_available() {
  return ::geteuid() == 0 && fs::exists("/usr/sbin/slurmctld") && fs::exists("/usr/sbin/slurmd") &&
         fs::exists("/usr/sbin/munged") && fs::exists("/usr/bin/sbatch");
}

void wait_for_empty_queue(const std::string& env) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(15);
  while (std::chrono::steady_clock::now() < deadline) {
    const Shell q = shell(env + " squeue -h -o %i");
    REQUIRE(q.status == 0);
    if (q.out.empty()) return;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  FAIL("Slurm jobs still queued after 15 minutes");
}

void require_equal_sweeps(const fs::path& a, const fs::path& b) {
  int points = 0;
  for (const auto& entry : fs::directory_iterator(a / "points")) {
    INFO(entry.path().filename());
    require_equal_results(entry.path(), b / "points" / entry.path().filename());
    ++points;
  }
  CHECK(points == 10);  // tests/data/regression/sweep.json
}

}  // namespace

TEST_CASE("sweep on a real Slurm array equals a local sweep; a lost shard is resubmitted alone", "[cli][slurm]") {
  if (!slurm_available()) {
    WARN("skipped: needs root and Debian's slurm-wlm and munge (scripts/setup.sh installs them)");
    return;
  }
  const fs::path dir = temp_dir("slurm");
  const std::string src = shell_quote(PB_SOURCE_DIR);
  const std::string cluster = src + "/tests/slurm/cluster.sh";
  const Shell started = shell(cluster + " start " + shell_quote((dir / "cluster").string()));
  struct Stop {
    std::string cmd;
    ~Stop() { [[maybe_unused]] const int rc = std::system(cmd.c_str()); }
  } stop{cluster + " stop " + shell_quote((dir / "cluster").string())};
  REQUIRE(started.status == 0);
  const std::string env = "SLURM_CONF=" + shell_quote((dir / "cluster" / "slurm.conf").string());
  const std::string in_repo = "cd " + src + " &&";
  const std::string sweep = "sweep --config tests/data/regression/sweep.json --quiet --out ";

  const CliResult local = run_cli_with_prefix(in_repo, sweep + shell_quote((dir / "local").string()));
  INFO(local.err);
  REQUIRE(local.exit_code == 0);

  const std::string job = (dir / "job.sh").string();
  const CliResult emitted = run_cli_with_prefix(
      in_repo, sweep + shell_quote((dir / "slurm").string()) + " --emit-slurm " + shell_quote(job) +
                   " --array-tasks 2 --cpus-per-task 1 --time 00:20:00");
  INFO(emitted.err);
  REQUIRE(emitted.exit_code == 0);
  const Shell submitted = shell(in_repo + " " + env + " bash " + shell_quote(job) + " 2>&1");
  INFO(submitted.out);
  REQUIRE(submitted.status == 0);
  wait_for_empty_queue(env);
  CHECK(fs::exists(dir / "slurm" / "report" / "report.md"));  // the finishing job ran
  require_equal_sweeps(dir / "local", dir / "slurm");

  // Lose the last point (shard 1 of 2): the finishing step names only that shard to resubmit.
  fs::remove_all(dir / "slurm" / "points" / "tiny-text_vqav2_random_tokens-36");
  const Shell finish = shell(in_repo + " " + env + " bash " + shell_quote(job) + " --finish 2>&1");
  CHECK(finish.status == 1);
  CHECK(finish.out.find("sbatch --array=1 ") != std::string::npos);
  REQUIRE(shell(in_repo + " " + env + " sbatch --array=1 " + shell_quote(job)).status == 0);
  wait_for_empty_queue(env);
  CHECK(shell(in_repo + " " + env + " bash " + shell_quote(job) + " --finish > /dev/null 2>&1").status == 0);
  require_equal_sweeps(dir / "local", dir / "slurm");
}

}  // namespace pb::test
