// A batched LLaVA forward for training, built from the inference model's own modules (same
// parameters, same layers, same maths), so what is trained is exactly what `run` evaluates. Rows are
// right-padded: with causal attention no real token ever attends to a pad, so no padding mask is needed.
#pragma once

#include <ATen/core/Tensor.h>

#include "models/llava.h"

namespace pb {

struct TrainingBatch {
  at::Tensor pixels;     // [B, 3, S, S] fp32, normalised
  at::Tensor ids;        // [B, T] int64: prompt with the image marker at column image_pos, answer, EOS, pads
  at::Tensor targets;    // [B, L] int64 over the spliced sequence (L = T - 1 + image tokens): the token
                         // position t must predict, or -100 where no loss is taken
  int64_t image_pos = 0; // column of the image marker, the same in every row (the prompt prefix is fixed)
  at::Tensor patch_labels;  // [B, 5, P] int64: per-patch colour / shape / character / slot / centre (0 = none)
  at::Tensor answer_of;     // [B, L] int64: which answer of its row (0, 1, ...) a target belongs to, -1 elsewhere
  at::Tensor hidden_keys;   // [B, L] bool, optional: positions no query may attend to (train-synth's
                            // symbolic stage hides background image tokens at first)
  // Attention supervision, optional: row b's mention k sits at spliced position focus_query[b][k] (-1 =
  // none; M = the most mentions a row has) and names the patches focus[b][k].
  at::Tensor focus;         // [B, M, P] bool
  at::Tensor focus_query;   // [B, M] int64
  at::Tensor mention_of;    // [B, M] int64: the answer (turn) whose question holds the mention, -1 = none
  at::Tensor route_query;   // [B, A] int64: the spliced position routing supervises for answer k (the one
                            // predicting its first token that says something, SynthExample::routed_tokens), -1 = none
  at::Tensor focus_counted; // [B, M] bool: the mention is a count question's (what it counts)
  at::Tensor focus_centres; // [B, M, P] bool: for a counted mention, the centre patch of each object it counts
  // Reading supervision, optional: spliced position read_query[b][k] (-1 = none) predicts an answer token
  // that spells the sign characters in patches read_focus[b][k].
  at::Tensor read_focus;    // [B, R, P] bool
  at::Tensor read_query;    // [B, R] int64
  // Caption supervision, optional: per image patch, the answer token that spells the sign character
  // there (SynthExample::caption_tokens), -100 = none.
  at::Tensor caption_targets;  // [B, P] int64
  at::Tensor answer_type;   // [B, A] int64, optional: answer k's question type (synth::kQuestionTypes index), -1 = none
};

// The vision tower alone: the feature layer's patch rows the projector would read, [B, P, Dv].
at::Tensor batched_vision_features(const LlavaModelImpl& model, const TrainingBatch& batch);

// Logits [B, L, V] fp32 of the spliced sequences (image embeddings in place of the marker).
// `image` [B, P, D], when defined, replaces the projector's output (train-synth's symbolic stage).
at::Tensor batched_logits(const LlavaModelImpl& model, const TrainingBatch& batch, const at::Tensor& image = {});

struct BatchLoss {
  at::Tensor loss;              // scalar fp32: mean cross-entropy over the target tokens
  int64_t tokens = 0;           // target tokens
  int64_t correct_tokens = 0;   // of which the argmax is right
  int64_t correct_samples = 0;  // rows whose every target token is right (teacher forced)
  int64_t answers = 0;          // answers (one per turn)
  int64_t correct_answers = 0;  // answers whose every token and EOS is right (teacher forced)
  // The same two counts per question type (index = TrainingBatch::answer_type's), when it is given.
  std::vector<int64_t> answers_by_type, correct_answers_by_type;
  at::Tensor vision_features;   // [B, P, Dv]: the feature layer's patch rows the projector reads (undefined
                                // when `image` is given)
  at::Tensor image_embeds;      // [B, P, D]: the projector's output, or `image`
  // Attention supervision (with mention_layer >= 0 and batch.focus defined): the mean over mentions
  // that name something visible of -log(the head-mean attention mass their position puts on it),
  // undefined when there is none.
  at::Tensor attention_loss;
  double focus_mass = 0;         // that mass, averaged over those mentions
  int64_t focused_mentions = 0;  // how many mentions it averages
  // Routing supervision (also with route_layer >= 0): the mean over answers whose question has a
  // mention of -log(the head-mean attention mass that the position predicting the answer's first
  // token that says something (TrainingBatch::route_query) puts on those mentions' tokens), undefined when there is none. With split_routing, a
  // question's two mentions are routed by the two halves of the heads, each half to its own mention,
  // so the answer position holds both objects apart (a relation compares them) rather than their mean.
  at::Tensor route_loss;
  double route_mass = 0;
  int64_t routed_answers = 0;
  // Count supervision (with count_centres): the mean over counted mentions of the cross-entropy from
  // an even spread over the counted objects' centre patches and BOS to the mention's attention, with
  // the mass on those keys; counted mentions then leave attention_loss.
  at::Tensor count_loss;
  double count_mass = 0;
  int64_t counted_mentions = 0;
  // Reading supervision (with `read_layer` >= 0): the mean over positions that predict a reading
  // answer's characters of -log(the attention mass on those characters' sign slots).
  at::Tensor read_loss;
  double read_mass = 0;
  int64_t read_positions = 0;
  // Caption supervision (with `caption`): the mean over sign-character patches of the cross-entropy of
  // lm_head(final norm(the residual after decoder layer caption_layer, -1 = the input)) at the patch
  // against the answer token that spells its character, and how often its argmax is that token.
  at::Tensor caption_loss;
  double caption_accuracy = 0;
  int64_t captioned_patches = 0;
  // Mention-answer supervision (with `mention_answer`): for each answer whose question names exactly one
  // thing, the cross-entropy of lm_head(final norm(the residual after mention_readout_layer)) at that
  // mention against the answer's first token that says something (the target at route_query), and how
  // often its argmax is that token. The mention then holds the answer where routing fetches it from.
  at::Tensor mention_answer_loss;
  double mention_answer_accuracy = 0;
  int64_t mention_answers = 0;
  // Mention positions (with `mention_position`): for each mention of a question that names two things
  // (a spatial relation), the residual after mention_readout_layer there [N, D] and the centre of the
  // patches it names [N, 2] fp32 (column, row, as fractions of the image side), for a training-only
  // position head (PositionHead) to read. Undefined when there is none.
  at::Tensor position_inputs;
  at::Tensor position_targets;
  // Relation offsets (with `relation_offset`): for each answer whose question names two visible things,
  // the residual after relation_readout_layer at the position predicting it (route_query) [N, D], and
  // 0.5 + (first centre - second centre) / 2 [N, 2] fp32, the offset a PositionHead reads around its
  // 0.5 start. Undefined when there is none.
  at::Tensor relation_inputs;
  at::Tensor relation_targets;
};

// Which decoder layers' attention batch_loss supervises (-1 = none), all from the mean over the first
// `heads` heads of the layer (0 = all heads).
struct AttentionSupervision {
  int64_t mention_layer = -1;  // attention_loss: mentions -> the patches they name
  int64_t route_layer = -1;    // route_loss (needs mention_layer): an answer's first predicting position -> its mentions
  int64_t read_layer = -1;     // read_loss: reading answers' predicting positions -> the sign slots they spell
  bool caption = false;        // caption_loss: the residual after caption_layer at sign patches -> their character's token
  int64_t caption_layer = 1;   // -1: the input embeddings (the projector's output at image positions)
  bool mention_answer = false;   // mention_answer_loss: a one-mention question's mention -> its answer's token
  bool mention_position = false; // position_inputs / position_targets: a two-mention question's mentions
  int64_t mention_readout_layer = 0;  // the residual both read: after this decoder layer (-1: the input)
  bool relation_offset = false;  // relation_inputs / relation_targets: a two-mention question's answer position
  int64_t relation_readout_layer = 1;  // the residual it reads: after this decoder layer
  bool count_centres = false;  // count_loss (needs mention_layer): counted mentions -> their centres and BOS
  bool count_per_head = false;  // count_loss: each supervised head spreads evenly, not only their mean
  bool split_routing = false;  // route_loss: a question's two mentions each by its own half of the heads
  int64_t heads = 0;
};
BatchLoss batch_loss(const LlavaModelImpl& model, const TrainingBatch& batch, const at::Tensor& image = {},
                     const AttentionSupervision& supervision = {});

// The share of the image embeddings' energy [B, P, D] in the component all patches of an image share:
// |mean over patches|^2 / mean over patches of |embedding|^2, averaged over the batch; in [0, 1].
// Every LLaMA layer starts with RMSNorm, so a shared component that dominates leaves each image token
// little of its own (the committed model's: mean norm 159 against a median deviation of 15).
at::Tensor image_mean_share(const at::Tensor& image_embeds);

}  // namespace pb
