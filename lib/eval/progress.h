// Progress on stderr: a one-line bar on a terminal (done/total, samples/s, ETA, running accuracy,
// mean visual tokens), a plain log line every N samples otherwise, nothing with --quiet.
#pragma once

#include <chrono>
#include <cstdint>

namespace pb {

class Progress {
 public:
  Progress(int64_t total, int64_t already_done, bool quiet, int log_every);
  void update(bool scored, double score, double visual_tokens);  // after each finished sample
  void finish();

 private:
  void print(bool final);
  int64_t total_, done_, started_with_;
  bool quiet_, tty_;
  int log_every_;
  double score_sum_ = 0, visual_sum_ = 0;
  int64_t scored_ = 0, finished_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace pb
