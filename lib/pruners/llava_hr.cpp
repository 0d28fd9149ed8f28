// Which methods run on LLaVA-HR and why the others do not (docs/llava_hr.md, "Pruning methods on HR"),
// and the run-level resolution that dispatches on the model family.
#include <fmt/format.h>

#include <map>

#include "core/error.h"
#include "pruners/pruner.h"

namespace pb {

namespace {

// The methods that read the CLIP tower's CLS attention or q/k, or merge inside its layers: the HR tower
// has none of that to give (its fast branch drops CLS before the first layer; the ConvNeXt branch and
// the adapters have no attention), and no official code defines them on it.
const std::map<std::string, std::string>& refusals() {
  static const std::map<std::string, std::string> m = {
      {"fopru",
       "FoPru ranks patches by the CLIP tower's CLS attention at the feature layer; LLaVA-HR's CLIP branch drops "
       "CLS before its first layer and its output mixes in the ConvNeXt, and the public code wires only LLaVA-1.5"},
      {"sparsevlm",
       "its settings (the 192/128/96/64 budgets, v1's scale and bias, v1.5's per-layer counts) were fitted for "
       "576-token LLaVA-1.5 images and its code has no LLaVA-HR form"},
      {"visionzip",
       "VisionZip keeps the patches with the most CLS attention at CLIP's layer -2; LLaVA-HR's CLIP branch has "
       "no CLS and its output is the MultiPathAlign sum of both branches, not a CLIP layer"},
      {"fastervlm",
       "FasterVLM ranks patches by CLIP's CLS attention at layer -2; LLaVA-HR's CLIP branch has no CLS token"},
      {"prumerge_plus",
       "PruMerge+ needs the CLS row of CLIP's last-layer attention; LLaVA-HR's CLIP branch has no CLS token"},
      {"tome",
       "ToMe merges tokens inside the CLIP layers; LLaVA-HR's S2F adapters between layer groups need the "
       "full 32x32 grid, and no code defines merging across them"},
  };
  return m;
}

}  // namespace

std::string hr_refusal(const std::string& method) {
  const auto it = refusals().find(method);
  return it == refusals().end() ? std::string() : it->second;
}

nlohmann::json resolve_for_model(Pruner& pruner, const LlavaConfig& cfg) {
  if (cfg.model_type == "llava_next") return pruner.resolve_anyres(cfg);
  if (cfg.model_type == "llava_hr") {
    const std::string why = hr_refusal(pruner.info().name);
    if (!why.empty()) {
      throw Error(fmt::format("--pruner {}: not available on LLaVA-HR models: {}", pruner.info().name, why));
    }
  }
  return pruner.resolve(cfg);
}

}  // namespace pb
