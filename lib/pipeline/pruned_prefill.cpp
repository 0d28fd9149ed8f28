#include "pipeline/pruned_prefill.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include <chrono>

#include "core/error.h"

namespace pb {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point& t, bool cuda) {
  if (cuda) torch::cuda::synchronize();
  const auto now = Clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - t).count();
  t = now;
  return ms;
}

// Runs the method's observer, then `extra`; times the method and records what it kept, as
// original image-token indices (`original` maps the LLM's image rows to them).
class StageRecorder : public PrefillObserver {
 public:
  StageRecorder(PrefillObserver* method, PrefillObserver* extra, int64_t image_begin, at::Tensor original,
                PrunedPrefill& out)
      : method_(method), extra_(extra), image_begin_(image_begin), original_(std::move(original)), out_(out) {}

  bool wants_attention(int64_t layer) const override {
    return (method_ && method_->wants_attention(layer)) || (extra_ && extra_->wants_attention(layer));
  }
  void before_layers(SequenceState& state) override {
    if (method_ != nullptr) {
      const at::Tensor origin = state.origin;
      auto t = Clock::now();
      method_->before_layers(state);
      out_.prune_ms += ms_since(t, false);
      if (!state.origin.is_same(origin)) record("kept_layer0", state.origin);
    }
    if (extra_ != nullptr) extra_->before_layers(state);
  }
  at::Tensor after_attention(int64_t layer, const SequenceState& state, const at::Tensor& attention) override {
    if (method_ == nullptr) return {};
    auto t = Clock::now();
    const at::Tensor rows = method_->after_attention(layer, state, attention);
    out_.prune_ms += ms_since(t, false);
    if (rows.defined()) {
      const at::Tensor origin = state.origin.index_select(0, rows.to(state.origin.device()));
      record(fmt::format("kept_layer{}_mid", layer), origin);
    }
    return rows;
  }
  void after_layer(int64_t layer, SequenceState& state, const at::Tensor& attention) override {
    if (method_ != nullptr) {
      // Rows changed when origin was replaced (keep_rows and insertion both replace it).
      const at::Tensor origin = state.origin;
      auto t = Clock::now();
      method_->after_layer(layer, state, attention);
      out_.prune_ms += ms_since(t, false);
      if (!state.origin.is_same(origin)) record(fmt::format("kept_layer{}", layer + 1), state.origin);
    }
    if (extra_ != nullptr) extra_->after_layer(layer, state, attention);
  }

 private:
  // `origin` [rows] int64: indices into the spliced prompt; keep those inside the image span
  // (inserted rows, origin -1, are no original token and are left out).
  void record(const std::string& name, const at::Tensor& origin) {
    const at::Tensor o = origin.to(at::kCPU);
    const int64_t n = original_.size(0);
    const at::Tensor in_span = (o >= image_begin_) & (o < image_begin_ + n);
    out_.kept.emplace_back(name, original_.index_select(0, o.masked_select(in_span) - image_begin_));
  }
  PrefillObserver* method_;
  PrefillObserver* extra_;
  int64_t image_begin_;
  at::Tensor original_;  // [n] int64: original image-token index of each image row entering the LLM
  PrunedPrefill& out_;
};

// Splices the kept image rows into the prompt and runs the LLM prefill with the method's observer.
// `original_positions`: the kept rows keep their unpruned positions and the text after the image
// continues from the unpruned image length (RoPE gaps where rows were dropped).
void splice_and_prefill(const LlavaModelImpl& model, Pruner& pruner, const std::vector<int64_t>& ids,
                        const at::Tensor& embeds, const at::Tensor& original, bool original_positions,
                        Session& session, bool all_logits, int64_t reserve, PrefillObserver* extra,
                        PrunedPrefill& out) {
  out.image.image_embeds = embeds;  // [n, D]
  out.prompt = model.splice(ids, embeds);
  if (original_positions) {
    const int64_t begin = out.prompt.image_begin;
    const int64_t tail = out.prompt.embeds.size(0) - begin - out.prompt.image_len;
    out.prompt.positions = at::cat({at::arange(begin, at::kLong), original + begin,
                                    at::arange(tail, at::kLong) + (begin + out.image_tokens)});
  }
  StageRecorder recorder(pruner.llm_observer(), extra, out.prompt.image_begin, original, out);
  const double prune_before_llm = out.prune_ms;
  const bool cuda = model.options().device.is_cuda();
  auto t = Clock::now();
  out.logits = model.prefill(out.prompt, session, &recorder, all_logits, reserve);
  // The method's time inside the LLM was measured by the recorder; keep prefill_ms pure.
  out.prefill_ms = ms_since(t, cuda) - (out.prune_ms - prune_before_llm);
}

}  // namespace

PrunedPrefill run_pruned_prefill(const LlavaModelImpl& model, Pruner& pruner, const std::string& sample_key,
                                 const at::Tensor& pixel_values, const std::vector<int64_t>& ids, Session& session,
                                 bool all_logits, int64_t reserve, PrefillObserver* extra,
                                 const std::set<int64_t>& extra_vision_attention) {
  if (model.config().model_type == "llava_hr") {
    const std::string why = hr_refusal(pruner.info().name);
    if (!why.empty()) {
      throw Error(fmt::format("--pruner {}: not available on LLaVA-HR models: {}", pruner.info().name, why));
    }
  }
  const bool cuda = model.options().device.is_cuda();
  PrunedPrefill out;
  pruner.begin_sample(sample_key);
  VisionTowerRequest request;
  request.attention_layers = pruner.vision_attention_layers();
  request.attention_layers.insert(extra_vision_attention.begin(), extra_vision_attention.end());
  request.qk_layers = pruner.vision_qk_layers();
  request.hook = pruner.vision_layer_hook();

  auto t = Clock::now();
  out.image = model.encode_vision(pixel_values, request);
  out.vision_ms = ms_since(t, cuda);
  const at::Tensor& features = out.image.vision_features;  // [N, Dv*] (fewer rows when merged in the tower)
  out.image_tokens = model.image_tokens();
  at::Tensor original = at::arange(out.image_tokens, at::kLong);  // [n]: original index of each kept token

  VisionStageInput input{features, out.image.vision_attentions,
                         model.config().vision_feature_select_strategy == "full"};
  input.tokens = &out.image.vision_tokens;
  input.qk = &out.image.vision_qk;
  const VisionStageOutput before = pruner.reduce_before_projector(input);
  out.prune_ms += ms_since(t, cuda);
  at::Tensor kept_features = features;
  if (before.kept.defined()) {
    original = before.kept.to(at::kCPU);  // each row's original index, in the rows' order
    kept_features = before.features.defined() ? before.features
                                              : features.index_select(0, before.kept.to(features.device()));
    PB_CHECK(kept_features.size(0) == original.size(0), "vision stage: kept indices and rows differ in count");
    out.kept.emplace_back("kept_vision", std::get<0>(original.sort()));
  }
  PB_CHECK(kept_features.size(0) == original.size(0), "vision stage: rows left without an original index");
  t = Clock::now();
  at::Tensor embeds = model.project(kept_features);  // [n, D]
  out.projector_ms = ms_since(t, cuda);
  const at::Tensor after = pruner.select_after_projector(embeds);
  out.prune_ms += ms_since(t, cuda);
  if (after.defined()) {
    original = original.index_select(0, after);
    embeds = embeds.index_select(0, after.to(embeds.device()));
    out.kept.emplace_back("kept_projector", original);
  }
  // A method selecting after the projector that keeps original positions (G-Prune passes its
  // keep_indices as position_ids, llava_llama.py) leaves RoPE gaps where dropped image rows were.
  const bool original_positions = after.defined() && pruner.info().positions == "original";
  splice_and_prefill(model, pruner, ids, embeds, original, original_positions, session, all_logits, reserve, extra,
                     out);
  return out;
}

namespace {

// kPerTile: the method's vision stage on every tile as if it were one LLaVA-1.5 image, then the packed
// rows whose (tile, patch) it kept, plus every image_newline row. [k] int64 ascending packed indices.
at::Tensor packed_rows_kept_per_tile(Pruner& pruner, const AnyresFeatures& image) {
  const int64_t tiles = image.tile_features.size(0), p = image.tile_features.size(1);
  std::vector<char> kept_patch(static_cast<size_t>(tiles * p), 0);
  for (int64_t t = 0; t < tiles; ++t) {
    std::vector<at::Tensor> attentions;  // per tower layer: [H, 1+P, 1+P] of this tile, or undefined
    for (const at::Tensor& a : image.vision_attentions) attentions.push_back(a.defined() ? a[t] : at::Tensor());
    const at::Tensor features = image.tile_features[t];  // [P, Dv*]
    const VisionStageInput input{features, attentions, /*has_cls=*/false};
    const at::Tensor kept = pruner.select_before_projector(input).to(at::kCPU);
    PB_CHECK(kept.defined(), "anyres: a per-tile method returned no selection");
    const int64_t* k = kept.data_ptr<int64_t>();
    for (int64_t i = 0; i < kept.numel(); ++i) {
      PB_CHECK(k[i] >= 0 && k[i] < p, "anyres: a per-tile selection is outside the tile");
      kept_patch[static_cast<size_t>(t * p + k[i])] = 1;
    }
  }
  // Pruned rows are simply absent; image_newline rows (source -1) always stay (docs/llava_next.md).
  std::vector<int64_t> rows;
  for (size_t r = 0; r < image.source.size(); ++r) {
    const int64_t s = image.source[r];
    if (s < 0 || kept_patch[static_cast<size_t>(s)] != 0) rows.push_back(static_cast<int64_t>(r));
  }
  return at::tensor(rows, at::kLong);
}

}  // namespace

PrunedPrefill run_anyres_prefill(const LlavaModelImpl& model, Pruner& pruner, const std::string& sample_key,
                                 const AnyresPixels& pixels, const std::vector<int64_t>& ids, Session& session,
                                 bool all_logits, int64_t reserve, PrefillObserver* extra) {
  const PrunerInfo& info = pruner.info();
  if (info.anyres == AnyresHandling::kRefused) {
    throw Error(fmt::format("--pruner {}: not available on LLaVA-NeXT models: {}", info.name, info.anyres_note));
  }
  if (info.anyres == AnyresHandling::kPerTile &&
      (!pruner.vision_qk_layers().empty() || pruner.vision_layer_hook() != nullptr)) {
    throw Error(fmt::format("--pruner {}: per-tile methods on LLaVA-NeXT may ask only for tower attention", info.name));
  }
  const bool cuda = model.options().device.is_cuda();
  PrunedPrefill out;
  pruner.begin_sample(sample_key);
  const std::set<int64_t> attention_layers =
      info.anyres == AnyresHandling::kPerTile ? pruner.vision_attention_layers() : std::set<int64_t>{};
  EncodeTimes times;
  const AnyresFeatures image =
      model.encode_anyres(pixels.tiles, pixels.width, pixels.height, pixels.layout, attention_layers, &times);
  out.vision_ms = times.vision_ms;
  out.projector_ms = times.projector_ms;
  out.image_tokens = image.image_embeds.size(0);  // the real packed count, newlines included
  // `original` maps each image row entering the LLM to its index in the unpruned packed span.
  at::Tensor original = at::arange(out.image_tokens, at::kLong);
  at::Tensor embeds = image.image_embeds;  // [N, D]
  auto t = Clock::now();
  if (info.anyres == AnyresHandling::kPerTile) {
    original = packed_rows_kept_per_tile(pruner, image);
    out.kept.emplace_back("kept_vision", original);
  } else if (info.anyres == AnyresHandling::kBaseAndGrid) {
    original = pruner.select_packed(embeds, image.source).to(at::kCPU);
    out.kept.emplace_back("kept_projector", original);
  } else {
    // kPackedSpan: this image's budget, for its real count (FitPrune rescales its recipe to it).
    pruner.resolve_for_tokens(model.config(), out.image_tokens);
  }
  out.prune_ms += ms_since(t, cuda);
  if (info.anyres != AnyresHandling::kPackedSpan) embeds = embeds.index_select(0, original.to(embeds.device()));
  // G-Prune passes system_prompt_length + image_keep_indices as position ids (llava_arch.py): the
  // kept rows keep their packed positions.
  const bool original_positions = info.anyres == AnyresHandling::kBaseAndGrid && info.positions == "original";
  splice_and_prefill(model, pruner, ids, embeds, original, original_positions, session, all_logits, reserve, extra,
                     out);
  return out;
}

}  // namespace pb
