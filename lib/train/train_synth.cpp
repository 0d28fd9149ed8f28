#include "train/train_synth.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "core/error.h"
#include "core/hash.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "metrics/answer_metrics.h"
#include "pipeline/model_loader.h"
#include "synth/sample.h"
#include "train/patch_heads.h"
#include "train/symbol_tokens.h"
#include "train/synth_batches.h"

namespace pb {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Module-tree name -> llava-hf checkpoint name (the published layout, models/weight_names.cpp).
std::string hf_name(const std::string& name) {
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  if (starts("vision_tower.")) return "vision_tower.vision_model." + name.substr(13);
  if (starts("language_model.lm_head.")) return name;
  if (starts("language_model.")) return "language_model.model." + name.substr(15);
  return name;
}

// Writes the model's parameters as a llava-hf folder: config.json + model.safetensors in `dtype`.
void save_model_folder(const LlavaModelImpl& model, const std::string& dir, at::ScalarType dtype) {
  fs::create_directories(dir);
  std::vector<at::Tensor> keep;
  std::vector<TensorWrite> writes;
  for (const auto& item : model.named_parameters()) {
    const at::Tensor t = item.value().detach().to(at::kCPU).to(dtype).contiguous();
    keep.push_back(t);
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    writes.push_back({hf_name(item.key()), dtype == at::kBFloat16 ? DType::kBF16 : DType::kF32, shape, t.data_ptr()});
  }
  write_safetensors((fs::path(dir) / "model.safetensors").string(), writes);
  nlohmann::json config = model.config().raw;
  config["torch_dtype"] = dtype == at::kBFloat16 ? "bfloat16" : "float32";
  write_file_atomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
}

// Parameters as trainable fp32 copies (a loaded model may map its weights zero-copy, read-only).
void make_trainable(LlavaModelImpl& model) {
  for (at::Tensor& p : model.parameters()) {
    p.set_data(p.detach().clone());
    p.set_requires_grad(true);
  }
}

// The vision tower's position table set to fixed 2-D sine-cosine values (MAE, He et al. 2021,
// get_2d_sincos_pos_embed; row 0, CLS, zero) instead of N(0, 0.02) noise. A ViT trained from scratch on
// ~20k images must otherwise first learn which patches are neighbours before it can see a shape or a
// glyph across patch borders; the table stays trainable. Half the width encodes the row, half the column.
void init_vision_positions_sincos(LlavaModelImpl& model) {
  const std::string suffix = "embeddings.position_embedding.weight";
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    at::Tensor table = item.value();  // [1 + G*G, Dv]
    const int64_t width = table.size(1), grid = static_cast<int64_t>(std::lround(std::sqrt(table.size(0) - 1)));
    PB_CHECK(grid * grid + 1 == table.size(0) && width % 4 == 0, "vision position table is not [1 + G*G, 4k]");
    const int64_t quarter = width / 4;
    const at::Tensor omega = at::pow(10000.0, -at::arange(quarter, at::kDouble) / static_cast<double>(quarter));  // [W/4]
    const at::Tensor coord = at::arange(grid, at::kDouble);                                                        // [G]
    const at::Tensor rows = coord.repeat_interleave(grid).unsqueeze(1) * omega;  // [G*G, W/4] patch k's row
    const at::Tensor cols = coord.repeat({grid}).unsqueeze(1) * omega;           // [G*G, W/4] patch k's column
    const at::Tensor patches = at::cat({rows.sin(), rows.cos(), cols.sin(), cols.cos()}, 1);  // [G*G, W]
    at::NoGradGuard no_grad;
    table.zero_();
    table.narrow(0, 1, grid * grid).copy_(patches.to(table.scalar_type()));
  }
}

double learning_rate(const TrainSynthOptions& o, int64_t step) {
  if (step < o.warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  const double progress = static_cast<double>(step - o.warmup) / static_cast<double>(std::max<int64_t>(1, o.steps - o.warmup));
  const double cosine = 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress)));
  return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * cosine);
}

std::vector<SynthExample> make_examples(const SentencePieceTokenizer& tok, const LlavaConfig& cfg, uint64_t seed,
                                        int64_t first, int64_t count, int64_t turns, const std::vector<int64_t>& type_slots) {
  std::vector<SynthExample> out;
  for (int64_t i = 0; i < count; ++i) {
    out.push_back(make_synth_example(tok, cfg, "train", seed, typed_stream_index(type_slots, first + i), turns));
  }
  return out;
}

// What must match for a checkpoint to be resumed: everything that changes the trajectory.
nlohmann::json trajectory_key(const TrainSynthOptions& o, const LlavaConfig& cfg) {
  nlohmann::json key = {{"config_hash", cfg.hash()}, {"tokenizer", file_hash(o.tokenizer)}, {"batch", o.batch}, {"turns", o.turns}, {"lr", o.lr},
          {"min_lr_ratio", o.min_lr_ratio}, {"weight_decay", o.weight_decay}, {"warmup", o.warmup},
          {"seed", o.seed}, {"precision", o.precision}, {"steps", o.steps}, {"patch_loss", o.patch_loss_weight},
          {"patch_loss_form", "all+labelled"},  // PatchHeadsImpl::loss; changing it changes the trajectory
          {"vision_positions", o.vision_positions}, {"vision_steps", o.vision_steps},
          {"vision_scenes", o.vision_scenes}};
  if (o.center_image_embeds) key["center_image_embeds"] = true;
  if (o.symbolic_steps > 0 || o.align_steps > 0) {
    key["symbolic_steps"] = o.symbolic_steps;
    key["align_steps"] = o.align_steps;
    key["align_loss"] = o.align_loss_weight;
  }
  if (o.init_parts != "all") key["init_parts"] = o.init_parts;
  if (o.symbol_words) key["symbol_words"] = true;
  if (o.symbol_zero_init) key["symbol_zero_init"] = true;
  if (!o.question_types.empty()) key["question_types"] = o.question_types;
  if (o.symbolic_hide_background > 0) key["symbolic_hide_background"] = o.symbolic_hide_background;
  if (o.attention_supervision > 0) {
    key["attention_supervision"] = o.attention_supervision;
    key["supervised_layer"] = o.supervised_layer;
    if (o.route_supervision > 0) key["route_supervision"] = o.route_supervision;
    if (o.count_supervision > 0) key["count_supervision"] = o.count_supervision;
    if (o.count_per_head) key["count_per_head"] = true;
    if (o.split_routing) key["split_routing"] = true;
  }
  if (o.read_supervision > 0) {
    key["read_supervision"] = o.read_supervision;
    key["read_layer"] = o.read_layer;
  }
  if (o.image_centering > 0) key["image_centering"] = o.image_centering;
  if (o.caption_supervision > 0) {
    key["caption_supervision"] = o.caption_supervision;
    key["caption_layer"] = o.caption_layer;
  }
  if (o.mention_answer > 0) key["mention_answer"] = o.mention_answer;
  if (o.mention_position > 0) key["mention_position"] = o.mention_position;
  if (o.patch_position > 0) key["patch_position"] = o.patch_position;
  if (o.patch_position_objects) key["patch_position_objects"] = true;
  if (o.relation_offset > 0) {
    key["relation_offset"] = o.relation_offset;
    key["relation_readout_layer"] = o.relation_readout_layer;
  }
  if (o.position_head_lr_scale != 1.0) key["position_head_lr_scale"] = o.position_head_lr_scale;
  if (o.mention_answer > 0 || o.mention_position > 0) key["mention_readout_layer"] = o.mention_readout_layer;
  if (o.attention_supervision > 0 || o.read_supervision > 0) {
    if (o.supervised_heads > 0) key["supervised_heads"] = o.supervised_heads;
  }
  // Only present for a run started from other weights, so checkpoints of runs from scratch stay valid.
  if (!o.init_from.empty()) key["init_from"] = file_hash((fs::path(o.init_from) / "model.safetensors").string());
  return key;
}

struct AutocastScope {
  AutocastScope(bool on, bool cuda) : on_(on), cuda_(cuda) {
    if (!on_) return;
    if (cuda_) {
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    } else {
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
  }
  ~AutocastScope() {
    if (!on_) return;
    if (cuda_) at::autocast::set_enabled(false); else at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  bool on_, cuda_;
};

nlohmann::json evaluate(const LlavaModelImpl& model, const SentencePieceTokenizer& tok, int64_t n) {
  c10::InferenceMode guard;
  std::map<std::string, std::pair<double, int64_t>> per_type;
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const SynthExample e = make_synth_example(tok, model.config(), "val", 0, i);
    const synth::Sample s = synth::make_sample("val", 0, i);
    const int64_t size = model.config().vision.image_size;
    const at::Tensor pixels = at::from_blob(const_cast<float*>(e.pixels.data()), {3, size, size}, at::kFloat).clone();
    Session session;
    const at::Tensor logits = model.prefill(model.splice(e.prompt_ids, model.encode_image(pixels).image_embeds),
                                            session, nullptr, false, 16);
    const int64_t eos = model.config().text.eos_token_id;
    const GreedyResult g = greedy_decode(model, session, logits, 10, eos);
    const double score =
        score_answer(MetricMode::kOfficial, tok.decode_generated(g.tokens, eos), s.question.annotators).score;
    per_type[e.type].first += score;
    per_type[e.type].second += 1;
    total += score;
  }
  nlohmann::json out = {{"samples", n}, {"accuracy", n > 0 ? total / static_cast<double>(n) : 0.0}};
  for (const auto& [type, v] : per_type) out["per_type"][type] = v.first / static_cast<double>(v.second);
  return out;
}

// The projector's output over a batch's image tokens shares one large component (measured on the
// embedded model at step 4000: |mean| 19 against a median per-patch deviation of 2), so after RMSNorm
// every image token looks alike and the language model's attention over them stayed uniform (entropy
// 6.2-6.35 of ln 576 = 6.36); docs/synthvqa.md. Moving that mean into the bias leaves each token its own content.
void center_image_embeds(LlavaModelImpl& model, const TrainingBatch& batch, std::ofstream& log) {
  at::Tensor mean;
  {
    at::NoGradGuard no_grad;
    const at::Tensor features = batched_vision_features(model, batch);  // [B, P, Dv]
    mean = model.project(features.flatten(0, 1)).mean(0);                // [D]
  }
  for (auto& item : model.named_parameters()) {
    if (item.key() != "multi_modal_projector.linear_2.bias") continue;
    at::NoGradGuard no_grad;
    item.value().sub_(mean.to(item.value().dtype()));
    log << nlohmann::json{{"center_image_embeds", {{"mean_norm", mean.norm().item<double>()}}}}.dump() << "\n";
    return;
  }
  throw Error("--center-image-embeds: the projector has no multi_modal_projector.linear_2.bias");
}

// What a step trains, by its index: the stages run in this order.
enum class Stage { kVision, kSymbolic, kAlign, kFull };

Stage stage_of(const TrainSynthOptions& o, int64_t step) {
  if (step < o.vision_steps) return Stage::kVision;
  if (step < o.vision_steps + o.symbolic_steps) return Stage::kSymbolic;
  if (step < o.vision_steps + o.symbolic_steps + o.align_steps) return Stage::kAlign;
  return Stage::kFull;
}

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kVision: return "vision";
    case Stage::kSymbolic: return "symbolic";
    case Stage::kAlign: return "align";
    case Stage::kFull: return "full";
  }
  return "?";
}

// [B, L] bool: the image positions of `batch` with neither an object nor a sign character.
at::Tensor background_keys(const TrainingBatch& batch) {
  const at::Tensor labels = batch.patch_labels;  // [B, 5, P]
  const at::Tensor background = labels.select(1, kLabelColour).eq(0).logical_and(labels.select(1, kLabelCharacter).eq(0));
  at::Tensor hidden = at::zeros(batch.targets.sizes(), at::kBool);
  hidden.narrow(1, batch.image_pos, labels.size(2)).copy_(background);
  return hidden;
}

// The vision tower's weights of `from` copied into `to` (--init-parts vision).
void copy_vision_tower(const LlavaModelImpl& from, LlavaModelImpl& to) {
  const auto source = from.named_parameters();
  at::NoGradGuard no_grad;
  for (auto& item : to.named_parameters()) {
    if (item.key().rfind("vision_tower.", 0) != 0) continue;
    item.value().copy_(source[item.key()]);
  }
}

}  // namespace

TrainSynthResult train_synth(const TrainSynthOptions& o) {
  if (o.precision != "bf16" && o.precision != "fp32") throw Error(fmt::format("--precision '{}' must be bf16 or fp32", o.precision));
  if (o.batch <= 0 || o.steps <= 0) throw Error("train-synth: --steps and --batch must be positive");
  const std::vector<int64_t> type_slots = question_type_slots(o.question_types);
  PB_CHECK(o.route_supervision == 0 || o.attention_supervision > 0,
           "train-synth: --route-supervision needs --attention-supervision (it supervises the layer after it)");
  PB_CHECK(!o.patch_position_objects || o.patch_position > 0, "train-synth: --patch-position-objects needs --patch-position");
  PB_CHECK(!o.split_routing || o.route_supervision > 0, "train-synth: --split-routing needs --route-supervision");
  PB_CHECK(!o.count_per_head || o.count_supervision > 0, "train-synth: --count-per-head needs --count-supervision");
  PB_CHECK(o.count_supervision == 0 || o.attention_supervision > 0,
           "train-synth: --count-supervision needs --attention-supervision (it replaces its target on count questions)");
  if (o.init_parts != "all" && o.init_parts != "vision") throw Error(fmt::format("--init-parts '{}' must be all or vision", o.init_parts));
  if (o.symbolic_steps < 0 || o.align_steps < 0 || o.vision_steps < 0) {
    throw Error("train-synth: --vision-steps, --symbolic-steps and --align-steps must not be negative");
  }
  set_threads(o.threads);
  const LlavaConfig cfg = load_llava_config(o.config);
  // `what` names the option and the layer it puts supervision in.
  auto check_layer = [&](const std::string& what, int64_t layer) {
    if (layer >= cfg.text.num_hidden_layers) {
      throw Error(fmt::format("train-synth: {} is past the model's {} decoder layers ({})", what,
                              cfg.text.num_hidden_layers, o.config));
    }
  };
  if (o.attention_supervision > 0) check_layer(fmt::format("--supervised-layer {}", o.supervised_layer), o.supervised_layer);
  if (o.attention_supervision > 0 && o.route_supervision > 0) {
    check_layer(fmt::format("--supervised-layer {} with --route-supervision: routing in layer {}", o.supervised_layer,
                            o.supervised_layer + 1),
                o.supervised_layer + 1);
  }
  if (o.read_supervision > 0) check_layer(fmt::format("--read-layer {}", o.read_layer), o.read_layer);
  if (o.caption_supervision > 0) check_layer(fmt::format("--caption-layer {}", o.caption_layer), o.caption_layer);
  if (o.mention_answer > 0 || o.mention_position > 0) {
    check_layer(fmt::format("--mention-readout-layer {}", o.mention_readout_layer), o.mention_readout_layer);
  }
  if (o.relation_offset > 0) {
    check_layer(fmt::format("--relation-readout-layer {}", o.relation_readout_layer), o.relation_readout_layer);
  }
  const SentencePieceTokenizer tok = SentencePieceTokenizer::load(o.tokenizer);
  ModelSource source;
  source.device = o.device;
  const ModelOptions options = model_options(source);  // fp32 master weights
  const bool cuda = options.device.is_cuda();

  const fs::path work(o.work_dir), ckpt = work / "checkpoint";
  fs::create_directories(work);
  const nlohmann::json key = trajectory_key(o, cfg);
  std::shared_ptr<LlavaModelImpl> model;
  int64_t step = 0;
  // Which precision ran from which step on: [{"from_step": 0, "precision": ...}, ...]. A run resumed on a
  // machine where the other precision is the fast one may switch (--allow-precision-change); the
  // trajectory is then reproducible given this history, which the checkpoint and the log keep.
  nlohmann::json precision_history = nlohmann::json::array({{{"from_step", 0}, {"precision", o.precision}}});
  if (fs::exists(ckpt / "state.json")) {
    const nlohmann::json state = read_json_file((ckpt / "state.json").string());
    step = state.at("step").get<int64_t>();
    const nlohmann::json stored = state.at("key");
    precision_history = state.value("precision_history", nlohmann::json::array(
                                        {{{"from_step", 0}, {"precision", stored.value("precision", "")}}}));
    nlohmann::json stored_rest = stored, key_rest = key;
    stored_rest.erase("precision");
    key_rest.erase("precision");
    const bool precision_only = stored_rest == key_rest;
    if (stored != key && !(precision_only && o.allow_precision_change)) {
      throw Error(fmt::format("{}: the checkpoint was made with other settings ({}); use another --work-dir{}",
                              (ckpt / "state.json").string(), stored.dump(),
                              precision_only ? " (or --allow-precision-change to switch precision from here on)" : ""));
    }
    if (stored != key) precision_history.push_back({{"from_step", step}, {"precision", o.precision}});
    model = LlavaModelImpl::load(ckpt.string(), options);
  } else if (!o.init_from.empty()) {
    model = LlavaModelImpl::load(o.init_from, options);
    // The architecture, not the storage type: an export is bf16 (torch_dtype "bfloat16"), a --config fp32.
    LlavaConfig stored = model->config();
    stored.torch_dtype = cfg.torch_dtype;
    if (stored.hash() != cfg.hash()) {
      throw Error(fmt::format("--init-from {}: its config.json is not the architecture of --config {}", o.init_from, o.config));
    }
    if (o.init_parts == "vision") {
      std::shared_ptr<LlavaModelImpl> fresh = LlavaModelImpl::random(cfg, options, o.seed);
      make_trainable(*fresh);
      copy_vision_tower(*model, *fresh);
      model = fresh;
    }
  } else {
    model = LlavaModelImpl::random(cfg, options, o.seed);
    if (o.vision_positions == "sincos") init_vision_positions_sincos(*model);
  }
  make_trainable(*model);
  // Training-only heads; their own seed stream, so the model's initial weights do not depend on them.
  PatchHeads heads(cfg.vision.hidden_size, o.seed + 1);
  const bool use_heads = o.patch_loss_weight > 0 || o.vision_steps > 0;
  heads->to(options.device);
  if (step > 0 && use_heads) {
    torch::load(heads, (ckpt / "patch_heads.pt").string());
  } else if (!o.init_from.empty() && use_heads) {
    // An exported model (models/synthvqa-tiny) has no patch heads: they start fresh, as the position
    // heads do. Their small initial weights pass little gradient into the tower until they have learnt.
    const fs::path init_heads = fs::path(o.init_from) / "patch_heads.pt";
    if (fs::exists(init_heads)) {
      torch::load(heads, init_heads.string());
    } else if (!o.quiet) {
      fmt::print(stderr, "train-synth: {} has no patch_heads.pt; the patch heads start fresh\n", o.init_from);
    }
  }

  // Training-only position heads, each on its own seed stream (seed + 3, + 4, + 5); a run --init-from a
  // checkpoint that has one goes on from it, else starts it fresh. Separate heads: what layer 0's value and output maps make
  // of the patches' position at a mention need not lie where the input carries it (measured with one
  // shared head: patches 0.08 of the side, mentions stuck at 0.18).
  struct PositionHeadSlot {
    PositionHead head;
    bool used;
    const char* file;  // in the checkpoint folder
  };
  std::array<PositionHeadSlot, 3> position_heads = {{{PositionHead(cfg.text.hidden_size, o.seed + 3), o.mention_position > 0, "position_head.pt"},
                                                     {PositionHead(cfg.text.hidden_size, o.seed + 4), o.patch_position > 0, "patch_position_head.pt"},
                                                     {PositionHead(cfg.text.hidden_size, o.seed + 5), o.relation_offset > 0, "relation_head.pt"}}};
  PositionHead& mention_head = position_heads[0].head;
  PositionHead& patch_head = position_heads[1].head;
  PositionHead& relation_head = position_heads[2].head;
  for (PositionHeadSlot& slot : position_heads) {
    slot.head->to(options.device);
    if (step > 0 && slot.used) {
      torch::load(slot.head, (ckpt / slot.file).string());
    } else if (slot.used && !o.init_from.empty() && fs::exists(fs::path(o.init_from) / slot.file)) {
      torch::load(slot.head, (fs::path(o.init_from) / slot.file).string());
    }
  }

  const bool use_symbols = o.symbolic_steps > 0 || o.align_steps > 0;
  const int64_t grid = cfg.vision.image_size / cfg.vision.patch_size;
  std::vector<int64_t> colour_words, shape_words;
  if (o.symbol_words) {
    auto word = [&](const char* name) {
      const std::vector<int32_t> ids = tok.encode(name);
      PB_CHECK(ids.size() == 1, fmt::format("--symbol-words: the tokenizer splits '{}' into {} pieces", name, ids.size()));
      return static_cast<int64_t>(ids[0]);
    };
    for (synth::Colour c : synth::kColours) colour_words.push_back(word(synth::colour_name(c)));
    for (synth::Shape s : synth::kShapes) shape_words.push_back(word(synth::shape_name(s)));
  }
  // Their own seed stream too (seed + 2), so adding the curriculum leaves the model's initial weights alone.
  SymbolTokens symbols(cfg.text.hidden_size, grid, o.seed + 2, colour_words, shape_words, o.symbol_zero_init);
  const at::Tensor word_table = model->language_model()->named_parameters()["embed_tokens.weight"];  // [V, D]
  symbols->to(options.device);
  if (step > 0 && use_symbols) {
    torch::load(symbols, (ckpt / "symbol_tokens.pt").string());
  } else if (use_symbols && !o.init_from.empty() && o.init_parts == "all" &&
             fs::exists(fs::path(o.init_from) / "symbol_tokens.pt")) {
    torch::load(symbols, (fs::path(o.init_from) / "symbol_tokens.pt").string());  // a run that goes on with the curriculum
  }

  std::vector<at::Tensor> decay, no_decay;  // norms and biases are not decayed (GPT-2 / LLaMA practice)
  for (const at::Tensor& p : model->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  if (use_heads) {
    for (const at::Tensor& p : heads->parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  }
  // With --position-head-lr-scale 1 the position heads share the model's groups (as checkpoints made
  // before the option have them); otherwise they get a third group, undecayed, at the scaled rate.
  const bool own_position_group = o.position_head_lr_scale != 1.0;
  std::vector<at::Tensor> position_params;
  for (const PositionHeadSlot& slot : position_heads) {
    if (!slot.used) continue;
    for (const at::Tensor& p : slot.head->parameters()) {
      (own_position_group ? position_params : p.dim() >= 2 ? decay : no_decay).push_back(p);
    }
  }
  // The symbol tables are not decayed: they are the targets the alignment stage regresses to, and decay
  // would keep shrinking them between the stages.
  if (use_symbols) for (const at::Tensor& p : symbols->parameters()) no_decay.push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(o.weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0)));
  const size_t position_group = groups.size();  // its index, when the heads have their own group
  if (!position_params.empty()) {
    groups.emplace_back(position_params, std::make_unique<torch::optim::AdamWOptions>(
                                             torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(0.0)));
  }
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(o.lr));
  if (step > 0) torch::load(optimizer, (ckpt / "optimizer.pt").string());

  const int64_t image_tokens = model->image_tokens(), size = cfg.vision.image_size;
  std::ofstream log((work / "train_log.jsonl").string(), std::ios::app);
  if (precision_history.size() > 1 && precision_history.back()["from_step"] == step) {
    log << nlohmann::json{{"step", step}, {"precision_from_here", o.precision}}.dump() << "\n";
  }
  TrainSynthResult result;
  std::vector<double> window;
  double window_token_acc = 0;
  double window_patch_loss = 0, window_align_loss = 0;
  AttentionSupervision supervision;
  if (o.attention_supervision > 0) {
    supervision.mention_layer = o.supervised_layer;
    if (o.route_supervision > 0) supervision.route_layer = o.supervised_layer + 1;
    supervision.count_centres = o.count_supervision > 0;
    supervision.count_per_head = o.count_per_head;
    supervision.split_routing = o.split_routing;
  }
  if (o.read_supervision > 0) supervision.read_layer = o.read_layer;
  supervision.caption = o.caption_supervision > 0;
  supervision.caption_layer = o.caption_layer;
  supervision.mention_answer = o.mention_answer > 0;
  supervision.mention_position = o.mention_position > 0;
  supervision.mention_readout_layer = o.mention_readout_layer;
  supervision.relation_offset = o.relation_offset > 0;
  supervision.relation_readout_layer = o.relation_readout_layer;
  supervision.heads = o.supervised_heads;
  // Each attention supervision's loss and mass, averaged over the window's steps that had it.
  // Each term's second figure ("mass") is what says whether its target is met: the attention mass, the
  // caption accuracy, or for centering the shared share itself (then its loss, so not logged twice).
  struct SupervisionWindow {
    const char* name;       // log key <name>_loss
    double weight;
    const char* mass_key;   // log key of the second figure (nullptr: none)
    const char* progress;   // its label on the progress line
    double loss = 0, mass = 0;
    int64_t steps = 0;
  };
  // The mention supervision's mass was logged as focus_mass from its first runs on.
  std::array<SupervisionWindow, 10> supervised = {{{"attention", o.attention_supervision, "focus_mass", "focus mass"},
                                                   {"route", o.route_supervision, "route_mass", "route mass"},
                                                   {"count", o.count_supervision, "count_mass", "count mass"},
                                                   {"read", o.read_supervision, "read_mass", "read mass"},
                                                   {"caption", o.caption_supervision, "caption_accuracy", "caption acc"},
                                                   {"centering", o.image_centering, nullptr, "image mean share"},
                                                   {"mention_answer", o.mention_answer, "mention_answer_accuracy", "mention answer acc"},
                                                   {"position", o.mention_position, "position_error", "position error"},
                                                   {"patch_position", o.patch_position, "patch_position_error", "patch position error"},
                                                   {"relation", o.relation_offset, "relation_error", "relation error"}}};
  int64_t window_answers = 0, window_correct_answers = 0;
  std::vector<int64_t> window_answers_by_type, window_correct_by_type;  // index: synth::kQuestionTypes
  int64_t window_object_patches = 0, window_colour_right = 0, window_shape_right = 0;
  int64_t window_sign_patches = 0, window_character_right = 0;
  // Speed is measured per logging window: a vision-stage step costs a fraction of a full one, so an
  // average since the start would misstate both the speed and the time left.
  auto window_start = Clock::now();
  int64_t window_first_step = step;
  // Examples are made on this thread between steps, not prefetched on another: on 2 cores a third
  // runnable thread stalls LibTorch's OpenMP team at every barrier (measured: 4.0 s per step with an
  // async prefetch vs 2.3 s per step plus ~0.1 s of generation without), docs/synthvqa.md.
  auto batch_for = [&](int64_t s) {
    if (s < o.vision_steps && o.vision_scenes == "dense") {
      std::vector<SynthExample> dense;
      for (int64_t i = 0; i < o.batch; ++i) dense.push_back(make_dense_vision_example(cfg, o.seed, s * o.batch + i));
      return collate_vision(dense, size, image_tokens);
    }
    return collate(make_examples(tok, cfg, o.seed, s * o.batch, o.batch, o.turns, type_slots), size, image_tokens);
  };
  auto save_checkpoint = [&] {
    const fs::path tmp = work / "checkpoint.tmp";
    fs::remove_all(tmp);
    save_model_folder(*model, tmp.string(), at::kFloat);
    torch::save(optimizer, (tmp / "optimizer.pt").string());
    if (use_heads) torch::save(heads, (tmp / "patch_heads.pt").string());
    if (use_symbols) torch::save(symbols, (tmp / "symbol_tokens.pt").string());
    for (const PositionHeadSlot& slot : position_heads) if (slot.used) torch::save(slot.head, (tmp / slot.file).string());
    write_file_atomic((tmp / "state.json").string(),
                      nlohmann::json{{"key", key}, {"step", step}, {"precision_history", precision_history}}.dump(2) + "\n");
    fs::remove_all(ckpt);
    fs::rename(tmp, ckpt);
  };
  const int64_t last_step = o.stop_after > 0 ? std::min(o.steps, step + o.stop_after) : o.steps;
  while (step < last_step) {
    TrainingBatch batch = batch_for(step);
    const Stage stage = stage_of(o, step);
    if (o.center_image_embeds && step == o.vision_steps + o.symbolic_steps + o.align_steps) center_image_embeds(*model, batch, log);
    const double lr = learning_rate(o, step);
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
      const double scale = g == position_group ? o.position_head_lr_scale : 1.0;
      static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[g].options()).lr(lr * scale);
    }
    optimizer.zero_grad();
    BatchLoss loss;
    PatchHeadLoss patch;
    at::Tensor align;
    // The vision stage trains the tower on the patch labels alone, at a fifth of a full step's cost.
    const bool vision_only = stage == Stage::kVision;
    at::Tensor total;  // what this step minimises
    {
      AutocastScope autocast(o.precision == "bf16", cuda);
      switch (stage) {
        case Stage::kVision:
          loss.vision_features = batched_vision_features(*model, batch);
          break;
        case Stage::kSymbolic:  // no vision tower: the language model reads the symbolic tokens
          if (step < o.vision_steps + o.symbolic_hide_background) batch.hidden_keys = background_keys(batch);
          loss = batch_loss(*model, batch, symbols->forward(batch.patch_labels, word_table), supervision);
          break;
        case Stage::kAlign: {  // no language model: tower + projector learn to produce the symbolic tokens
          loss.vision_features = batched_vision_features(*model, batch);
          const at::Tensor image = model->project(loss.vision_features.flatten(0, 1)).view(
              {batch.pixels.size(0), image_tokens, cfg.text.hidden_size});  // [B, P, D]
          align = alignment_loss(image, symbols->forward(batch.patch_labels, word_table), batch.patch_labels);
          break;
        }
        case Stage::kFull:
          loss = batch_loss(*model, batch, {}, supervision);
          if (use_symbols && o.align_loss_weight > 0) {
            align = alignment_loss(loss.image_embeds, symbols->forward(batch.patch_labels, word_table), batch.patch_labels);
          }
          break;
      }
      if (use_heads && loss.vision_features.defined()) patch = heads->loss(loss.vision_features, batch.patch_labels);
    }
    switch (stage) {
      case Stage::kVision: total = patch.loss; break;
      case Stage::kSymbolic: total = loss.loss; break;
      case Stage::kAlign: total = patch.loss.defined() ? align + o.patch_loss_weight * patch.loss : align; break;
      case Stage::kFull:
        total = o.patch_loss_weight > 0 ? loss.loss + o.patch_loss_weight * patch.loss : loss.loss;
        if (align.defined()) total = total + o.align_loss_weight * align;
        break;
    }
    at::Tensor mean_share;  // image_mean_share of this step's image embeddings, with --image-centering
    if (o.image_centering > 0 && stage == Stage::kFull && loss.image_embeds.defined()) mean_share = image_mean_share(loss.image_embeds);
    PositionHeadImpl::Loss position;  // with --mention-position, on this step's spatial mentions
    if (o.mention_position > 0 && loss.position_inputs.defined()) {
      position = mention_head->loss(loss.position_inputs, loss.position_targets);
    }
    PositionHeadImpl::Loss patch_position;  // with --patch-position, every image patch's own centre
    if (o.patch_position > 0 && stage == Stage::kFull && loss.image_embeds.defined()) {
      at::Tensor on_object;  // [B*P] bool, with --patch-position-objects: the patches an object covers
      if (o.patch_position_objects) on_object = batch.patch_labels.select(1, kLabelColour).flatten().gt(0);
      patch_position = patch_head->loss(loss.image_embeds.flatten(0, 1), patch_centres(grid, loss.image_embeds.size(0)), on_object);
    }
    // With --relation-offset, on this step's spatial answers; its error is in halves of the side (the
    // head reads half the offset), so it is doubled for the log.
    PositionHeadImpl::Loss relation;
    if (o.relation_offset > 0 && loss.relation_inputs.defined()) {
      relation = relation_head->loss(loss.relation_inputs, loss.relation_targets);
      relation.mean_error *= 2;
    }
    const std::array<std::pair<const at::Tensor*, double>, 10> supervision_terms = {
        {{&loss.attention_loss, loss.focus_mass}, {&loss.route_loss, loss.route_mass},
         {&loss.count_loss, loss.count_mass}, {&loss.read_loss, loss.read_mass},
         {&loss.caption_loss, loss.caption_accuracy},
         {&mean_share, mean_share.defined() ? mean_share.item<double>() : 0.0},
         {&loss.mention_answer_loss, loss.mention_answer_accuracy},
         {&position.loss, position.mean_error},
         {&patch_position.loss, patch_position.mean_error},
         {&relation.loss, relation.mean_error}}};
    for (size_t k = 0; k < supervised.size(); ++k) {
      const auto& [term, mass] = supervision_terms[k];
      if (!term->defined()) continue;
      total = total + supervised[k].weight * *term;
      supervised[k].loss += term->item<double>();
      supervised[k].mass += mass;
      ++supervised[k].steps;
    }
    total.backward();
    at::Tensor norm = at::zeros({}, at::kFloat);
    {
      // Global gradient-norm clipping at 1.0 (GPT-2 / LLaMA training practice).
      std::vector<at::Tensor> grads;
      std::vector<at::Tensor> params = model->parameters();
      if (use_heads) for (const at::Tensor& p : heads->parameters()) params.push_back(p);
      if (use_symbols) for (const at::Tensor& p : symbols->parameters()) params.push_back(p);
      for (const PositionHeadSlot& slot : position_heads) {
        if (slot.used) for (const at::Tensor& p : slot.head->parameters()) params.push_back(p);
      }
      for (const at::Tensor& p : params) if (p.grad().defined()) grads.push_back(p.grad().norm().pow(2));
      norm = at::stack(grads).sum().sqrt();
      const double scale = std::min(1.0, 1.0 / (norm.item<double>() + 1e-6));
      if (scale < 1.0) for (const at::Tensor& p : params) if (p.grad().defined()) p.grad().mul_(scale);
    }
    optimizer.step();
    ++step;
    // `loss` in the log: the answer loss, or in the vision and alignment stages that stage's own loss.
    const double l = (stage == Stage::kVision ? patch.loss : stage == Stage::kAlign ? align : loss.loss).item<double>();
    PB_CHECK(std::isfinite(l), fmt::format("train-synth: loss is {} at step {}", l, step));
    window.push_back(l);
    window_token_acc += static_cast<double>(loss.correct_tokens) / static_cast<double>(std::max<int64_t>(1, loss.tokens));
    window_answers += loss.answers;
    window_correct_answers += loss.correct_answers;
    window_answers_by_type.resize(std::max(window_answers_by_type.size(), loss.answers_by_type.size()), 0);
    window_correct_by_type.resize(window_answers_by_type.size(), 0);
    for (size_t t = 0; t < loss.answers_by_type.size(); ++t) {
      window_answers_by_type[t] += loss.answers_by_type[t];
      window_correct_by_type[t] += loss.correct_answers_by_type[t];
    }
    if (align.defined()) window_align_loss += align.item<double>();
    if (use_heads && patch.loss.defined()) {
      window_patch_loss += patch.loss.item<double>();
      window_object_patches += patch.object_patches;
      window_colour_right += patch.colour_right;
      window_shape_right += patch.shape_right;
      window_sign_patches += patch.sign_patches;
      window_character_right += patch.character_right;
    }
    // A window also ends with its stage, so no logged figure mixes two stages' losses.
    if (static_cast<int64_t>(window.size()) == o.log_every || step == o.steps || stage_of(o, step) != stage) {
      double mean = 0;
      for (double v : window) mean += v;
      mean /= static_cast<double>(window.size());
      const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
      const double per_sample_ms = 1000 * seconds / static_cast<double>((step - window_first_step) * o.batch);
      if (result.first_loss == 0) result.first_loss = mean;
      result.last_loss = mean;
      nlohmann::json entry = {{"step", step}, {"samples", step * o.batch}, {"loss", mean},
                              {"token_accuracy", window_token_acc / static_cast<double>(window.size())}, {"lr", lr},
                              {"grad_norm", norm.item<double>()}, {"ms_per_sample", per_sample_ms},
                              {"stage", stage_name(stage)}};
      if (window_answers > 0) entry["answer_accuracy"] = static_cast<double>(window_correct_answers) / static_cast<double>(window_answers);
      for (size_t t = 0; t < window_answers_by_type.size(); ++t) {
        if (window_answers_by_type[t] == 0) continue;
        entry["answer_accuracy_by_type"][synth::question_type_name(synth::kQuestionTypes[t])] =
            static_cast<double>(window_correct_by_type[t]) / static_cast<double>(window_answers_by_type[t]);
      }
      if (window_align_loss > 0) entry["align_loss"] = window_align_loss / static_cast<double>(window.size());
      for (const SupervisionWindow& w : supervised) {
        if (w.steps == 0) continue;
        entry[std::string(w.name) + "_loss"] = w.loss / static_cast<double>(w.steps);
        if (w.mass_key != nullptr) entry[w.mass_key] = w.mass / static_cast<double>(w.steps);
      }
      const double object_patches = static_cast<double>(std::max<int64_t>(1, window_object_patches));
      if (use_heads) {
        entry["patch_loss"] = window_patch_loss / static_cast<double>(window.size());
        entry["patch_colour_accuracy"] = static_cast<double>(window_colour_right) / object_patches;
        entry["patch_shape_accuracy"] = static_cast<double>(window_shape_right) / object_patches;
        entry["patch_character_accuracy"] =
            static_cast<double>(window_character_right) / static_cast<double>(std::max<int64_t>(1, window_sign_patches));
      }
      log << entry.dump() << "\n";
      log.flush();
      if (!o.quiet) {
        // In the vision stage only its own end can be foreseen at this speed.
        const int64_t stage_end = vision_only ? o.vision_steps : o.steps;
        std::string answers =
            window_answers > 0 ? fmt::format("  answer acc {:.3f}", static_cast<double>(window_correct_answers) / static_cast<double>(window_answers)) : "";
        for (const SupervisionWindow& w : supervised) {
          if (w.steps == 0) continue;
          answers += fmt::format("  {} {:.2f}", w.progress, w.mass / static_cast<double>(w.steps));
        }
        const double eta = per_sample_ms * static_cast<double>((stage_end - step) * o.batch) / 60000.0;
        const std::string patches =
            use_heads
                ? fmt::format("  patch colour/shape/char {:.2f}/{:.2f}/{:.2f}", window_colour_right / object_patches,
                              window_shape_right / object_patches,
                              static_cast<double>(window_character_right) /
                                  static_cast<double>(std::max<int64_t>(1, window_sign_patches)))
                : "";
        fmt::print(stderr, "{}step {}/{} {}  loss {:.4f}  token acc {:.3f}{}{}  lr {:.2e}  {:.0f} ms/sample  {} {:.0f} min{}",
                   isatty(2) ? "\r" : "", step, o.steps, stage_name(stage), mean, window_token_acc / static_cast<double>(window.size()),
                   answers, patches, lr, per_sample_ms, vision_only ? "vision stage ends in" : "eta", eta,
                   isatty(2) ? "   " : "\n");
      }
      window.clear();
      window_token_acc = 0;
      window_patch_loss = window_align_loss = 0;
      for (SupervisionWindow& w : supervised) w.loss = w.mass = 0, w.steps = 0;
      window_answers = window_correct_answers = 0;
      window_answers_by_type.clear();
      window_correct_by_type.clear();
      window_object_patches = window_colour_right = window_shape_right = 0;
      window_sign_patches = window_character_right = 0;
    }
    if (step % o.checkpoint_every == 0 || step == last_step) save_checkpoint();
    // Evaluation reads pixels through the tower and projector: meaningless before the alignment stage.
    const bool reads_pixels = step > o.vision_steps + o.symbolic_steps;
    if (o.eval_samples > 0 && reads_pixels && (step % o.eval_every == 0 || step == o.steps)) {
      result.last_eval = evaluate(*model, tok, o.eval_samples);
      result.last_eval["step"] = step;
      log << nlohmann::json{{"step", step}, {"eval", result.last_eval}}.dump() << "\n";
      log.flush();
      if (!o.quiet) fmt::print(stderr, "\nval accuracy at step {}: {}\n", step, result.last_eval.dump());
    }
    if (window.empty()) {  // a window was just logged: time the next from here, checkpoint and evaluation left out
      window_start = Clock::now();
      window_first_step = step;
    }
  }
  result.steps_done = step;
  if (!o.export_dir.empty() && step == o.steps) {
    save_model_folder(*model, o.export_dir, at::kBFloat16);
    fs::copy_file(o.tokenizer, fs::path(o.export_dir) / "tokenizer.model", fs::copy_options::overwrite_existing);
  }
  return result;
}

nlohmann::json evaluate_synth_model(const std::string& model_dir, int64_t n, int threads) {
  ModelSource source;
  source.model = model_dir;
  source.threads = threads;
  const LlavaModel model = load_model(source);
  const SentencePieceTokenizer tok = SentencePieceTokenizer::load(default_tokenizer_path(model_dir));
  return evaluate(*model, tok, n);
}

}  // namespace pb
