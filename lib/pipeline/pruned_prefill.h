// One sample's prefill with a pruning method in place: vision tower (with the attention the method
// asks for) -> selection before the projector -> projector -> selection after it -> splice -> LLM
// prefill with the method's observer. Records which original image tokens each stage kept.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "models/llava.h"
#include "pipeline/model_inputs.h"
#include "pruners/pruner.h"

namespace pb {

struct PrunedPrefill {
  at::Tensor logits;        // [1, V] (or [T, V] with all_logits) fp32
  SplicedPrompt prompt;     // what entered the LLM
  ImageFeatures image;      // vision_features of every token; image_embeds of the kept ones
  int64_t image_tokens = 0; // visual tokens before any pruning
  // Stage name -> original image-token indices kept ([k] int64 ascending): "kept_vision",
  // "kept_projector", "kept_layer<l>" (the first layer running on the reduced set),
  // "kept_layer<l>_mid" (dropped inside layer l after its attention).
  std::vector<std::pair<std::string, at::Tensor>> kept;
  double vision_ms = 0, projector_ms = 0, prefill_ms = 0;
  double prune_ms = 0;      // time inside the method's own selection code
};

// `extra` (may be null) observes the prefill too (e.g. an attention recorder); the method's own
// observer runs first at every hook.
PrunedPrefill run_pruned_prefill(const LlavaModelImpl& model, Pruner& pruner, const std::string& sample_key,
                                 const at::Tensor& pixel_values, const std::vector<int64_t>& ids, Session& session,
                                 bool all_logits, int64_t reserve, PrefillObserver* extra = nullptr,
                                 const std::set<int64_t>& extra_vision_attention = {});

// LLaVA-NeXT (anyres) sample: tiles through encode_anyres, the method as its PrunerInfo::anyres says
// (docs/llava_next.md), the kept packed rows spliced, then the prefill. `image_tokens` is the real
// packed row count of this image; `kept` lists hold indices into that unpruned packed span
// (AnyresFeatures::source maps them to tile and patch). pb::Error for a refused method.
PrunedPrefill run_anyres_prefill(const LlavaModelImpl& model, Pruner& pruner, const std::string& sample_key,
                                 const AnyresPixels& pixels, const std::vector<int64_t>& ids, Session& session,
                                 bool all_logits, int64_t reserve, PrefillObserver* extra = nullptr);

}  // namespace pb
