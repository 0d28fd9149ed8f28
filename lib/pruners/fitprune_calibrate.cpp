#include "pruners/fitprune_calibrate.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <numeric>

#include "core/error.h"
#include "pruners/fitprune.h"
#include "pruners/select.h"

namespace pb {

const char* fit_select_name(FitSelect s) { return s == FitSelect::kOfficial ? "official" : "smallest-reaching"; }

FitSelect fit_select_from_name(const std::string& name) {
  if (name == "official") return FitSelect::kOfficial;
  if (name == "smallest-reaching") return FitSelect::kSmallestReaching;
  throw Error(fmt::format("unknown fit-select rule '{}' (official, smallest-reaching)", name));
}

const char* never_break_name(NeverBreak n) { return n == NeverBreak::kReuse ? "reuse" : "largest"; }

NeverBreak never_break_from_name(const std::string& name) {
  if (name == "reuse") return NeverBreak::kReuse;
  if (name == "largest") return NeverBreak::kLargest;
  throw Error(fmt::format("unknown never-break rule '{}' (reuse, largest)", name));
}

std::vector<int64_t> fitprune_ascending(const std::vector<double>& mass) {
  std::vector<int64_t> order(mass.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&mass](int64_t a, int64_t b) {
    return mass[static_cast<size_t>(a)] < mass[static_cast<size_t>(b)];
  });
  return order;
}

namespace {

// remaining[i] = sum(mass) - (sum of the i smallest), i = 0..v.
std::vector<double> remaining_mass(const std::vector<double>& mass) {
  const std::vector<int64_t> order = fitprune_ascending(mass);
  const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
  std::vector<double> out{total};
  double removed = 0;
  for (const int64_t j : order) {
    removed += mass[static_cast<size_t>(j)];
    out.push_back(total - removed);
  }
  return out;
}

}  // namespace

std::optional<int64_t> fitprune_official_count(const std::vector<double>& mass, double floor) {
  const std::vector<double> remaining = remaining_mass(mass);
  // statistical_analysis.py: `for i in range(len(sorted))`, so i never reaches v.
  for (size_t i = 0; i < mass.size(); ++i) {
    if (remaining[i] < floor) return std::max<int64_t>(static_cast<int64_t>(i) - 1, 0);
  }
  return std::nullopt;
}

int64_t fitprune_largest_count(const std::vector<double>& mass, double floor) {
  const std::vector<double> remaining = remaining_mass(mass);
  for (size_t k = remaining.size(); k-- > 0;) {
    if (remaining[k] >= floor) return static_cast<int64_t>(k);
  }
  return 0;
}

std::vector<int64_t> fitprune_intersection(const std::vector<double>& cross, int64_t n_cross,
                                           const std::vector<double>& self, int64_t n_self) {
  PB_CHECK(cross.size() == self.size(), "fitprune: cross and self masses differ in length");
  const std::vector<int64_t> by_cross = fitprune_ascending(cross), by_self = fitprune_ascending(self);
  // Python slicing: a count beyond the length takes everything.
  const auto take = [](const std::vector<int64_t>& order, int64_t n) {
    std::vector<int64_t> s(order.begin(), order.begin() + std::min<int64_t>(n, static_cast<int64_t>(order.size())));
    std::sort(s.begin(), s.end());
    return s;
  };
  const std::vector<int64_t> a = take(by_cross, n_cross), b = take(by_self, n_self);
  std::vector<int64_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

namespace {

// The count of one mass under `rule`; reused counts come from `reuse` (see FitReuse).
int64_t layer_count(SampleFit& fit, const FitReuse& reuse, NeverBreak rule, int64_t layer,
                    const std::vector<double>& mass, double floor, bool is_cross) {
  std::vector<bool>& reused = is_cross ? fit.cross_reused : fit.self_reused;
  if (rule == NeverBreak::kLargest) {
    reused.push_back(false);
    return fitprune_largest_count(mass, floor);
  }
  const std::optional<int64_t> n = fitprune_official_count(mass, floor);
  reused.push_back(!n.has_value());
  if (n) return *n;
  const auto l = static_cast<size_t>(layer);
  if (reuse.previous_sample != nullptr) {
    return (is_cross ? reuse.previous_sample->cross_count : reuse.previous_sample->self_count).at(l);
  }
  if (layer == 0) {
    fit.unbound = true;  // Python: UnboundLocalError; fitprune_fit_alpha reports it if layer 0 counts
    return 0;
  }
  if (reuse.guess_cross == nullptr || reuse.guess_self == nullptr) {
    return (is_cross ? fit.cross_count : fit.self_count).at(l - 1);  // the only sample: itself at l - 1
  }
  // Checked after the pass; a wrong guess means another pass.
  return (is_cross ? *reuse.guess_cross : *reuse.guess_self).at(l).value_or(0);
}

}  // namespace

std::vector<int64_t> fitprune_fit_layer(SampleFit& fit, const FitReuse& reuse, NeverBreak rule, int64_t layer,
                                        const std::vector<double>& cross, const std::vector<double>& self,
                                        double floor_cross, double floor_self) {
  PB_CHECK(static_cast<int64_t>(fit.visual_in.size()) == layer, "fitprune: layers out of order");
  fit.visual_in.push_back(static_cast<int64_t>(cross.size()));
  // With no visual token left the script's loops run zero times: the counts are reused (and the
  // empty slices delete nothing).
  const int64_t n_cross = layer_count(fit, reuse, rule, layer, cross, floor_cross, true);
  const int64_t n_self = layer_count(fit, reuse, rule, layer, self, floor_self, false);
  fit.cross_count.push_back(n_cross);
  fit.self_count.push_back(n_self);
  std::vector<int64_t> gone = fitprune_intersection(cross, n_cross, self, n_self);
  fit.deleted.push_back(static_cast<int64_t>(gone.size()));
  return gone;
}

int64_t fitprune_stop_layer(const std::vector<SampleFit>& fits, int64_t layers, double fraction_removed,
                            const FitLayerCost& cost, double& mean_removed) {
  // Every term is an integer below 2^53 for real models, so these sums are exact, as the script's
  // Python ints are, and the comparison is the script's float comparison.
  const auto n = static_cast<double>(fits.size());
  double full = 0;
  for (size_t s = 0; s < fits.size(); ++s) {
    const int64_t v0 = fits[s].visual_in.at(0);
    full += static_cast<double>(layers) * cost(s, v0, v0);
  }
  const double target = full / n * (1.0 - fraction_removed);
  std::vector<double> used(fits.size(), 0.0);
  for (int64_t l = 0; l < layers; ++l) {
    const auto li = static_cast<size_t>(l);
    double total = 0;
    for (size_t s = 0; s < fits.size(); ++s) {
      const int64_t v = fits[s].visual_in.at(li);
      total += used[s] + static_cast<double>(layers - l) * cost(s, v, v);
    }
    if (total / n <= target) {
      mean_removed = 1.0 - total / full;
      return l;
    }
    for (size_t s = 0; s < fits.size(); ++s) {
      const int64_t v = fits[s].visual_in[li];
      used[s] += cost(s, v, v - fits[s].deleted.at(li));
    }
  }
  mean_removed = 1.0 - std::accumulate(used.begin(), used.end(), 0.0) / full;
  return -1;
}

AlphaTrial fitprune_fit_alpha(double alpha, size_t samples, int64_t layers, NeverBreak rule, double fraction_removed,
                              const FitLayerCost& cost, const FitSampleRun& run_sample) {
  const auto L = static_cast<size_t>(layers);
  std::vector<std::optional<int64_t>> guess_cross(L), guess_self(L);
  AlphaTrial trial;
  trial.alpha = alpha;
  for (trial.passes = 1;; ++trial.passes) {
    PB_CHECK(trial.passes <= layers + 2, "fitprune: reused counts did not settle");
    std::vector<SampleFit> fits;
    fits.reserve(samples);  // FitReuse points into it
    for (size_t s = 0; s < samples; ++s) {
      FitReuse reuse;
      if (s > 0) {
        reuse.previous_sample = &fits[s - 1];
      } else if (samples > 1) {
        reuse.guess_cross = &guess_cross;
        reuse.guess_self = &guess_self;
      }
      fits.push_back(run_sample(s, reuse));
      PB_CHECK(fits.back().deleted.size() == L, "fitprune: a sample run must cover every layer");
    }
    trial.stop_layer = fitprune_stop_layer(fits, layers, fraction_removed, cost, trial.mean_flops_removed);
    trial.reached = trial.stop_layer >= 0;
    const size_t counted = trial.reached ? static_cast<size_t>(trial.stop_layer) : L;
    // Sample 0 reuses sample n-1's counts of the previous layer, which a pass computes only after
    // sample 0. The guesses of a pass are right for at least one more layer than the last pass's,
    // and only layers before the stop count.
    bool settled = true;
    if (rule == NeverBreak::kReuse && samples > 1) {
      const SampleFit& last = fits.back();
      for (size_t l = 1; l < counted; ++l) {
        settled = settled && (!fits[0].cross_reused[l] || guess_cross[l] == last.cross_count[l - 1]);
        settled = settled && (!fits[0].self_reused[l] || guess_self[l] == last.self_count[l - 1]);
        guess_cross[l] = last.cross_count[l - 1];
        guess_self[l] = last.self_count[l - 1];
      }
    }
    if (!settled) continue;
    if (fits[0].unbound && counted > 0) {
      throw Error(fmt::format("fitprune calibrate: at alpha {}: first sample, layer 0: even deleting all but one "
                              "visual token keeps the attention mass above (1 - alpha) of the reference, so the "
                              "official script's count is never set (Python raises UnboundLocalError there); use "
                              "--never-break largest",
                              alpha));
    }
    trial.scheme.assign(L, 0);
    for (size_t l = 0; l < counted; ++l) {
      int64_t sum = 0;
      for (const SampleFit& f : fits) sum += f.deleted[l];
      // round(scheme[l] // n): the mean deletions, floored.
      trial.scheme[l] = sum / static_cast<int64_t>(fits.size());
    }
    return trial;
  }
}

namespace {

using Clock = std::chrono::steady_clock;

std::vector<double> to_vector(const at::Tensor& t) {  // [v] f64 CPU
  const at::Tensor c = t.contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// The unpruned model's attention mass per layer (§1.1): Wc = text->image mass per text row,
// Ws = image->image mass per image row, both of the max-over-heads softmax.
struct Reference {
  std::vector<double> cross, self;  // [L]
};

class ReferenceObserver : public PrefillObserver {
 public:
  ReferenceObserver(Reference& out, const std::string& key) : out_(out), key_(key) {}
  bool wants_attention(int64_t) const override { return true; }
  at::Tensor after_attention(int64_t, const SequenceState& state, const at::Tensor& attention) override {
    const FitpruneVisualMass m = fitprune_visual_mass(attention, state.image_begin, state.image_len);
    if (m.text_rows == 0) {
      throw Error(fmt::format("fitprune calibrate: sample {}: no text after the image, so there is no "
                              "text->image attention to fit",
                              key_));
    }
    out_.cross.push_back(m.cross.sum().item<double>() / static_cast<double>(m.text_rows));
    out_.self.push_back(m.self.sum().item<double>());
    return {};
  }

 private:
  Reference& out_;
  const std::string& key_;
};

// One sample's prefill under α: fitprune_fit_layer at every layer, the deleted rows dropped after
// the layer's attention exactly as inference drops them.
class FitObserver : public PrefillObserver {
 public:
  FitObserver(double alpha, const Reference& ref, NeverBreak rule, FitReuse reuse, SampleFit& out)
      : alpha_(alpha), ref_(ref), rule_(rule), reuse_(reuse), out_(out) {}
  bool wants_attention(int64_t) const override { return true; }
  at::Tensor after_attention(int64_t layer, const SequenceState& state, const at::Tensor& attention) override {
    const int64_t v = state.image_len;
    const auto l = static_cast<size_t>(layer);
    std::vector<double> cross, self;
    if (v > 0) {
      const FitpruneVisualMass m = fitprune_visual_mass(attention, state.image_begin, v);
      cross = to_vector(m.cross / static_cast<double>(m.text_rows));  // averaged over text rows, as Wc
      self = to_vector(m.self);
    }
    // The script compares with weightsum - weightsum * alpha (its threshold is weightsum * alpha).
    const std::vector<int64_t> gone = fitprune_fit_layer(out_, reuse_, rule_, layer, cross, self,
                                                         ref_.cross[l] - ref_.cross[l] * alpha_,
                                                         ref_.self[l] - ref_.self[l] * alpha_);
    if (gone.empty()) return {};
    std::vector<int64_t> kept;
    for (int64_t j = 0, g = 0; j < v; ++j) {
      if (g < static_cast<int64_t>(gone.size()) && gone[static_cast<size_t>(g)] == j) {
        ++g;
      } else {
        kept.push_back(j);
      }
    }
    return rows_keeping_visual(state.hidden.size(0), state.image_begin, v, at::tensor(kept, at::kLong));
  }

 private:
  double alpha_;
  const Reference& ref_;
  NeverBreak rule_;
  FitReuse reuse_;
  SampleFit& out_;
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

FitpruneCalibration calibrate_fitprune(const LlavaModelImpl& model, const std::vector<CalibrationPrompt>& prompts,
                                       const FitpruneCalibrationOptions& options,
                                       const std::function<void(const std::string&)>& log) {
  c10::InferenceMode guard;
  if (prompts.empty()) throw Error("fitprune calibrate: no calibration samples");
  if (!(options.fraction_removed >= 0 && options.fraction_removed < 1)) {
    throw Error(fmt::format("fitprune calibrate: FLOPs fraction {} must be in [0, 1)", options.fraction_removed));
  }
  const auto say = [&log](const std::string& line) {
    if (log) log(line);
  };
  auto t = Clock::now();
  std::vector<Reference> refs;
  for (const CalibrationPrompt& p : prompts) {
    Reference r;
    ReferenceObserver observer(r, p.key);
    Session session;
    model.prefill(p.prompt, session, &observer, false, 0);
    refs.push_back(std::move(r));
  }
  say(fmt::format("reference attention of {} samples ({:.1f} s)", prompts.size(), seconds_since(t)));
  const LlavaConfig& cfg = model.config();
  const FitLayerCost cost = [&](size_t s, int64_t in, int64_t after) {
    const int64_t text = prompts[s].prompt.embeds.size(0) - prompts[s].prompt.image_len;
    return decoder_layer_flops(cfg, text, LayerTokens{in, after}, options.convention);
  };
  const auto fit = [&](double alpha) {
    return fitprune_fit_alpha(alpha, prompts.size(), cfg.text.num_hidden_layers, options.never_break,
                              options.fraction_removed, cost, [&](size_t s, const FitReuse& reuse) {
                                SampleFit out;
                                FitObserver observer(alpha, refs[s], options.never_break, reuse, out);
                                Session session;
                                model.prefill(prompts[s].prompt, session, &observer, false, 0);
                                return out;
                              });
  };

  FitpruneCalibration out;
  double lo = 0, hi = 1;
  // statistical_analysis.py: while max_alpha - min_alpha > 0.01 + 1e-6, bisect; reaching the budget
  // moves the upper end down (try a milder α), missing it moves the lower end up.
  while (hi - lo > options.tolerance + 1e-6) {
    const double mid = (lo + hi) / 2;
    t = Clock::now();
    AlphaTrial trial = fit(mid);
    const int64_t deleted = std::accumulate(trial.scheme.begin(), trial.scheme.end(), int64_t{0});
    say(fmt::format("alpha {:.7f}: {} (mean {:.2f}% removed), scheme deletes {}{} ({:.1f} s)", mid,
                    trial.reached ? fmt::format("budget reached at layer {}", trial.stop_layer) : "budget not reached",
                    100.0 * trial.mean_flops_removed, deleted,
                    trial.passes > 1 ? fmt::format(", {} passes", trial.passes) : "", seconds_since(t)));
    (trial.reached ? hi : lo) = mid;
    out.trials.push_back(std::move(trial));
  }
  const AlphaTrial* chosen = &out.trials.back();  // the script prints the last mid's scheme
  if (options.fit_select == FitSelect::kSmallestReaching) {
    chosen = nullptr;
    for (const AlphaTrial& trial : out.trials) {
      if (trial.reached && (chosen == nullptr || trial.alpha < chosen->alpha)) chosen = &trial;
    }
    if (chosen == nullptr) {
      throw Error(fmt::format("fitprune calibrate: no alpha reached the budget of {:.4g} FLOPs removed (the largest "
                              "tried was {}); the budget cannot be met on these samples",
                              options.fraction_removed, out.trials.back().alpha));
    }
  }
  out.scheme = chosen->scheme;
  out.alpha = chosen->alpha;
  return out;
}

}  // namespace pb
