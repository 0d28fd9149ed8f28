// `prune-bench train-synth`: trains the embedded tiny LLaVA-1.5 on SynthVQA from scratch with
// LibTorch autograd, deterministic given the seed, resumable from the checkpoint in the work folder,
// and exports it in Hugging Face llava format (docs/synthvqa.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pb {

struct TrainSynthOptions {
  std::string config;        // model config.json (architecture) to train from scratch
  std::string tokenizer;     // SentencePiece model trained on SynthVQA text (synth-tokenizer)
  std::string work_dir;      // checkpoint + train_log.jsonl; resumed when it holds a checkpoint
  std::string export_dir;    // where the final model goes (config.json, model.safetensors, tokenizer.model)
  // A checkpoint folder (a --work-dir's checkpoint/) or exported model whose weights and training-only
  // heads this run starts from instead of random ones (heads it lacks start fresh), with a fresh
  // optimiser and schedule: to go on past a finished schedule.
  std::string init_from;
  int64_t steps = 1000;      // optimiser steps in total (a resumed run continues to this count)
  int64_t stop_after = 0;    // stop (with a checkpoint) after this many steps in this invocation; 0 = run to `steps`
  int64_t batch = 8;
  int64_t turns = 4;         // questions per image: a multi-turn conversation shares one image's 576 tokens
  double lr = 1e-3, min_lr_ratio = 0.1, weight_decay = 0.05;
  int64_t warmup = 200;
  // Weight of the auxiliary per-patch colour / shape / character loss (train/patch_heads.h) added to
  // the answer loss; 0 trains on the answers alone.
  double patch_loss_weight = 1.0;
  // Initial vision position table: "sincos" (fixed 2-D sine-cosine, trainable) or "normal" (N(0, 0.02)
  // like every other weight).
  std::string vision_positions = "sincos";
  // The first this-many steps train the vision tower alone on the patch labels (no language model:
  // about a fifth of a full step), so the tower sees shapes and glyphs before the LLM learns to ask it.
  // `loss` in the log is then the patch loss.
  int64_t vision_steps = 0;
  // What the vision stage trains on: "samples" (the benchmark's own training samples) or "dense"
  // (synth::draw_dense_scene: a full square canvas crowded with objects and a 3-character sign).
  std::string vision_scenes = "samples";
  // At this run's first full step, subtract the mean projector output over that batch's image tokens
  // from the projector's last bias (a data-dependent initialisation), so after the language model's
  // RMSNorm the object patches, not the common component all patches share, dominate the image tokens.
  bool center_image_embeds = false;
  // The symbolic curriculum (train/symbol_tokens.h, docs/synthvqa.md): after the vision stage,
  // `symbolic_steps` train the language model on symbolic image tokens (each patch's ground-truth labels
  // and grid position, embedded), with no vision tower; then `align_steps` train the tower and projector
  // alone to reproduce those tokens from pixels; the full steps after them add `align_loss_weight` times
  // that alignment loss to the answer loss.
  int64_t symbolic_steps = 0, align_steps = 0;
  double align_loss_weight = 1.0;
  // Tie the symbolic tokens' colour and shape classes to the language model's embeddings of their names.
  bool symbol_words = false;
  // Start the symbol tables at zero (a token is then only its tied words at first; symbol_tokens.h).
  bool symbol_zero_init = false;
  // The first this-many symbolic steps hide the background image tokens (no object or sign there) from
  // attention, so the language model first learns the lookup among the few tokens that matter.
  int64_t symbolic_hide_background = 0;
  // Train on the samples of these question types only ("colour", "shape", ...; empty = all): sample k
  // of the stream is the k-th training sample of one of them, in turn; a type named twice comes twice
  // as often. They are the conversations' first questions: with --turns > 1 the later ones are of any type.
  std::vector<std::string> question_types;
  // What --init-from takes: "all" (every weight) or "vision" (the vision tower and the patch heads; the
  // projector and the language model start from this run's random initialisation).
  std::string init_parts = "all";
  // Attention supervision (docs/synthvqa.md): adds this weight times -log(the head-mean attention mass,
  // in decoder layer `supervised_layer`, that the last token of each object's (or the sign's) mention in
  // a question puts on that object's patches) to the loss of symbolic and full steps; 0 = off. It teaches
  // the lookup that the answer loss alone does not find among 576 mostly-background tokens.
  double attention_supervision = 0;
  int64_t supervised_layer = 0;
  // Routing supervision (with attention_supervision): adds this weight times -log(the head-mean
  // attention mass, in decoder layer supervised_layer + 1, that the position predicting each answer's
  // first token puts on its question's mentions); 0 = off. The answer position must find those few
  // words among 576 image tokens, the same plateau one hop later.
  double route_supervision = 0;
  // With route_supervision: a question that names two objects (spatial) has them routed by the two
  // halves of the heads, each half to its own mention, so the answer position holds the two objects'
  // features apart instead of their mean, from which no comparison of positions can be read.
  bool split_routing = false;
  // Count supervision (with attention_supervision): a count question's mention is taught, in place of
  // the mass target, to spread its attention evenly over the centre patch of each object it counts and
  // BOS (this weight times that cross-entropy); the share BOS keeps, 1 / (k + 1), carries the count k,
  // which a mean over the objects' patches cannot. 0 = off.
  double count_supervision = 0;
  // With count_supervision: every supervised head spreads evenly (the mean of their cross-entropies), not
  // only their mean; else one head can keep BOS and the others the centres whatever the count.
  bool count_per_head = false;
  // Reading supervision: adds this weight times -log(the head-mean attention mass, in decoder layer
  // `read_layer`, that each position predicting a reading answer's token puts on the sign slots holding
  // the characters that token spells); 0 = off. Needs a layer after the first, where a position can
  // know how much of the answer is already written.
  double read_supervision = 0;
  int64_t read_layer = 2;
  // Caption supervision: adds this weight times the cross-entropy of lm_head (after the final norm) on
  // the residual after decoder layer `caption_layer` at every sign-character patch, against the token
  // a reading answer spells that character with; 0 = off. Reading needs 27 characters mapped to their
  // answer tokens, and an answer gives ~2 examples of that; every sign gives one per character patch.
  // Layer 1's residual is what layer 2 (the default --read-layer) reads from the slots; -1 reads the
  // input embeddings (the projector's output), to tell whether the projector or the layers lose it.
  double caption_supervision = 0;
  int64_t caption_layer = 1;
  // Mention-answer supervision: adds this weight times the cross-entropy of lm_head (after the final
  // norm) on the residual after decoder layer `mention_readout_layer` at the mention of every question
  // that names one thing (colour, shape, count, exists, reading), against its answer's first token that
  // says something; 0 = off. Routing brings the answer position that mention; this puts the answer
  // itself there (a count's digit, which otherwise only an attention share carries).
  double mention_answer = 0;
  // Mention-position supervision: adds this weight times the squared error of a training-only linear
  // head (PositionHead) reading, from the same residual at each mention of a two-object (spatial)
  // question, its object's centre; 0 = off. A relation is then a comparison of two linear features.
  double mention_position = 0;
  // Patch-position supervision: adds this weight times the squared error of a second such head reading each
  // image patch's own centre from the projector's output (the input embeddings); 0 = off. A mention
  // averages its object's patches, so a position the input carries linearly can reach the mention as
  // the object's centre (through layer 0's value and output maps).
  double patch_position = 0;
  // With patch_position: add the object patches' own mean squared error (and log their error). Objects are
  // ~10% of the patches, and an object patch's features are mostly its colour and shape: with the plain
  // mean the patches read 0.04 of the side while a ridge read of an object's centre from the mean of its
  // patches' embeddings was 0.11 (docs/synthvqa.md), too coarse to say which of two objects is left.
  bool patch_position_objects = false;
  // Relation-offset supervision: adds this weight times the squared error of a third training-only
  // linear head reading, from the residual after decoder layer `relation_readout_layer` at the position
  // that predicts a spatial answer (the one routing sends to both mentions), the offset between the two
  // objects' centres (first named minus second, as fractions of the side; the head reads half of it
  // around 0.5); 0 = off. Mention positions alone left spatial at chance (0.52 on val 300 with the
  // mentions read to 0.10 of the side): the answer must compare two fetched positions, and nothing
  // asked the routing layer to put their difference where the answer is read.
  double relation_offset = 0;
  int64_t relation_readout_layer = 1;  // the routing layer after --supervised-layer 0
  // The position heads' learning rate, as a multiple of the model's. A linear read of a component that
  // is small at unit RMS needs large weights, and Adam moves a weight by about the learning rate per
  // step: at 1x the mention head's error stayed at 0.19 of the side over 100 steps (docs/synthvqa.md).
  double position_head_lr_scale = 1.0;
  // The layer after which both read the mentions' residual (-1: the input embeddings); the default is
  // the mention layer (--supervised-layer 0), whose output the routing layer after it fetches.
  int64_t mention_readout_layer = 0;
  // Adds this weight times image_mean_share of the projector's output (0 = off): keeps the component
  // all image tokens share from drowning each token's own content after RMSNorm. --center-image-embeds
  // removes it once; it grew back (2.9 -> 159 in norm over ~4,000 steps).
  double image_centering = 0;
  // All of them supervise the mean of the first this-many heads of their layer (0 = all), so the other
  // heads stay free for what the answer also needs (the question's type words).
  int64_t supervised_heads = 0;
  uint64_t seed = 0;         // weights and the training-sample stream
  std::string precision = "bf16";  // "bf16" (CPU/CUDA autocast, fp32 master weights) or "fp32"
  // Resuming a checkpoint made with the other --precision is refused unless this is set; then the new
  // precision runs from the checkpoint's step on and the switch is recorded (state.json, the log).
  bool allow_precision_change = false;
  std::string device = "cpu";
  int threads = 0;
  int64_t checkpoint_every = 250, eval_every = 500, eval_samples = 120, log_every = 10;
  bool quiet = false;
};

struct TrainSynthResult {
  int64_t steps_done = 0;
  double first_loss = 0, last_loss = 0;  // mean loss over the first and the last log_every steps
  nlohmann::json last_eval;              // per-type greedy accuracy on val (empty when none ran)
};

TrainSynthResult train_synth(const TrainSynthOptions& options);

// Greedy-decoding accuracy (official VQA metric) of a model folder on the first `n` SynthVQA val
// samples (split seed 0), per question type and overall.
nlohmann::json evaluate_synth_model(const std::string& model_dir, int64_t n, int threads);

}  // namespace pb
