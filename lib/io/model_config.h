// LLaVA config.json: the llava-hf formats (LlavaConfig, LlavaNextConfig with nested text/vision
// sub-configs), the original flat LLaVA format and its LLaVA-HR variant (is_multipath_encoder),
// resolved with transformers' (and LLaVA-HR's) defaults.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pb {

// CLIPVisionConfig defaults (transformers models/clip/configuration_clip.py).
struct VisionConfig {
  std::string model_type = "clip_vision_model";
  int64_t hidden_size = 768, intermediate_size = 3072, num_hidden_layers = 12, num_attention_heads = 12,
          num_channels = 3, image_size = 224, patch_size = 32, projection_dim = 512;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
};

// LlamaConfig defaults (transformers models/llama/configuration_llama.py). After parsing,
// num_key_value_heads and head_dim are always resolved (> 0).
struct TextConfig {
  std::string model_type = "llama";
  int64_t vocab_size = 32000, hidden_size = 4096, intermediate_size = 11008, num_hidden_layers = 32,
          num_attention_heads = 32, num_key_value_heads = 0 /* = heads when absent */,
          head_dim = 0 /* = hidden/heads when absent */, max_position_embeddings = 2048, bos_token_id = 1,
          eos_token_id = 2;  // -1 when the file says null
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  std::string hidden_act = "silu";
  bool attention_bias = false, mlp_bias = false, tie_word_embeddings = false;
};

// LLaVA-HR's slow branch, a timm ConvNeXt (luogen1996/LLaVA-HR
// llava_hr/model/multimodal_encoder/convnext.py): 4x4 stride-4 stem, four stages of 7x7 depthwise
// blocks with a 4x MLP, a 2x2 stride-2 downsample before stages 1-3. Defaults: convnext_large_mlp.
struct ConvNextConfig {
  std::array<int64_t, 4> depths{3, 3, 27, 3};
  std::array<int64_t, 4> dims{192, 384, 768, 1536};
  double norm_eps = 1e-6;  // every LayerNorm (timm's default; convnext_xxlarge says 1e-5)
};

// LLaVA-HR (model_type "llava_hr"): the fields of the flat config that only the dual-path tower
// reads (llava_hr/model/multimodal_encoder/multipath_encoder_wapper.py).
struct HrConfig {
  int64_t input_image_size = 1024;  // the padded square the processor makes and ConvNeXt sees
  std::string slow_tower;           // vision_tower_slow as written
  ConvNextConfig slow;
  bool adapters = true;  // three S2F adapters inside the CLIP branch; absent when freeze_vision

  int64_t fast_image_size() const;  // max(int(S / 32 * 14), 336): 448 for S = 1024
  int64_t slow_grid() const;        // side of the ConvNeXt's last map: S / 32 (floored), 32 for S = 1024
};

struct LlavaConfig {
  std::string model_type;  // "llava" | "llava_next" | "llava_llama" (original flat format) | "llava_hr"
  std::vector<std::string> architectures;
  TextConfig text;
  VisionConfig vision;
  int64_t image_token_index = 32000;              // alias image_token_id; -200 for the flat format
  std::string projector_hidden_act = "gelu";      // exact (erf) GELU
  std::string projector_type = "mlp2x_gelu";      // or "linear" (original mm_projector_type)
  std::vector<int64_t> vision_feature_layers{-2};  // int or list in the file; indexes hidden_states
  std::string vision_feature_select_strategy = "default";  // "default" drops CLS, "full" keeps it
  int64_t image_seq_length = 576;
  bool multimodal_projector_bias = true, tie_word_embeddings = false;
  std::vector<std::array<int64_t, 2>> image_grid_pinpoints;  // as written; llava_next default when absent
  std::string torch_dtype;                                    // as written, may be empty
  HrConfig hr;                                                // llava_hr only
  nlohmann::json raw;                                         // the file as read
  std::string source;                                         // path, for messages

  // The resolved values (everything above except raw and source) as JSON with sorted keys.
  nlohmann::json to_json() const;
  // Stable hash of to_json(): 16 hex digits (FNV-1a 64), the same for equivalent files.
  std::string hash() const;
};

// `path_or_dir` is a config.json or a folder holding one. pb::Error naming the file (and the
// field) for invalid JSON, wrong types, out-of-range values and unsupported model types.
LlavaConfig load_llava_config(const std::string& path_or_dir);
LlavaConfig parse_llava_config(const nlohmann::json& j, const std::string& source);

}  // namespace pb
