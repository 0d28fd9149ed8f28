// The prefill loop's pruning hooks and the zero-copy weight path.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include "golden_case.h"
#include "models/llava.h"

namespace pb::test {
namespace {

// Drops every other visual row after `layer`, asks attention only for `attention_layer`.
class DropHalfAfter : public PrefillObserver {
 public:
  DropHalfAfter(int64_t layer, int64_t attention_layer) : layer_(layer), attention_layer_(attention_layer) {}
  bool wants_attention(int64_t layer) const override { return layer == attention_layer_; }
  void after_layer(int64_t layer, SequenceState& state, const at::Tensor& attention) override {
    attention_defined.push_back(attention.defined());
    rows_seen.push_back(state.hidden.size(0));
    if (layer != layer_) return;
    std::vector<int64_t> keep;
    for (int64_t r = 0; r < state.hidden.size(0); ++r) {
      const bool visual = r >= state.image_begin && r < state.image_begin + state.image_len;
      if (!visual || (r - state.image_begin) % 2 == 0) keep.push_back(r);
    }
    state.keep_rows(at::tensor(keep, at::kLong));
  }
  std::vector<bool> attention_defined;
  std::vector<int64_t> rows_seen;

 private:
  int64_t layer_, attention_layer_;
};

}  // namespace

TEST_CASE("hooks: rows dropped after a layer are gone for every later layer and for decoding", "[model]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  const ImageFeatures image = model->encode_image(ref.get("pixel_values"));
  const SplicedPrompt prompt = model->splice(ref.ids("input_ids"), image.image_embeds);
  REQUIRE(prompt.image_len == 576);
  const int64_t t = prompt.embeds.size(0);

  DropHalfAfter observer(/*layer=*/0, /*attention_layer=*/1);
  Session session;
  const at::Tensor logits = model->prefill(prompt, session, &observer, /*all_logits=*/false, 4);
  // Visual rows entering each of the 3 decoder layers: all 576 into layer 0, then 288.
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{576, 288, 288});
  CHECK(observer.rows_seen == std::vector<int64_t>{t, t - 288, t - 288});
  // Attention only where asked.
  CHECK(observer.attention_defined == std::vector<bool>{false, true, false});
  // Layer 0 cached every row; later layers only the kept ones.
  CHECK(session.cache.length(0) == t);
  CHECK(session.cache.length(1) == t - 288);
  CHECK(session.final_state.image_len == 288);
  // Original positions are kept, so decoding continues after the last original position.
  CHECK(session.next_position == t);
  CHECK(session.final_state.origin[prompt.image_begin + 1].item<int64_t>() == prompt.image_begin + 2);
  // The pruned run differs from the unpruned one, and decoding from it works.
  Session full;
  const at::Tensor full_logits = model->prefill(prompt, full, nullptr, false, 4);
  CHECK(!at::allclose(logits, full_logits));
  const GreedyResult gen = greedy_decode(*model, session, logits, 4, std::nullopt);
  CHECK(gen.tokens.size() == 4);
  CHECK(session.cache.length(2) == t - 288 + 3);
}

// Drops the second half of the visual rows inside layer 1, after its attention.
class DropInsideLayer : public PrefillObserver {
 public:
  at::Tensor after_attention(int64_t layer, const SequenceState& state, const at::Tensor&) override {
    if (layer != 1) return {};
    std::vector<int64_t> keep;
    for (int64_t r = 0; r < state.hidden.size(0); ++r) {
      if (r < state.image_begin + state.image_len / 2 || r >= state.image_begin + state.image_len) keep.push_back(r);
    }
    return at::tensor(keep, at::kLong);
  }
};

TEST_CASE("hooks: a drop after attention keeps the layer's own KV cache whole", "[model]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  const SplicedPrompt prompt = model->splice(ref.ids("input_ids"), model->encode_image(ref.get("pixel_values")).image_embeds);
  const int64_t t = prompt.embeds.size(0);
  DropInsideLayer observer;
  Session session;
  model->prefill(prompt, session, &observer, false, 2);
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{576, 576, 288});
  CHECK(session.visual_tokens_after_attn == std::vector<int64_t>{576, 288, 288});
  CHECK(session.cache.length(1) == t);        // layer 1 attended with every row
  CHECK(session.cache.length(2) == t - 288);  // layer 2 never saw the dropped rows
}

TEST_CASE("weights: fp32 checkpoint tensors are used in place from the mapping", "[model]") {
  c10::InferenceMode guard;
  const auto ckpt = std::make_shared<const Checkpoint>(Checkpoint::open(golden_path("llava15-tiny")));
  const LlavaConfig cfg = load_llava_config(golden_path("llava15-tiny"));
  auto model = std::make_shared<LlavaModelImpl>(cfg, ModelOptions{});
  load_llava_weights(*model, ckpt);
  const at::Tensor norm = model->named_parameters()["language_model.norm.weight"];
  CHECK(norm.data_ptr() == ckpt->find("language_model.model.norm.weight")->data);
  // bf16 compute from fp32 storage converts (a copy), of course.
  ModelOptions bf16;
  bf16.dtype = c10::kBFloat16;
  auto converted = std::make_shared<LlavaModelImpl>(cfg, bf16);
  load_llava_weights(*converted, ckpt);
  CHECK(converted->named_parameters()["language_model.norm.weight"].scalar_type() == c10::kBFloat16);
}

}  // namespace pb::test

namespace pb::test {
namespace {

// Drops every other visual row after layer 0 and re-indexes positions (as PDrop and SparseVLM do).
class DropHalfReindex : public PrefillObserver {
 public:
  void after_layer(int64_t layer, SequenceState& state, const at::Tensor& /*attention*/) override {
    if (layer != 0) return;
    std::vector<int64_t> keep;
    for (int64_t r = 0; r < state.hidden.size(0); ++r) {
      const bool visual = r >= state.image_begin && r < state.image_begin + state.image_len;
      if (!visual || (r - state.image_begin) % 2 == 0) keep.push_back(r);
    }
    state.keep_rows(at::tensor(keep, at::kLong));
    state.reindex_positions();
  }
};

}  // namespace

TEST_CASE("hooks: after re-indexing, a decode step takes each layer's cache length as position", "[model]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  const ImageFeatures image = model->encode_image(ref.get("pixel_values"));
  std::vector<int64_t> ids = ref.ids("input_ids");
  const SplicedPrompt prompt = model->splice(ids, image.image_embeds);
  DropHalfReindex observer;
  Session session;
  model->prefill(prompt, session, &observer, false, 4);
  CHECK(session.final_state.decode_positions_from_cache);
  const int64_t token = 42;
  const at::Tensor decoded = model->decode_step(session, token);  // [V]
  // The same token as the last prompt row: layer 0 sees it at position t (its cache holds t rows),
  // layers 1-2 at t - 288 (re-indexed), which is what the decode step must have used.
  ids.push_back(token);
  DropHalfReindex again;
  Session longer;
  const at::Tensor reference = model->prefill(model->splice(ids, image.image_embeds), longer, &again, false, 1);
  CHECK(max_abs_diff(decoded, reference.reshape({-1})) < 1e-4 * reference.abs().max().item<double>());
  // Without the per-layer rule (one position after the largest in use) layer 0 would differ.
  Session plain;
  model->prefill(prompt, plain, &observer, false, 4);
  plain.final_state.decode_positions_from_cache = false;
  const at::Tensor shifted = model->decode_step(plain, token);
  CHECK(max_abs_diff(shifted, reference.reshape({-1})) > 1e-3 * reference.abs().max().item<double>());
}

TEST_CASE("hooks: inserted visual rows follow the kept image rows with origin -1", "[model]") {
  SequenceState state;
  state.hidden = at::arange(12, at::kFloat).view({6, 2});  // 1 prefix, 3 image, 2 text rows
  state.positions = at::arange(6, at::kLong);
  state.origin = state.positions;
  state.image_begin = 1;
  state.image_len = 3;
  state.keep_rows_and_insert_visual(at::tensor({0, 1, 3, 4, 5}, at::kLong), at::full({2, 2}, -7.0f));
  CHECK(state.image_begin == 1);
  CHECK(state.image_len == 4);
  CHECK(at::equal(state.origin, at::tensor({0, 1, 3, -1, -1, 4, 5}, at::kLong)));
  CHECK(at::equal(state.positions, at::tensor({0, 1, 3, 4, 5, 4, 5}, at::kLong)));
  CHECK(at::equal(state.hidden.select(1, 0), at::tensor({0.0f, 2.0f, 6.0f, -7.0f, -7.0f, 8.0f, 10.0f})));
  state.reindex_positions();
  CHECK(at::equal(state.positions, at::arange(7, at::kLong)));
}

}  // namespace pb::test
