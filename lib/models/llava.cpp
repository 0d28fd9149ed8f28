#include "models/llava.h"

#include <ATen/ATen.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/error.h"
#include "models/torch_tensor.h"
#include "models/weight_names.h"
#include "spec/model_spec.h"

namespace pb {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int64_t vision_feature_width(const LlavaConfig& cfg) {
  if (cfg.model_type == "llava_hr") return cfg.vision.hidden_size;  // mm_hidden_size: the CLIP width
  return cfg.vision.hidden_size * static_cast<int64_t>(cfg.vision_feature_layers.size());
}

// Checkpoint tensors that exist in real checkpoints but that LLaVA never uses: CLIP's
// post_layernorm and the tower layers after the selected feature layer; in LLaVA-HR, CLIP's
// post_layernorm and the ConvNeXt's classifier head (multipath_encoder_wapper.py runs neither).
bool is_unused_vision_weight(const std::string& canonical, const LlavaConfig& cfg, int64_t layers_run) {
  if (cfg.model_type == "llava_hr") {
    return canonical.rfind("vision_tower.fast_vision_tower.post_layernorm.", 0) == 0 ||
           canonical.rfind("vision_tower.slow_vision_tower.head.", 0) == 0;
  }
  if (canonical.rfind("vision_tower.post_layernorm.", 0) == 0) {
    return true;
  }
  const std::string prefix = "vision_tower.encoder.layers.";
  if (canonical.rfind(prefix, 0) == 0) {
    const int64_t layer = std::stoll(canonical.substr(prefix.size()));
    return layer >= layers_run;
  }
  return false;
}

}  // namespace

LlavaModelImpl::LlavaModelImpl(const LlavaConfig& cfg, const ModelOptions& options)
    : cfg_(cfg), options_(options) {
  if (options.dtype != c10::kFloat && options.dtype != c10::kBFloat16) {
    throw Error("compute dtype must be fp32 or bf16");
  }
  if (cfg.vision_feature_select_strategy != "default" && cfg.vision_feature_select_strategy != "full") {
    throw Error(fmt::format("{}: vision_feature_select_strategy '{}' is not supported (default, full)",
                            cfg.source, cfg.vision_feature_select_strategy));
  }
  const auto tensor_options = at::TensorOptions().dtype(options.dtype).device(options.device);
  if (cfg.model_type == "llava_hr") {
    hr_tower_ = register_module("vision_tower", HrVisionTower(cfg, tensor_options));
  } else {
    vision_tower_ = register_module("vision_tower", ClipVisionTower(cfg.vision, vision_layers_to_run(cfg), tensor_options));
  }
  projector_ = register_module("multi_modal_projector",
                               Projector(cfg, vision_feature_width(cfg), tensor_options));
  language_model_ = register_module("language_model", LlamaModel(cfg.text, tensor_options));
  if (cfg.model_type == "llava_next") {
    image_newline_ = register_parameter("image_newline", at::empty({cfg.text.hidden_size}, tensor_options), false);
  }
}

int64_t LlavaModelImpl::image_tokens() const { return image_tokens_per_image(cfg_); }

void load_llava_weights(LlavaModelImpl& model, std::shared_ptr<const Checkpoint> ckpt) {
  auto params = model.named_parameters(/*recurse=*/true);
  const int64_t layers_run = model.vision_tower_ ? model.vision_tower_->layers_to_run() : 0;
  std::map<std::string, std::string> source_of;  // canonical -> checkpoint name
  std::vector<std::string> leftovers, duplicates, misshaped, missing;
  for (const std::string& name : ckpt->names()) {
    const std::optional<std::string> canonical = canonical_weight_name(name);
    if (!canonical) {
      continue;
    }
    if (params.find(*canonical) == nullptr) {
      if (!is_unused_vision_weight(*canonical, model.cfg_, layers_run)) {
        leftovers.push_back(name);
      }
      continue;
    }
    if (!source_of.emplace(*canonical, name).second) {
      duplicates.push_back(fmt::format("{} and {}", source_of[*canonical], name));
    }
  }
  const bool tie = model.cfg_.tie_word_embeddings || model.cfg_.text.tie_word_embeddings;
  if (tie && source_of.count("language_model.lm_head.weight") == 0 &&
      source_of.count("language_model.embed_tokens.weight") > 0) {
    source_of["language_model.lm_head.weight"] = source_of["language_model.embed_tokens.weight"];
  }
  for (auto& item : params) {
    const auto found = source_of.find(item.key());
    if (found == source_of.end()) {
      missing.push_back(item.key());
      continue;
    }
    const TensorView* view = ckpt->find(found->second);
    if (view->shape != item.value().sizes().vec()) {
      misshaped.push_back(fmt::format("{} (expected {}, got {})", found->second,
                                      c10::str(item.value().sizes()), c10::str(at::IntArrayRef(view->shape))));
      continue;
    }
    at::Tensor loaded = tensor_from_view(*view, model.options_.dtype);
    if (loaded.device() != model.options_.device) {
      loaded = loaded.to(model.options_.device);
    }
    item.value().set_data(loaded);
  }
  if (!missing.empty() || !misshaped.empty() || !leftovers.empty() || !duplicates.empty()) {
    std::string msg = "checkpoint does not match the model config:";
    auto list = [&msg](const char* what, const std::vector<std::string>& names) {
      if (!names.empty()) {
        msg += fmt::format(" {} {} [{}];", names.size(), what, fmt::join(names, ", "));
      }
    };
    list("missing tensor(s)", missing);
    list("misshaped tensor(s)", misshaped);
    list("unexpected tensor(s)", leftovers);
    list("duplicate tensor(s)", duplicates);
    msg.pop_back();
    throw Error(msg);
  }
  model.checkpoint_ = std::move(ckpt);
}

std::shared_ptr<LlavaModelImpl> LlavaModelImpl::load(const std::string& dir, const ModelOptions& options) {
  const LlavaConfig cfg = load_llava_config(dir);
  auto ckpt = std::make_shared<const Checkpoint>(Checkpoint::open(dir));
  auto model = std::make_shared<LlavaModelImpl>(cfg, options);
  try {
    load_llava_weights(*model, std::move(ckpt));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", dir, e.what()));
  }
  return model;
}

std::shared_ptr<LlavaModelImpl> LlavaModelImpl::random(const LlavaConfig& cfg, const ModelOptions& options,
                                                       uint64_t seed) {
  auto model = std::make_shared<LlavaModelImpl>(cfg, options);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  for (auto& item : model->named_parameters(/*recurse=*/true)) {
    at::Tensor p = item.value();
    const std::string& name = item.key();
    // Norm scales at 1 and biases at 0 (as freshly initialised layers have); every other weight
    // N(0, 0.02), transformers' default initializer_range, so activations stay in a sane range.
    if (ends_with(name, "norm.weight") || ends_with(name, "layernorm.weight") ||
        ends_with(name, "layer_norm1.weight") || ends_with(name, "layer_norm2.weight") ||
        ends_with(name, "pre_layrnorm.weight") || ends_with(name, "stem.1.weight") ||
        ends_with(name, "downsample.0.weight")) {  // the last two: LLaVA-HR's ConvNeXt LayerNorm2d
      p.fill_(1.0);
    } else if (ends_with(name, ".bias")) {
      p.zero_();
    } else {
      at::Tensor values = at::empty(p.sizes(), at::TensorOptions().dtype(at::kFloat));
      values.normal_(0.0, 0.02, gen);
      p.copy_(values);
    }
  }
  return model;
}

ImageFeatures LlavaModelImpl::encode_vision(const at::Tensor& pixel_values,
                                            const std::set<int64_t>& attention_layers) const {
  VisionTowerRequest request;
  request.attention_layers = attention_layers;
  return encode_vision(pixel_values, request);
}

ImageFeatures LlavaModelImpl::encode_vision(const at::Tensor& pixel_values, const VisionTowerRequest& request) const {
  const at::Tensor pixels = pixel_values.dim() == 3 ? pixel_values.unsqueeze(0) : pixel_values;
  if (hr_tower_) {
    if (!request.attention_layers.empty() || !request.qk_layers.empty() || request.hook != nullptr) {
      throw Error("LLaVA-HR: the dual-path tower gives no vision attention, q/k or in-tower hook "
                  "(docs/llava_hr.md)");
    }
    ImageFeatures out;
    out.vision_tokens = hr_tower_->forward(pixels).squeeze(0);  // [N, Dv]
    out.vision_features = out.vision_tokens;
    return out;
  }
  const VisionTowerOutput tower = vision_tower_->forward(pixels.to(options_.device), request);
  const int64_t n_states = static_cast<int64_t>(tower.hidden_states.size());
  std::vector<at::Tensor> selected;
  for (int64_t l : cfg_.vision_feature_layers) {
    const int64_t index = vision_hidden_state_index(l, cfg_.vision.num_hidden_layers);
    PB_CHECK(index < n_states, "feature layer was not run");
    selected.push_back(tower.hidden_states[static_cast<size_t>(index)]);
  }
  const at::Tensor tokens = (selected.size() == 1 ? selected[0] : at::cat(selected, -1)).squeeze(0);  // [1+P, Dv*]
  ImageFeatures out;
  out.vision_tokens = tokens;
  // "default" drops CLS (LLaVA "patch" features); "full" keeps it.
  out.vision_features =
      cfg_.vision_feature_select_strategy == "default" ? tokens.narrow(0, 1, tokens.size(0) - 1) : tokens;
  for (const auto& [q, k] : tower.qk) {
    out.vision_qk.emplace_back(q.defined() ? q.squeeze(0) : q, k.defined() ? k.squeeze(0) : k);
  }
  for (const at::Tensor& a : tower.attentions) {
    out.vision_attentions.push_back(a.defined() ? a.squeeze(0) : a);
  }
  return out;
}

at::Tensor LlavaModelImpl::project(const at::Tensor& vision_features) const {
  return projector_->forward(vision_features);
}

ImageFeatures LlavaModelImpl::encode_image(const at::Tensor& pixel_values, const std::set<int64_t>& attention_layers,
                                           EncodeTimes* times) const {
  const bool cuda = options_.device.is_cuda();
  auto now = [cuda] {
    if (cuda) torch::cuda::synchronize();
    return std::chrono::steady_clock::now();
  };
  const auto t0 = now();
  ImageFeatures out = encode_vision(pixel_values, attention_layers);
  const auto t1 = now();
  out.image_embeds = project(out.vision_features);
  if (times != nullptr) {
    const auto t2 = now();
    times->vision_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    times->projector_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  }
  return out;
}

SplicedPrompt LlavaModelImpl::splice(const std::vector<int64_t>& ids, const at::Tensor& image_embeds) const {
  const int64_t n_image = image_embeds.size(0);
  const int64_t image_id = cfg_.image_token_index;
  std::vector<int64_t> marker_positions;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == image_id || ids[i] == kOriginalImagePlaceholder) {
      marker_positions.push_back(static_cast<int64_t>(i));
    }
  }
  if (marker_positions.empty()) {
    throw Error(fmt::format("input_ids contain no image marker ({} or {})", image_id, kOriginalImagePlaceholder));
  }
  const int64_t begin = marker_positions.front();
  const auto count = static_cast<int64_t>(marker_positions.size());
  const bool single = count == 1;
  const bool run = count == n_image && marker_positions.back() - begin == n_image - 1;
  if (!single && !run) {
    throw Error(fmt::format("input_ids mark the image with {} ids; expected one marker or a run of {}", count,
                            n_image));
  }
  std::vector<int64_t> before(ids.begin(), ids.begin() + begin);
  std::vector<int64_t> after(ids.begin() + begin + count, ids.end());
  for (int64_t id : before) {
    if (id < 0 || id >= cfg_.text.vocab_size) throw Error(fmt::format("input id {} is outside the vocabulary", id));
  }
  for (int64_t id : after) {
    if (id < 0 || id >= cfg_.text.vocab_size) throw Error(fmt::format("input id {} is outside the vocabulary", id));
  }
  const auto long_options = at::TensorOptions().dtype(at::kLong);
  auto embed = [&](const std::vector<int64_t>& part) {
    return language_model_->embed(at::tensor(part, long_options));
  };
  SplicedPrompt prompt;
  prompt.embeds = at::cat({embed(before), image_embeds.to(options_.dtype).to(options_.device), embed(after)}, 0);
  prompt.image_begin = begin;
  prompt.image_len = n_image;
  return prompt;
}

at::Tensor LlavaModelImpl::prefill(const SplicedPrompt& prompt, Session& session, PrefillObserver* observer,
                                   bool all_logits, int64_t reserve) const {
  const int64_t t = prompt.embeds.size(0);
  session.cache = language_model_->make_cache(t + std::max<int64_t>(reserve, 1));
  session.visual_tokens_per_layer.clear();
  session.visual_tokens_after_attn.clear();
  SequenceState state;
  state.hidden = prompt.embeds;
  state.positions = at::arange(t, at::TensorOptions().dtype(at::kLong));
  state.origin = state.positions;
  if (prompt.positions.defined()) state.positions = prompt.positions.to(at::kLong);
  state.image_begin = prompt.image_begin;
  state.image_len = prompt.image_len;
  state.cache = &session.cache;
  language_model_->run_layers(state, observer, &session.visual_tokens_per_layer,
                              &session.visual_tokens_after_attn);
  // The next token continues after the largest position used, so methods that keep original
  // positions and methods that re-index both decode from the right place.
  session.next_position = state.positions.max().item<int64_t>() + 1;
  const at::Tensor rows = all_logits ? state.hidden : state.hidden.narrow(0, state.hidden.size(0) - 1, 1);
  session.final_state = state;
  session.final_state.cache = nullptr;
  return language_model_->logits(rows);
}

at::Tensor LlavaModelImpl::decode_step(Session& session, int64_t token) const {
  if (token < 0 || token >= cfg_.text.vocab_size) {
    throw Error(fmt::format("token id {} is outside the vocabulary", token));
  }
  SequenceState state;
  state.hidden = language_model_->embed(at::tensor({token}, at::TensorOptions().dtype(at::kLong)));
  state.positions = at::tensor({session.next_position}, at::TensorOptions().dtype(at::kLong));
  state.origin = state.positions;
  state.cache = &session.cache;
  state.decode_positions_from_cache = session.final_state.decode_positions_from_cache;
  language_model_->run_layers(state, nullptr, nullptr);
  session.next_position += 1;
  return language_model_->logits(state.hidden).squeeze(0);
}

GreedyResult greedy_decode(const LlavaModelImpl& model, Session& session, const at::Tensor& last_logits,
                           int64_t max_new_tokens, std::optional<int64_t> eos) {
  GreedyResult result;
  at::Tensor logits = last_logits.reshape({-1});  // [V] fp32
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    // argmax takes the first index on ties, as torch.argmax in the reference does.
    const int64_t token = logits.argmax().item<int64_t>();
    const at::Tensor values = std::get<0>(at::topk(logits, 2)).to(at::kCPU);
    result.tokens.push_back(token);
    result.margins.push_back(values[0].item<float>() - values[1].item<float>());
    if ((eos && token == *eos) || step + 1 == max_new_tokens) {
      break;
    }
    logits = model.decode_step(session, token);
  }
  return result;
}

}  // namespace pb
