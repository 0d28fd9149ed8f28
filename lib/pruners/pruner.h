// A visual-token pruning method. It may act at three places, each optional:
//   before the projector   (vision-side methods: FoPru, VisionZip, FasterVLM, random, ...)
//   after the projector    (methods on LLM-input embeddings: G-Prune)
//   inside the LLM         (FastV, FitPrune, PyramidDrop, ...), through a PrefillObserver.
// Selections are returned as kept rows ([k] int64, unique, ascending); the pipeline gathers them.
// Before the projector a method may also replace the rows (merging, pooling): VisionStageOutput.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/model_config.h"
#include "models/vision_hooks.h"
#include "models/prefill_hooks.h"
#include "pruners/budget.h"

namespace pb {

struct PrunerParam {
  std::string name, default_value, description;
};

// How a method treats a LLaVA-NeXT (anyres) image; docs/llava_next.md has the table with the reasons.
enum class AnyresHandling {
  kRefused,      // pb::Error before any sample, with PrunerInfo::anyres_note as the reason
  kPackedSpan,   // inside the LLM: the whole packed span (base, grid, newlines) is the image; the
                 // budget is resolved again for every image's real count (resolve_for_tokens)
  kPerTile,      // before the projector: select_before_projector on each 576-token tile; the packed
                 // sequence keeps the chosen rows and every image_newline
  kBaseAndGrid,  // after the projector: select_packed on the base tile and the grid apart, newlines kept
};
const char* anyres_handling_name(AnyresHandling h);  // "refused", "packed-span", "per-tile", "base-and-grid"

struct PrunerInfo {
  std::string name;         // registry key, e.g. "fastv"
  std::string description;  // one line for `prune-bench list`
  std::string paper;        // citation
  std::string code;         // the official code followed: repo + path
  std::string positions;    // RoPE positions after pruning: "original" or "reindex"
  std::vector<PrunerParam> params;
  AnyresHandling anyres = AnyresHandling::kRefused;
  std::string anyres_note;  // one line: why refused, or how the budget reads on LLaVA-NeXT
};

// What a vision-side method sees: the tower's selected features and the attention it asked for.
struct VisionStageInput {
  const at::Tensor& features;                 // [N, Dv] selected features (CLS first under "full")
  const std::vector<at::Tensor>& attentions;  // per tower layer run: [H, 1+P, 1+P] fp32, or undefined
  bool has_cls;                               // strategy "full": features row 0 is CLS
  // The feature layer's rows with CLS first whatever the strategy ([1+P, Dv*]); features is a view.
  const at::Tensor* tokens = nullptr;
  // Per tower layer 0..layers_run: {q, k} [1+P, Dv] (biased, q unscaled) where asked
  // (vision_qk_layers), computed from the layer's input; layers_run is the first layer not run.
  const std::vector<std::pair<at::Tensor, at::Tensor>>* qk = nullptr;
};

// What the vision stage hands the projector. `kept` [k] int64: for each output row, the original
// image-token index (into features) it stands for; unique. A selection returns it ascending and no
// features. A merging method returns `features` [k, Dv*] too, in its own row order, and names each
// row's index by its own documented rule (docs/pruners.md); the pipeline records kept_vision sorted.
struct VisionStageOutput {
  at::Tensor kept;
  at::Tensor features;
};

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual const PrunerInfo& info() const = 0;
  // Resolves the budget for this model into the method's knobs and the visual token counts it will
  // keep; the returned JSON is recorded in results. pb::Error for unsupported models or budgets.
  virtual nlohmann::json resolve(const LlavaConfig& cfg) = 0;
  // The same for an image of `visual_tokens` visual tokens: LLaVA-NeXT's real per-image count
  // (kPackedSpan methods, called before each image's prefill). Default: pb::Error.
  virtual nlohmann::json resolve_for_tokens(const LlavaConfig& cfg, int64_t visual_tokens);
  // Run-level resolution on a LLaVA-NeXT model, recorded in run.json: kRefused throws the note;
  // kPackedSpan resolves for the nominal 2880 (flops/visual_tokens.h); the others resolve per tile.
  // Methods override it to refuse budgets that have no NeXT reading.
  virtual nlohmann::json resolve_anyres(const LlavaConfig& cfg);
  // The visual tokens the method keeps in total (entering the last decoder layer), as resolved.
  virtual int64_t nominal_kept() const = 0;
  // Called before each sample with its dataset key (methods with randomness seed from it, so a
  // resumed or sharded run draws exactly what an uninterrupted one does).
  virtual void begin_sample(const std::string& /*sample_key*/) {}

  virtual std::set<int64_t> vision_attention_layers() const { return {}; }
  virtual std::set<int64_t> vision_qk_layers() const { return {}; }
  // Runs inside every tower layer (ToMe); the features the stage sees are then already reduced.
  virtual VisionLayerHook* vision_layer_hook() { return nullptr; }
  virtual at::Tensor select_before_projector(const VisionStageInput& /*input*/) { return {}; }
  // The vision stage; by default the selection above. Undefined `kept`: every row unchanged.
  virtual VisionStageOutput reduce_before_projector(const VisionStageInput& input) {
    return {select_before_projector(input), {}};
  }
  virtual at::Tensor select_after_projector(const at::Tensor& /*embeds*/) { return {}; }  // [N, D]
  // kBaseAndGrid: the packed image `embeds` [N, D] with each row's `source` (tile * P + patch, tile 0
  // the base; -1 for image_newline, models/llava.h AnyresFeatures) -> kept packed rows [k] int64 ascending.
  virtual at::Tensor select_packed(const at::Tensor& /*embeds*/, const std::vector<int64_t>& /*source*/) { return {}; }
  virtual PrefillObserver* llm_observer() { return nullptr; }
};

// LLaVA-HR: the one-line reason a method does not run on it, or "" when it does (pruners/llava_hr.cpp;
// docs/llava_hr.md has the table).
std::string hr_refusal(const std::string& method);
// Run-level resolution for `cfg`'s family: resolve_anyres on LLaVA-NeXT; on LLaVA-HR a pb::Error with
// hr_refusal() for refused methods, else resolve; resolve for LLaVA-1.5.
nlohmann::json resolve_for_model(Pruner& pruner, const LlavaConfig& cfg);

using PrunerParams = std::map<std::string, std::string>;

// Parses "name" or "name:key=value,key=value" and builds the method with `budget`.
// pb::Error for unknown methods (listing them) and unknown or malformed parameters.
std::unique_ptr<Pruner> make_pruner(const std::string& spec, const Budget& budget);

struct PrunerEntry {
  PrunerInfo info;
  std::unique_ptr<Pruner> (*create)(const PrunerParams& params, const Budget& budget);
};
const std::vector<PrunerEntry>& pruner_registry();  // the explicit list, in `list` order

// Parameter helpers for factories: each throws pb::Error naming the method and the parameter.
void check_param_names(const std::string& method, const PrunerParams& params, const std::vector<PrunerParam>& known);
int64_t int_param(const std::string& method, const PrunerParams& params, const std::string& name, int64_t fallback);
double double_param(const std::string& method, const PrunerParams& params, const std::string& name, double fallback);
std::string string_param(const std::string& method, const PrunerParams& params, const std::string& name,
                         const std::string& fallback);

}  // namespace pb
