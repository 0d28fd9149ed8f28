// FitPrune's recipe fitting (ywh187/FitPrune LLaVA_1.5/llava/eval/statistical_analysis.py; pruners.md
// §1.1-1.2): reference attention mass of the unpruned model, per-layer deletions for a threshold α,
// the FLOPs budget check that decides where deleting stops, and the binary search over α.
//
// The official code walks layers in lockstep over all samples. A sample's deletions at layer l depend
// only on its own pruned sequence, and the budget check only decides the first layer at which
// deleting stops, so here each sample runs one whole prefill per α with α's deletions at every layer;
// the stop layer is then found from the recorded counts and later deletions are discarded. This gives
// the same recipe. The one cross-sample coupling in the official code (a deletion-count loop that never
// breaks reuses the previous sample's count) is reproduced exactly; see NeverBreak.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "flops/flops.h"
#include "models/llava.h"

namespace pb {

// Which fitted scheme becomes the recipe.
enum class FitSelect {
  kOfficial,          // the scheme of the last α evaluated, reached or not (what the script prints)
  kSmallestReaching,  // the scheme of the smallest α that reached the budget (pruners.md §1.2 fix)
};
// What the deletion count is when the official loop `for i in range(v)` never breaks, i.e. even
// deleting v - 1 tokens keeps the remaining mass >= (1 - α) of the reference.
enum class NeverBreak {
  kReuse,    // official: the stale count of the previous evaluation (previous sample at this layer, or
             // the last sample at the previous layer); at the very first one Python raises
             // UnboundLocalError, and prune-bench stops with an error naming --never-break largest
  kLargest,  // fix: the largest k <= v whose remaining mass is still >= (1 - α) of the reference
};

const char* fit_select_name(FitSelect s);      // "official" | "smallest-reaching"
FitSelect fit_select_from_name(const std::string& name);   // pb::Error listing the names
const char* never_break_name(NeverBreak n);    // "reuse" | "largest"
NeverBreak never_break_from_name(const std::string& name);

// --- the deletion rule of one layer (pruners.md §1.2 step 3-4), on plain numbers ---

// Token order by mass ascending, ties by index ascending (the official argsort leaves ties undefined).
std::vector<int64_t> fitprune_ascending(const std::vector<double>& mass);
// The official count: the first i in [0, v) with sum(mass) - (sum of the i smallest) < floor gives
// max(i - 1, 0); nullopt when there is none (the loop never breaks).
std::optional<int64_t> fitprune_official_count(const std::vector<double>& mass, double floor);
// The largest k in [0, v] with sum(mass) - (sum of the k smallest) >= floor (0 when even k = 0 fails).
int64_t fitprune_largest_count(const std::vector<double>& mass, double floor);
// Tokens among both the `n_cross` lowest cross and the `n_self` lowest self masses, ascending.
std::vector<int64_t> fitprune_intersection(const std::vector<double>& cross, int64_t n_cross,
                                           const std::vector<double>& self, int64_t n_self);

// One fit(α): where deleting stopped and the resulting scheme.
struct AlphaTrial {
  double alpha = 0;
  bool reached = false;              // the budget check passed at some layer
  int64_t stop_layer = -1;           // that layer (no deletions from it on); -1 if never reached
  std::vector<int64_t> scheme;       // [L] floor(Σ_s deletions / n) before stop_layer, 0 from it on
  double mean_flops_removed = 0;     // 1 - mean cost at the stop (or after all layers) / unpruned
  int passes = 1;                    // prefill passes needed to settle the reused counts (kReuse)
};

// --- one α on per-sample runs (building blocks of calibrate_fitprune, public for tests) ---

// One sample's run under one α, layer by layer.
struct SampleFit {
  std::vector<int64_t> visual_in, deleted;       // [L] visual tokens entering layer l; deleted inside it
  std::vector<int64_t> cross_count, self_count;  // [L] the script's del_num_cross/self after layer l
  std::vector<bool> cross_reused, self_reused;   // [L] its loop never broke at layer l (kReuse)
  bool unbound = false;                          // a count was reused at the very first evaluation
};

// Where a count whose loop never breaks comes from under kReuse. The script's variable keeps the value
// of the previous evaluation in its loop order (layer-major, samples in order): sample s-1 at this
// layer, or for sample 0 the last sample at the previous layer.
struct FitReuse {
  const SampleFit* previous_sample = nullptr;  // s > 0
  // s == 0 of several: sample n-1 at layer l-1, from the previous pass (null for a lone sample,
  // which reuses its own count of layer l-1)
  const std::vector<std::optional<int64_t>>* guess_cross = nullptr;
  const std::vector<std::optional<int64_t>>* guess_self = nullptr;
};

// §1.2 steps 3-4 at one layer: counts for `cross` (per text row) and `self` masses against
// `floor_*` = reference - reference * α, their intersection deleted. Appends to `fit` (visual_in =
// cross.size()) and returns the deleted visual indices, ascending.
std::vector<int64_t> fitprune_fit_layer(SampleFit& fit, const FitReuse& reuse, NeverBreak rule, int64_t layer,
                                        const std::vector<double>& cross, const std::vector<double>& self,
                                        double floor_cross, double floor_self);

// Cost of one decoder layer of `sample` with `in` visual tokens before attention and `after` after.
using FitLayerCost = std::function<double(size_t sample, int64_t in, int64_t after)>;

// §1.2 step 1: the first layer whose budget check passes, -1 if none. At layer l a sample costs what
// it used in layers < l plus (L - l) full layers at its current count; the check compares the mean
// over samples with (1 - fraction_removed) of the unpruned mean (each sample's visual_in[0] at every
// layer). `mean_removed` gets 1 - the mean at the stop (or after all layers) over the unpruned mean.
int64_t fitprune_stop_layer(const std::vector<SampleFit>& fits, int64_t layers, double fraction_removed,
                            const FitLayerCost& cost, double& mean_removed);

// fit(α): runs every sample (`run_sample(s, reuse)` returns its SampleFit), as many passes as the
// reused counts of sample 0 need to settle, then the stop layer and the scheme. pb::Error at the
// official crash (kReuse, first evaluation reused, layer 0 counted).
using FitSampleRun = std::function<SampleFit(size_t sample, const FitReuse& reuse)>;
AlphaTrial fitprune_fit_alpha(double alpha, size_t samples, int64_t layers, NeverBreak rule, double fraction_removed,
                              const FitLayerCost& cost, const FitSampleRun& run_sample);

// --- calibration on a model ---

struct FitpruneCalibrationOptions {
  double fraction_removed = 0.6;  // the FLOPs budget
  FlopsConvention convention = FlopsConvention::kFitPrune;
  FitSelect fit_select = FitSelect::kOfficial;
  NeverBreak never_break = NeverBreak::kReuse;
  double tolerance = 0.01;        // the search stops when hi - lo <= tolerance (+1e-6, as the script)
};

struct CalibrationPrompt {
  std::string key;       // dataset key (recorded in the recipe)
  SplicedPrompt prompt;  // image spliced into the prompt, ready for prefill
};

struct FitpruneCalibration {
  std::vector<int64_t> scheme;  // the recipe
  double alpha = 0;             // the α whose scheme it is
  std::vector<AlphaTrial> trials;  // in evaluation order
};

// Runs the statistics pass and the α search. `log` (may be empty) gets one line per step.
// pb::Error when a prompt has no text after the image, for kReuse at the official crash, and for
// kSmallestReaching when no α reaches the budget.
FitpruneCalibration calibrate_fitprune(const LlavaModelImpl& model, const std::vector<CalibrationPrompt>& prompts,
                                       const FitpruneCalibrationOptions& options,
                                       const std::function<void(const std::string&)>& log = {});

}  // namespace pb
