#include "models/weight_names.h"

#include <utility>

namespace pb {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Ordered prefix rewrites (first match wins). Sources: transformers
// LlavaForConditionalGeneration._checkpoint_conversion_mapping and KEYS_TO_MODIFY_MAPPING in
// models/llava/convert_llava_weights_to_hf.py.
const std::pair<const char*, const char*> kPrefixRewrites[] = {
    // transformers >= 4.52
    {"model.vision_tower.vision_model.", "vision_tower."},
    {"model.multi_modal_projector.", "multi_modal_projector."},
    {"model.language_model.", "language_model."},
    {"model.image_newline", "image_newline"},
    // llava-hf as published (transformers <= 4.51)
    {"vision_tower.vision_model.", "vision_tower."},
    {"multi_modal_projector.", "multi_modal_projector."},
    {"language_model.model.", "language_model."},
    {"language_model.lm_head.", "language_model.lm_head."},
    {"image_newline", "image_newline"},
    // LLaVA-HR (luogen1996): the dual-path tower's CLIP and timm ConvNeXt branches and adapters
    // (llava_hr/model/multimodal_encoder/multipath_encoder_wapper.py); the rest as original LLaVA
    {"model.vision_tower.fast_vision_tower.vision_tower.vision_model.", "vision_tower.fast_vision_tower."},
    {"model.vision_tower.slow_vision_tower.vision_tower.", "vision_tower.slow_vision_tower."},
    {"model.vision_tower.align_stages", "vision_tower.align_stages"},  // and align_stages_latent
    // original LLaVA (liuhaotian): flat LLaMA names, mm_projector.{0,2}, tower inside the model
    {"model.vision_tower.vision_tower.vision_model.", "vision_tower."},
    {"model.mm_projector.0.", "multi_modal_projector.linear_1."},
    {"model.mm_projector.2.", "multi_modal_projector.linear_2."},
    {"model.mm_projector.", "multi_modal_projector.linear_1."},  // single-linear projector
    {"model.embed_tokens.", "language_model.embed_tokens."},
    {"model.layers.", "language_model.layers."},
    {"model.norm.", "language_model.norm."},
    {"lm_head.", "language_model.lm_head."},
};

}  // namespace

std::optional<std::string> canonical_weight_name(const std::string& name) {
  if (ends_with(name, ".rotary_emb.inv_freq") || ends_with(name, "position_ids")) {
    return std::nullopt;
  }
  for (const auto& [from, to] : kPrefixRewrites) {
    if (starts_with(name, from)) {
      return std::string(to) + name.substr(std::char_traits<char>::length(from));
    }
  }
  return name;  // unknown names stay as they are and are reported as leftovers
}

}  // namespace pb
