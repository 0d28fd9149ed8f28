// One decoder layer's prefill time at a given row count, composed over a per-layer schedule of
// visual tokens: all layers of a LLaMA decoder have the same shape, so a full-depth prefill is the
// sum of single-layer times without holding every layer in memory. Shared by the benchmarks.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <vector>

#include "flops/flops.h"
#include "flops/schedule.h"
#include "models/llama.h"

namespace pb::bench {

// Best of `reps` runs after one warm-up (oneDNN primitive creation), in milliseconds.
inline double best_ms(int reps, const std::function<void()>& fn) {
  fn();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

class LayerTimer {
 public:
  // `decoder` holds `built_layers` layers of the shape in `text`; `text_tokens` rows surround the image.
  LayerTimer(const LlamaModel& decoder, const TextConfig& text, int64_t built_layers, int64_t text_tokens,
             c10::ScalarType dtype, int reps)
      : decoder_(decoder), text_(text), built_(built_layers), text_tokens_(text_tokens), dtype_(dtype), reps_(reps) {}

  // One layer's prefill at `rows` rows (the built layers' mean; cached per row count).
  double layer_ms(int64_t rows) {
    const auto found = cache_.find(rows);
    if (found != cache_.end()) return found->second;
    const at::Tensor hidden = at::randn({rows, text_.hidden_size}).to(dtype_);  // [rows, D]
    const double ms = best_ms(reps_, [&] {
      SequenceState state;
      KvCache cache = decoder_->make_cache(rows + 1);
      state.hidden = hidden;
      state.positions = at::arange(rows, at::kLong);
      state.origin = state.positions;
      state.cache = &cache;
      decoder_->run_layers(state, nullptr, nullptr);
    });
    return cache_[rows] = ms / static_cast<double>(built_);
  }

  // The prefill over `schedule`. A layer that drops rows after its attention (FitPrune) runs Q/K/V +
  // attention at `in` rows and o_proj + MLP at `after_attn` rows: its time is composed from the two
  // full-layer times, split by the exact FLOPs share of each half.
  double composed_ms(const std::vector<LayerTokens>& schedule) {
    double total = 0;
    for (const LayerTokens& v : schedule) {
      const int64_t rows_in = text_tokens_ + v.in, rows_out = text_tokens_ + v.after_attn;
      if (rows_in == rows_out) {
        total += layer_ms(rows_in);
        continue;
      }
      auto attention_share = [&](int64_t rows) {
        const DecoderLayerMacs m = decoder_layer_macs(text_, rows, rows, rows, 3);
        return (m.qkv + m.attention) / m.total();
      };
      total += layer_ms(rows_in) * attention_share(rows_in) + layer_ms(rows_out) * (1 - attention_share(rows_out));
    }
    return total;
  }

 private:
  LlamaModel decoder_;
  TextConfig text_;
  int64_t built_, text_tokens_;
  c10::ScalarType dtype_;
  int reps_;
  std::map<int64_t, double> cache_;
};

}  // namespace pb::bench
