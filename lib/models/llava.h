// LLaVA-1.5 composition: CLIP vision tower -> feature selection -> projector -> splice into the
// token embeddings -> LLaMA prefill (with pruning hooks) -> greedy decoding with a KV cache.
// LLaVA-NeXT (encode_anyres, llava_next.cpp) and LLaVA-HR (its dual-path tower, hr_vision_tower.h)
// share everything after the tower.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/llava_constants.h"
#include "io/checkpoint.h"
#include "io/model_config.h"
#include "models/clip_vision.h"
#include "models/hr_vision_tower.h"
#include "models/llama.h"
#include "models/projector.h"
#include "spec/anyres_layout.h"

namespace pb {

struct ModelOptions {
  c10::ScalarType dtype = c10::kFloat;  // compute dtype: fp32 or bf16
  c10::Device device = c10::kCPU;
};

struct ImageFeatures {
  at::Tensor vision_features;                // [N, Dv * n_feature_layers] selected tower features
  at::Tensor image_embeds;                   // [N, D] projector output
  std::vector<at::Tensor> vision_attentions; // per layer run: [H, 1+P, 1+P] fp32 where asked
  // encode_vision only: the selected tower rows with CLS first whatever the strategy ([1+P, Dv*];
  // vision_features is a view of it), and per tower layer 0..layers_run the {q, k} [1+P, Dv] asked for.
  at::Tensor vision_tokens;
  std::vector<std::pair<at::Tensor, at::Tensor>> vision_qk;
};

// A LLaVA-NeXT image after encode_anyres (models/llava_next.cpp): every tile through the tower and
// projector, then the original spatial_unpad packing (llava/model/llava_arch.py).
struct AnyresFeatures {
  at::Tensor image_embeds;        // [N, D]: the base tile's P rows, then the unpadded grid map row by row,
                                  // image_newline closing every row
  std::vector<int64_t> source;    // per packed row: tile * P + patch (tile 0 = base), or -1 for image_newline
  int64_t grid_rows = 0, grid_cols = 0;  // the unpadded grid map, without the newline column
  at::Tensor tile_features;       // [tiles, P, Dv*] the selected tower rows of every tile
  std::vector<at::Tensor> vision_attentions;  // per tower layer run: [tiles, H, 1+P, 1+P] fp32 where asked
};

// Wall time of encode_image's two stages (synchronised on CUDA).
struct EncodeTimes {
  double vision_ms = 0, projector_ms = 0;
};

// A prompt after splicing, ready for prefill.
struct SplicedPrompt {
  at::Tensor embeds;         // [T, D]
  int64_t image_begin = 0;   // first image row
  int64_t image_len = 0;     // image rows
  at::Tensor positions;      // [T] int64 RoPE positions, or undefined for 0..T-1
};

// Decoding state after prefill.
struct Session {
  KvCache cache;
  int64_t next_position = 0;                    // RoPE position of the next generated token
  std::vector<int64_t> visual_tokens_per_layer; // visual rows entering each decoder layer
  std::vector<int64_t> visual_tokens_after_attn; // visual rows left after each layer's attention
  SequenceState final_state;                    // rows after the last layer (hidden, origin, ...)
};

class LlavaModelImpl : public torch::nn::Module {
 public:
  // Loads DIR/config.json and the safetensors weights (single file or sharded).
  static std::shared_ptr<LlavaModelImpl> load(const std::string& dir, const ModelOptions& options);
  // Builds the model from a config alone with seeded random weights (tests and benchmarks).
  static std::shared_ptr<LlavaModelImpl> random(const LlavaConfig& cfg, const ModelOptions& options,
                                                uint64_t seed);

  LlavaModelImpl(const LlavaConfig& cfg, const ModelOptions& options);
  const LlavaConfig& config() const { return cfg_; }
  const ModelOptions& options() const { return options_; }
  int64_t image_tokens() const;  // visual tokens per image (576 for CLIP-L/336 "default")

  // pixel_values [3, S, S] float32 (normalised; S = model_image_size: 336, LLaVA-HR 1024).
  // `attention_layers`: tower layers whose softmax to return (none on LLaVA-HR).
  ImageFeatures encode_image(const at::Tensor& pixel_values, const std::set<int64_t>& attention_layers = {},
                             EncodeTimes* times = nullptr) const;
  // The two halves of encode_image, for methods that select tokens between them:
  // vision_features holds [N, Dv*] and vision_attentions; image_embeds is left undefined.
  ImageFeatures encode_vision(const at::Tensor& pixel_values, const std::set<int64_t>& attention_layers = {}) const;
  // The same with q/k of chosen layers and an in-tower hook (which may change the row count).
  // LLaVA-HR: vision_features = vision_tokens = the tower output [N, Dv] (no CLS); asking for
  // attention, q/k or a hook is a pb::Error.
  ImageFeatures encode_vision(const at::Tensor& pixel_values, const VisionTowerRequest& request) const;
  at::Tensor project(const at::Tensor& vision_features) const;  // [n, Dv*] -> [n, D]
  // LLaVA-NeXT: tiles [1 + rows * cols, 3, S, S] normalised (image/anyres.h: base first, then the grid
  // in raster order) of an image_width x image_height image given `layout`. pb::Error when the model
  // is not llava_next or the tile count does not match the layout.
  AnyresFeatures encode_anyres(const at::Tensor& tiles, int image_width, int image_height, const AnyresLayout& layout,
                               const std::set<int64_t>& attention_layers = {}, EncodeTimes* times = nullptr) const;
  const at::Tensor& image_newline() const { return image_newline_; }  // [D]; undefined unless llava_next
  // Embeds `ids` and splices `image_embeds` [N, D] at the image marker: one image_token_index or
  // -200 (expanded to N rows), or a run of exactly N image_token_index ids.
  SplicedPrompt splice(const std::vector<int64_t>& ids, const at::Tensor& image_embeds) const;
  // Runs every decoder layer over the prompt. Returns logits [T, V] fp32 when all_logits, else
  // the last row [1, V]. `reserve` = extra cache rows for decoding.
  at::Tensor prefill(const SplicedPrompt& prompt, Session& session, PrefillObserver* observer,
                     bool all_logits, int64_t reserve) const;
  at::Tensor decode_step(Session& session, int64_t token) const;  // -> logits [V] fp32

  LlamaModel language_model() const { return language_model_; }

 private:
  LlavaConfig cfg_;
  ModelOptions options_;
  ClipVisionTower vision_tower_{nullptr};  // llava, llava_next, llava_llama
  HrVisionTower hr_tower_{nullptr};         // llava_hr, registered as "vision_tower" too
  Projector projector_{nullptr};
  LlamaModel language_model_{nullptr};
  at::Tensor image_newline_;  // llava_next only: the learned column closing every grid row
  std::shared_ptr<const Checkpoint> checkpoint_;  // keeps zero-copy weights mapped
  friend void load_llava_weights(LlavaModelImpl& model, std::shared_ptr<const Checkpoint> ckpt);
};
TORCH_MODULE(LlavaModel);

// Fills the model's parameters from `ckpt` (names normalised, shapes checked, converted to the
// compute dtype; zero-copy when the dtypes match). Missing, misshaped and leftover tensors are
// reported together in one pb::Error.
void load_llava_weights(LlavaModelImpl& model, std::shared_ptr<const Checkpoint> ckpt);

struct GreedyResult {
  std::vector<int64_t> tokens;
  std::vector<float> margins;  // top-1 minus top-2 logit at each step
};
// Greedy decoding from the prefill's last logits; stops after eos unless eos is nullopt.
GreedyResult greedy_decode(const LlavaModelImpl& model, Session& session, const at::Tensor& last_logits,
                           int64_t max_new_tokens, std::optional<int64_t> eos);

}  // namespace pb
