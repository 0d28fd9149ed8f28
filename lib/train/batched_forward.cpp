#include "train/batched_forward.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "core/error.h"
#include "spec/model_spec.h"
#include "train/patch_heads.h"

namespace pb {

namespace {

// The submodule `path` ("self_attn.q_proj") of `parent`, as its implementation type.
template <typename Impl>
const Impl& sub(const torch::nn::Module& parent, const std::string& path) {
  for (const auto& item : parent.named_modules("", /*include_self=*/false)) {
    if (item.key() == path) {
      const auto* impl = dynamic_cast<const Impl*>(item.value().get());
      PB_CHECK(impl != nullptr, fmt::format("module {} has an unexpected type", path));
      return *impl;
    }
  }
  throw Error(fmt::format("model has no module {}", path));
}

at::Tensor rotate_half(const at::Tensor& x) {  // [..., hd]
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// One decoder layer on [B, L, D], as LlamaDecoderLayerImpl::attention + finish do per row.
// `probs_out`, when given, receives the attention probabilities [B, H, L, L] fp32 (with their graph).
at::Tensor decoder_layer(const torch::nn::Module& layer, const TextConfig& cfg, const at::Tensor& x,
                         const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& causal_mask,
                         at::Tensor* probs_out = nullptr) {
  const int64_t b = x.size(0), l = x.size(1), h = cfg.num_attention_heads, hkv = cfg.num_key_value_heads;
  const int64_t hd = cfg.head_dim;
  const at::Tensor normed = sub<RmsNormImpl>(layer, "input_layernorm").forward(x);
  auto heads = [&](const char* name, int64_t n) {  // [B, L, n*hd] -> [B, n, L, hd]
    return sub<LinearImpl>(layer, std::string("self_attn.") + name).forward(normed).view({b, l, n, hd}).transpose(1, 2);
  };
  at::Tensor q = heads("q_proj", h), k = heads("k_proj", hkv), v = heads("v_proj", hkv);
  q = q * cos + rotate_half(q) * sin;
  k = k * cos + rotate_half(k) * sin;
  if (hkv != h) {  // HF repeat_kv: query head i uses kv head i / (h / hkv)
    k = k.repeat_interleave(h / hkv, 1);
    v = v.repeat_interleave(h / hkv, 1);
  }
  at::Tensor scores = at::matmul(q, k.transpose(-1, -2)).to(at::kFloat) / std::sqrt(static_cast<double>(hd));
  scores = scores.masked_fill(causal_mask, -std::numeric_limits<float>::infinity());
  const at::Tensor p = at::softmax(scores, -1);  // [B, H, L, L] fp32
  if (probs_out != nullptr) *probs_out = p;
  const at::Tensor attn = at::matmul(p.to(v.scalar_type()), v).transpose(1, 2).reshape({b, l, h * hd});
  const at::Tensor hidden = x + sub<LinearImpl>(layer, "self_attn.o_proj").forward(attn);
  const at::Tensor y = sub<RmsNormImpl>(layer, "post_attention_layernorm").forward(hidden);
  const at::Tensor gate = sub<LinearImpl>(layer, "mlp.gate_proj").forward(y);
  const at::Tensor up = sub<LinearImpl>(layer, "mlp.up_proj").forward(y);
  return hidden + sub<LinearImpl>(layer, "mlp.down_proj").forward(at::silu(gate) * up);
}

// The feature layer's rows the projector reads, [B, P, Dv] (CLS dropped under "default").
at::Tensor feature_rows(const LlavaModelImpl& model, const TrainingBatch& batch) {
  const LlavaConfig& cfg = model.config();
  PB_CHECK(cfg.vision_feature_layers.size() == 1, "training supports one vision feature layer");
  const auto children = model.named_children();
  const auto& tower = dynamic_cast<const ClipVisionTowerImpl&>(*children["vision_tower"]);
  const VisionTowerOutput out = tower.forward(batch.pixels.to(model.options().device));
  const auto index = static_cast<size_t>(vision_hidden_state_index(cfg.vision_feature_layers[0], cfg.vision.num_hidden_layers));
  at::Tensor features = out.hidden_states.at(index);  // [B, 1+P, Dv]
  if (cfg.vision_feature_select_strategy == "default") features = features.narrow(1, 1, features.size(1) - 1);
  return features;
}

// Hidden states after the final norm, [B, L, D]; the projector's input rows in *features_out.
// `image` [B, P, D], when defined, stands in for the projector's output (the tower is then not run).
// probs_out[i], when given, receives decoder layer probe_layers[i]'s attention probabilities [B, H, L, L].
// (*residuals_out)[i], when given, receives the residual stream [B, L, D] after decoder layer
// residual_layers[i] (-1: the input embeddings).
at::Tensor final_hidden(const LlavaModelImpl& model, const TrainingBatch& batch, const at::Tensor& image_in,
                        at::Tensor* features_out = nullptr, at::Tensor* image_out = nullptr,
                        const std::vector<int64_t>& probe_layers = {}, std::vector<at::Tensor>* probs_out = nullptr,
                        const std::vector<int64_t>& residual_layers = {}, std::vector<at::Tensor>* residuals_out = nullptr) {
  const LlavaConfig& cfg = model.config();
  const auto children = model.named_children();
  const auto& projector = dynamic_cast<const ProjectorImpl&>(*children["multi_modal_projector"]);
  const at::TensorOptions options = model.options().device;

  at::Tensor image = image_in;  // [B, P, D]
  if (!image.defined()) {
    const at::Tensor features = feature_rows(model, batch);  // [B, P, Dv]
    image = projector.forward(features);
    if (features_out != nullptr) *features_out = features;
  }
  if (image_out != nullptr) *image_out = image;

  const LlamaModel lm = model.language_model();
  const at::Tensor ids = batch.ids.to(options.device());
  const int64_t p = batch.image_pos;
  const at::Tensor text = lm->embed(ids.clamp_min(0));  // [B, T, D]; the marker row is replaced below
  at::Tensor x = at::cat({text.narrow(1, 0, p), image.to(text.scalar_type()), text.narrow(1, p + 1, ids.size(1) - p - 1)}, 1);
  const int64_t l = x.size(1);
  PB_CHECK(l == batch.targets.size(1), "targets do not cover the spliced sequence");

  const TextConfig& tc = cfg.text;
  const at::Tensor inv_freq = 1.0 / at::pow(tc.rope_theta, at::arange(0, tc.head_dim, 2, at::kFloat) / static_cast<double>(tc.head_dim));
  const at::Tensor freqs = at::arange(l, at::kFloat).unsqueeze(1) * inv_freq.unsqueeze(0);
  const at::Tensor emb = at::cat({freqs, freqs}, -1).to(options.device());  // [L, hd]
  const at::Tensor cos = emb.cos().to(x.scalar_type()), sin = emb.sin().to(x.scalar_type());
  at::Tensor causal = at::ones({l, l}, at::TensorOptions(at::kBool).device(options.device())).triu(1);  // [L, L]
  if (batch.hidden_keys.defined()) {
    causal = causal.unsqueeze(0).logical_or(batch.hidden_keys.to(causal.device()).unsqueeze(1)).unsqueeze(1);  // [B, 1, L, L]
  }
  const auto layers = lm->named_children()["layers"]->children();
  if (probs_out != nullptr) probs_out->assign(probe_layers.size(), at::Tensor());
  for (const int64_t layer : probe_layers) {
    PB_CHECK(layer >= 0 && layer < static_cast<int64_t>(layers.size()),
             fmt::format("attention supervision layer {} is not a decoder layer (0-{})", layer, layers.size() - 1));
  }
  if (residuals_out != nullptr) residuals_out->assign(residual_layers.size(), at::Tensor());
  auto keep_residual = [&](int64_t layer) {
    for (size_t j = 0; residuals_out != nullptr && j < residual_layers.size(); ++j) {
      if (residual_layers[j] == layer) (*residuals_out)[j] = x;
    }
  };
  keep_residual(-1);
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto layer = static_cast<int64_t>(i);
    const bool probed = probs_out != nullptr && std::count(probe_layers.begin(), probe_layers.end(), layer) > 0;
    at::Tensor probs;  // [B, H, L, L]
    x = decoder_layer(*layers[i], tc, x, cos, sin, causal, probed ? &probs : nullptr);
    for (size_t j = 0; probed && j < probe_layers.size(); ++j) if (probe_layers[j] == layer) (*probs_out)[j] = probs;
    keep_residual(layer);
  }
  for (size_t j = 0; residuals_out != nullptr && j < residual_layers.size(); ++j) {
    PB_CHECK((*residuals_out)[j].defined(), fmt::format("supervised residual layer {} is not a decoder layer (0-{})",
                                                         residual_layers[j], layers.size() - 1));
  }
  return sub<RmsNormImpl>(*lm, "norm").forward(x);
}

at::Tensor lm_head(const LlavaModelImpl& model) {
  return model.language_model()->named_parameters()["lm_head.weight"];
}

// The attention of each selected (row, query) of head-mean probabilities [B, L, L] over the image.  // [N, P]
at::Tensor image_attention(const at::Tensor& probs, const at::Tensor& row, const at::Tensor& query, int64_t image_pos, int64_t p) {
  const at::Device device = probs.device();
  return probs.index({row.to(device), query.to(device)}).narrow(1, image_pos, p);
}

// -log of the mass of `attended` [N, P] on `mask` [N, P]: the mean (the loss) and the mean mass.
std::pair<at::Tensor, double> mass_loss(const at::Tensor& attended, const at::Tensor& mask) {
  const at::Tensor mass = (attended * mask.to(attended.device()).to(at::kFloat)).sum(-1);  // [N]
  // 1e-6 keeps the log finite when a mass underflows; far below any mass that matters.
  return {-(mass + 1e-6).log().mean(), mass.detach().mean().item<double>()};
}

// BatchLoss::attention_loss (mentions, or with `count_centres` the uncounted ones) and count_loss.
void mention_supervision(const TrainingBatch& batch, const at::Tensor& head_probs, bool count_centres, bool count_per_head,
                         BatchLoss& out) {
  const at::Tensor probs = head_probs.mean(1);  // [B, L, L] the supervised heads' mean
  const int64_t p = batch.focus.size(2);
  at::Tensor counted = batch.focus_counted.defined() && count_centres ? batch.focus_counted : at::zeros_like(batch.focus_query, at::kBool);
  // [N, 2] mentions that name something visible (row, mention slot), outside the counted ones.
  const at::Tensor named = batch.focus_query.ge(0).logical_and(batch.focus.any(-1)).logical_and(~counted).nonzero();
  out.focused_mentions = named.size(0);
  if (out.focused_mentions > 0) {
    const at::Tensor row = named.select(1, 0), slot = named.select(1, 1);
    const at::Tensor attended = image_attention(probs, row, batch.focus_query.index({row, slot}), batch.image_pos, p);
    std::tie(out.attention_loss, out.focus_mass) = mass_loss(attended, batch.focus.index({row, slot}));
  }
  const at::Tensor counts = batch.focus_query.ge(0).logical_and(counted).nonzero();  // [C, 2]
  out.counted_mentions = counts.size(0);
  if (out.counted_mentions == 0) return;
  // Attention spread evenly over k centres and BOS carries k in the share BOS keeps (1 / (k + 1)), which
  // a mass target on the objects alone would erase; "none there" is the all-BOS case.
  const at::Tensor row = counts.select(1, 0), slot = counts.select(1, 1);
  const at::Device device = probs.device();
  const at::Tensor query = batch.focus_query.index({row, slot});
  // [C, H', L] each supervised head's attention (count_per_head), or [C, 1, L] their mean. Per head: the
  // mean's target is met just as well by one head on BOS and the others on the centres, whatever k is
  // (stage 16: head 1 kept 0.67-0.83 on BOS for every k, head 0 none), and then no head's share says k.
  const at::Tensor attended = count_per_head
                                  ? head_probs.index({row.to(device), at::indexing::Slice(), query.to(device)})
                                  : probs.index({row.to(device), query.to(device)}).unsqueeze(1);
  const at::Tensor on_centres = attended.narrow(2, batch.image_pos, p);                                      // [C, H, P]
  const at::Tensor on_bos = attended.select(2, 0);                                                           // [C, H]
  const at::Tensor centres = batch.focus_centres.index({row, slot}).to(device).to(at::kFloat).unsqueeze(1);  // [C, 1, P]
  const at::Tensor keys = centres.sum(-1) + 1;                                                               // [C, 1]
  const at::Tensor log_sum = (on_centres + 1e-6).log().mul(centres).sum(-1) + (on_bos + 1e-6).log();        // [C, H]
  out.count_loss = -(log_sum / keys).mean();
  out.count_mass = (on_centres.mul(centres).sum(-1) + on_bos).detach().mean().item<double>();
}

// BatchLoss::route_loss: at the position that predicts each answer's first token that says something
// (TrainingBatch::route_query), -log of the mass of
// `probs` [B, H, L, L] (the supervised heads) on its question's mention tokens, in the mean over heads.
// With `split`, a question's n >= 2 mentions are routed by n groups of heads, mention j by heads
// [j H / n, (j + 1) H / n): each group's -log mass on its own mention, averaged over groups.
void route_supervision(const TrainingBatch& batch, const at::Tensor& probs, bool split, BatchLoss& out) {
  const int64_t b = batch.route_query.size(0), a = batch.route_query.size(1), m = batch.focus_query.size(1);
  const int64_t l = probs.size(2), h = probs.size(1);
  auto route_query = batch.route_query.accessor<int64_t, 2>();
  auto mention_at = batch.focus_query.accessor<int64_t, 2>();
  auto mention_answer = batch.mention_of.accessor<int64_t, 2>();
  std::vector<int64_t> rows, queries;
  // Per routed answer, per group g (at most kMaxGroups): keys [L] and heads [H] flattened.
  constexpr int64_t kMaxGroups = 2;  // a SynthVQA question names at most two objects (spatial ones)
  std::vector<uint8_t> keys;   // [R, G, L]
  std::vector<float> heads;    // [R, G, H]: 1 / (heads in the group) on its heads
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t k = 0; k < a; ++k) {
      const int64_t t = route_query[i][k];
      if (t < 0) continue;
      PB_CHECK(t < l, "a routed position past the sequence");
      std::vector<int64_t> mentions;  // its question's mention positions
      for (int64_t j = 0; j < m; ++j) {
        if (mention_answer[i][j] == k && mention_at[i][j] >= 0 && mention_at[i][j] < t) mentions.push_back(mention_at[i][j]);
      }
      if (mentions.empty()) continue;
      const auto n = static_cast<int64_t>(mentions.size());
      const bool apart = split && n >= 2 && n <= kMaxGroups && h >= n;
      rows.push_back(i);
      queries.push_back(t);
      for (int64_t g = 0; g < kMaxGroups; ++g) {
        std::vector<uint8_t> group_keys(static_cast<size_t>(l), 0);
        std::vector<float> group_heads(static_cast<size_t>(h), 0.0f);
        if (apart && g < n) {
          group_keys[static_cast<size_t>(mentions[static_cast<size_t>(g)])] = 1;
          const int64_t from = g * h / n, to = (g + 1) * h / n;
          for (int64_t x = from; x < to; ++x) group_heads[static_cast<size_t>(x)] = 1.0f / static_cast<float>(to - from);
        } else if (!apart && g == 0) {
          for (const int64_t at : mentions) group_keys[static_cast<size_t>(at)] = 1;
          std::fill(group_heads.begin(), group_heads.end(), 1.0f / static_cast<float>(h));
        }
        keys.insert(keys.end(), group_keys.begin(), group_keys.end());
        heads.insert(heads.end(), group_heads.begin(), group_heads.end());
      }
    }
  }
  out.routed_answers = static_cast<int64_t>(rows.size());
  if (rows.empty()) return;
  const at::Device device = probs.device();
  const auto r = static_cast<int64_t>(rows.size());
  // Copies (to(kFloat), clone()): from_blob borrows the vectors, and autograd keeps these tensors for backward.
  const at::Tensor key_mask = at::from_blob(keys.data(), {r, kMaxGroups, l}, at::kByte).to(at::kFloat).to(device);  // [R, G, L]
  const at::Tensor head_weight = at::from_blob(heads.data(), {r, kMaxGroups, h}, at::kFloat).clone().to(device);  // [R, G, H]
  const at::Tensor attended =
      probs.index({at::tensor(rows, at::kLong).to(device), at::indexing::Slice(), at::tensor(queries, at::kLong).to(device)});  // [R, H, L]
  // Each group's mean over its heads of the mass on its keys.                                      // [R, G]
  const at::Tensor mass = at::einsum("rgh,rhl,rgl->rg", {head_weight, attended.to(at::kFloat), key_mask});
  const at::Tensor used = head_weight.sum(-1).gt(0);                                                 // [R, G]
  const at::Tensor used_mass = mass.masked_select(used);
  out.route_loss = -(used_mass + 1e-6).log().mean();
  out.route_mass = used_mass.detach().mean().item<double>();
}

// BatchLoss::read_loss: at each position that predicts a reading answer's characters, -log of the mass
// of `probs` on the sign slots holding them.
void read_supervision(const TrainingBatch& batch, const at::Tensor& probs, BatchLoss& out) {
  const at::Tensor reads = batch.read_query.ge(0).logical_and(batch.read_focus.any(-1)).nonzero();  // [N, 2]
  out.read_positions = reads.size(0);
  if (out.read_positions == 0) return;
  const at::Tensor row = reads.select(1, 0), slot = reads.select(1, 1);
  const at::Tensor attended =
      image_attention(probs, row, batch.read_query.index({row, slot}), batch.image_pos, batch.read_focus.size(2));
  std::tie(out.read_loss, out.read_mass) = mass_loss(attended, batch.read_focus.index({row, slot}));
}

// BatchLoss::caption_loss: what the residual `residual` [B, L, D] says, through the final norm and
// lm_head, at each sign-character patch, against the token that spells the character.
void caption_supervision(const LlavaModelImpl& model, const TrainingBatch& batch, const at::Tensor& residual, BatchLoss& out) {
  const at::Device device = residual.device();
  const int64_t p = batch.caption_targets.size(1);
  const at::Tensor targets = batch.caption_targets.to(device).flatten();  // [B*P]
  const at::Tensor where = targets.ne(-100).nonzero().squeeze(1);         // [N]
  out.captioned_patches = where.size(0);
  if (out.captioned_patches == 0) return;
  const at::Tensor image = residual.narrow(1, batch.image_pos, p).flatten(0, 1).index_select(0, where);  // [N, D]
  const at::Tensor normed = sub<RmsNormImpl>(*model.language_model(), "norm").forward(image);
  const at::Tensor logits = at::linear(normed, lm_head(model)).to(at::kFloat);  // [N, V]
  const at::Tensor wanted = targets.index_select(0, where);
  out.caption_loss = at::cross_entropy_loss(logits, wanted);
  out.caption_accuracy = logits.detach().argmax(-1).eq(wanted).to(at::kDouble).mean().item<double>();
}

// Each routed answer of `batch` whose question has exactly `count` mentions (before its routed
// position): its row, its routed position, and its mentions' slots in question order.
struct AnswerMentions {
  int64_t row = 0, routed = 0;
  std::vector<int64_t> mention_slots;  // indices into focus_query's second dimension
};
std::vector<AnswerMentions> answers_with_mentions(const TrainingBatch& batch, size_t count) {
  std::vector<AnswerMentions> found;
  auto route_query = batch.route_query.accessor<int64_t, 2>();
  auto mention_at = batch.focus_query.accessor<int64_t, 2>();
  auto mention_answer = batch.mention_of.accessor<int64_t, 2>();
  for (int64_t i = 0; i < batch.route_query.size(0); ++i) {
    for (int64_t k = 0; k < batch.route_query.size(1); ++k) {
      const int64_t t = route_query[i][k];
      if (t < 0) continue;
      AnswerMentions a{i, t, {}};
      for (int64_t j = 0; j < batch.focus_query.size(1); ++j) {
        if (mention_answer[i][j] == k && mention_at[i][j] >= 0 && mention_at[i][j] < t) a.mention_slots.push_back(j);
      }
      if (a.mention_slots.size() == count) found.push_back(std::move(a));
    }
  }
  return found;
}

// BatchLoss::mention_answer_*: what the residual [B, L, D] says through the final norm and lm_head at
// the mention of each one-mention question, against the token its answer's routed position predicts.
void mention_answer_supervision(const LlavaModelImpl& model, const TrainingBatch& batch, const at::Tensor& residual,
                                BatchLoss& out) {
  auto mention_at = batch.focus_query.accessor<int64_t, 2>();
  auto targets = batch.targets.accessor<int64_t, 2>();
  std::vector<int64_t> rows, positions, wanted;
  for (const AnswerMentions& a : answers_with_mentions(batch, 1)) {
    const int64_t target = targets[a.row][a.routed];
    if (target < 0) continue;
    rows.push_back(a.row);
    positions.push_back(mention_at[a.row][a.mention_slots[0]]);
    wanted.push_back(target);
  }
  out.mention_answers = static_cast<int64_t>(rows.size());
  if (rows.empty()) return;
  const at::Device device = residual.device();
  const at::Tensor at_mentions =
      residual.index({at::tensor(rows, at::kLong).to(device), at::tensor(positions, at::kLong).to(device)});  // [N, D]
  const at::Tensor normed = sub<RmsNormImpl>(*model.language_model(), "norm").forward(at_mentions);
  const at::Tensor logits = at::linear(normed, lm_head(model)).to(at::kFloat);  // [N, V]
  const at::Tensor target = at::tensor(wanted, at::kLong).to(device);            // [N]
  out.mention_answer_loss = at::cross_entropy_loss(logits, target);
  out.mention_answer_accuracy = logits.detach().argmax(-1).eq(target).to(at::kDouble).mean().item<double>();
}

// The side of the square patch grid batch.focus [B, M, P] is over.
int64_t patch_grid(const TrainingBatch& batch) {
  const int64_t p = batch.focus.size(2);
  const auto grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(p))));
  PB_CHECK(grid * grid == p, "mention positions need a square patch grid");
  return grid;
}

// The centre (column, row as fractions of the side) of the patches each row of masks [N, P] names: [N, 2] fp32.
at::Tensor named_centres(const at::Tensor& masks, int64_t grid) {
  return masks.mm(patch_centres(grid, 1)) / masks.sum(-1, /*keepdim=*/true);
}

// BatchLoss::position_*: the residual [B, L, D] at each mention of a two-mention question that names
// something visible, and the centre of the patches it names (the mean of their patch_centres).
void mention_positions(const TrainingBatch& batch, const at::Tensor& residual, BatchLoss& out) {
  auto mention_at = batch.focus_query.accessor<int64_t, 2>();
  const int64_t grid = patch_grid(batch);
  std::vector<int64_t> rows, slots, positions;
  for (const AnswerMentions& a : answers_with_mentions(batch, 2)) {
    for (const int64_t j : a.mention_slots) {
      rows.push_back(a.row);
      slots.push_back(j);
      positions.push_back(mention_at[a.row][j]);
    }
  }
  if (rows.empty()) return;
  const at::Tensor row = at::tensor(rows, at::kLong), slot = at::tensor(slots, at::kLong);
  const at::Tensor named = batch.focus.index({row, slot}).to(at::kFloat);  // [N, P]
  const at::Tensor visible = named.sum(-1).gt(0).nonzero().squeeze(1);    // [N'] mentions that name something
  if (visible.numel() == 0) return;
  const at::Device device = residual.device();
  out.position_inputs = residual.index({row.index_select(0, visible).to(device),
                                        at::tensor(positions, at::kLong).index_select(0, visible).to(device)});  // [N', D]
  out.position_targets = named_centres(named.index_select(0, visible), grid).to(device);  // [N', 2]
}

// BatchLoss::relation_*: the residual [B, L, D] at the position predicting each answer whose question
// names two visible things, and half the offset between their centres around 0.5.
void relation_offsets(const TrainingBatch& batch, const at::Tensor& residual, BatchLoss& out) {
  const int64_t grid = patch_grid(batch);
  std::vector<int64_t> rows, positions, first, second;
  for (const AnswerMentions& a : answers_with_mentions(batch, 2)) {
    rows.push_back(a.row);
    positions.push_back(a.routed);
    first.push_back(a.mention_slots[0]);
    second.push_back(a.mention_slots[1]);
  }
  if (rows.empty()) return;
  const at::Tensor row = at::tensor(rows, at::kLong);
  const at::Tensor a = batch.focus.index({row, at::tensor(first, at::kLong)}).to(at::kFloat);   // [N, P]
  const at::Tensor b = batch.focus.index({row, at::tensor(second, at::kLong)}).to(at::kFloat);  // [N, P]
  const at::Tensor both = (a.sum(-1).gt(0) & b.sum(-1).gt(0)).nonzero().squeeze(1);           // [N']
  if (both.numel() == 0) return;
  const at::Device device = residual.device();
  out.relation_inputs = residual.index({row.index_select(0, both).to(device),
                                        at::tensor(positions, at::kLong).index_select(0, both).to(device)});  // [N', D]
  const at::Tensor offset = named_centres(a.index_select(0, both), grid) - named_centres(b.index_select(0, both), grid);
  out.relation_targets = (0.5 + offset / 2).to(device);  // [N', 2]
}

}  // namespace

at::Tensor image_mean_share(const at::Tensor& image_embeds) {
  const at::Tensor x = image_embeds.to(at::kFloat);                 // [B, P, D]
  const at::Tensor shared = x.mean(1).pow(2).sum(-1);              // [B]
  const at::Tensor energy = x.pow(2).sum(-1).mean(1).clamp_min(1e-12);  // [B]
  return (shared / energy).mean();
}

at::Tensor batched_vision_features(const LlavaModelImpl& model, const TrainingBatch& batch) {
  return feature_rows(model, batch);
}

at::Tensor batched_logits(const LlavaModelImpl& model, const TrainingBatch& batch, const at::Tensor& image) {
  return at::linear(final_hidden(model, batch, image), lm_head(model)).to(at::kFloat);
}

BatchLoss batch_loss(const LlavaModelImpl& model, const TrainingBatch& batch, const at::Tensor& image,
                     const AttentionSupervision& supervision) {
  BatchLoss out;
  const bool supervise = supervision.mention_layer >= 0 && batch.focus.defined() && batch.focus_query.defined();
  const bool route = supervise && supervision.route_layer >= 0 && batch.mention_of.defined() && batch.route_query.defined();
  const bool read = supervision.read_layer >= 0 && batch.read_focus.defined() && batch.read_query.defined();
  std::vector<int64_t> layers;  // the probed layers, in the order of `probs`
  if (supervise) layers.push_back(supervision.mention_layer);
  if (route) layers.push_back(supervision.route_layer);
  if (read) layers.push_back(supervision.read_layer);
  std::vector<at::Tensor> probs;  // [B, H, L, L] of each of `layers`
  const bool caption = supervision.caption && batch.caption_targets.defined();
  const bool mentions = batch.focus.defined() && batch.focus_query.defined() && batch.mention_of.defined() &&
                        batch.route_query.defined();
  const bool mention_answer = supervision.mention_answer && mentions;
  const bool mention_position = supervision.mention_position && mentions;
  std::vector<int64_t> residual_layers;  // caption's, then the mentions' readout's, then the relation's
  if (caption) residual_layers.push_back(supervision.caption_layer);
  if (mention_answer || mention_position) residual_layers.push_back(supervision.mention_readout_layer);
  const bool relation = supervision.relation_offset && mentions;
  if (relation) residual_layers.push_back(supervision.relation_readout_layer);
  std::vector<at::Tensor> residuals;  // [B, L, D] after each of residual_layers
  const at::Tensor hidden = final_hidden(model, batch, image, &out.vision_features, &out.image_embeds, layers, &probs,
                                         residual_layers, &residuals);  // [B, L, D]
  if (caption) caption_supervision(model, batch, residuals.front(), out);
  const size_t mention_residual = caption ? 1 : 0;  // index in residuals of the mentions' readout
  if (mention_answer) mention_answer_supervision(model, batch, residuals[mention_residual], out);
  if (mention_position) mention_positions(batch, residuals[mention_residual], out);
  if (relation) relation_offsets(batch, residuals.back(), out);
  // [B, H, L, L] -> the supervised heads' [B, H', L, L], and their [B, L, L] mean.
  auto supervised_heads = [&](const at::Tensor& p) {
    PB_CHECK(supervision.heads >= 0 && supervision.heads <= p.size(1),
             fmt::format("--supervised-heads {} is not between 0 and the {} heads", supervision.heads, p.size(1)));
    return supervision.heads == 0 ? p : p.narrow(1, 0, supervision.heads);
  };
  auto head_mean = [&](const at::Tensor& p) { return supervised_heads(p).mean(1); };
  size_t next = 0;
  if (supervise) mention_supervision(batch, supervised_heads(probs[next++]), supervision.count_centres, supervision.count_per_head, out);
  if (route) route_supervision(batch, supervised_heads(probs[next++]), supervision.split_routing, out);
  if (read) read_supervision(batch, head_mean(probs[next++]), out);
  const at::Tensor targets = batch.targets.to(hidden.device());
  const at::Tensor where = targets.ne(-100);                 // [B, L]
  const at::Tensor rows = where.flatten().nonzero().squeeze(1);
  // Only the rows that carry a target go through lm_head (the answer is a few tokens of ~600).
  const at::Tensor logits = at::linear(hidden.flatten(0, 1).index_select(0, rows), lm_head(model)).to(at::kFloat);
  const at::Tensor wanted = targets.flatten().index_select(0, rows);
  out.loss = at::cross_entropy_loss(logits, wanted);
  const at::Tensor right = logits.detach().argmax(-1).eq(wanted);
  out.tokens = wanted.numel();
  out.correct_tokens = right.sum().item<int64_t>();
  // A row is right when none of its target tokens is wrong.
  const at::Tensor wrong_per_row = at::zeros({targets.size(0)}, at::kLong).index_add_(
      0, at::div(rows, targets.size(1), "floor").cpu(), (~right).to(at::kLong).cpu());
  out.correct_samples = wrong_per_row.eq(0).sum().item<int64_t>();
  if (batch.answer_of.defined()) {
    // Answer k of row r is slot r * A + k, A = the most answers a row has.
    const at::Tensor answer_of = batch.answer_of.flatten().index_select(0, rows.cpu());  // [N]
    const int64_t per_row = answer_of.max().item<int64_t>() + 1;
    const at::Tensor slot = at::div(rows.cpu(), targets.size(1), "floor") * per_row + answer_of;
    const at::Tensor wrong = at::zeros({targets.size(0) * per_row}, at::kLong).index_add_(0, slot, (~right).to(at::kLong).cpu());
    const at::Tensor present = at::zeros({targets.size(0) * per_row}, at::kLong).index_add_(0, slot, at::ones_like(slot));
    out.answers = present.gt(0).sum().item<int64_t>();
    out.correct_answers = present.gt(0).logical_and(wrong.eq(0)).sum().item<int64_t>();
    if (batch.answer_type.defined()) {
      auto types = batch.answer_type.accessor<int64_t, 2>();
      auto seen = present.accessor<int64_t, 1>();
      auto missed = wrong.accessor<int64_t, 1>();
      for (int64_t slot = 0; slot < present.size(0); ++slot) {
        const int64_t row = slot / per_row, k = slot % per_row;
        if (seen[slot] == 0 || k >= batch.answer_type.size(1) || types[row][k] < 0) continue;
        const auto type = static_cast<size_t>(types[row][k]);
        if (out.answers_by_type.size() <= type) {
          out.answers_by_type.resize(type + 1, 0);
          out.correct_answers_by_type.resize(type + 1, 0);
        }
        ++out.answers_by_type[type];
        if (missed[slot] == 0) ++out.correct_answers_by_type[type];
      }
    }
  }
  return out;
}

}  // namespace pb
