#include "eval/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

namespace pb {

Progress::Progress(int64_t total, int64_t already_done, bool quiet, int log_every)
    : total_(total),
      done_(already_done),
      started_with_(already_done),
      quiet_(quiet),
      tty_(::isatty(STDERR_FILENO) != 0),
      log_every_(log_every > 0 ? log_every : 50),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(bool scored, double score, double visual_tokens) {
  ++done_;
  ++finished_;
  visual_sum_ += visual_tokens;
  if (scored) {
    ++scored_;
    score_sum_ += score;
  }
  const auto now = std::chrono::steady_clock::now();
  // Redraw the bar at most 10 times a second.
  if (tty_ ? now - last_draw_ > std::chrono::milliseconds(100) : finished_ % log_every_ == 0) {
    last_draw_ = now;
    print(false);
  }
}

void Progress::finish() { print(true); }

void Progress::print(bool final) {
  if (quiet_ || finished_ == 0) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = static_cast<double>(done_ - started_with_) / std::max(elapsed, 1e-9);
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0;
  const std::string accuracy = scored_ > 0 ? fmt::format("{:.2f}", 100.0 * score_sum_ / static_cast<double>(scored_)) : "-";
  const double visual = visual_sum_ / static_cast<double>(finished_);
  if (tty_) {
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * done_ / total_) : width;
    fmt::print(stderr, "\r[{}{}] {}/{} {:.2f} samples/s ETA {:.0f}s acc {} visual {:.0f}{}",
               std::string(static_cast<size_t>(filled), '#'), std::string(static_cast<size_t>(width - filled), '.'),
               done_, total_, rate, eta, accuracy, visual, final ? "\n" : "");
  } else {
    fmt::print(stderr, "progress: {}/{} samples, {:.2f} samples/s, ETA {:.0f} s, accuracy {}, mean visual tokens {:.1f}\n",
               done_, total_, rate, eta, accuracy, visual);
  }
  std::fflush(stderr);
}

}  // namespace pb
