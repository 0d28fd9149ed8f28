// `prune-bench train-synth`: train the embedded SynthVQA model (and `--eval-only` to score one).
#include <fmt/core.h>

#include <memory>

#include "command.h"
#include "train/train_synth.h"

namespace pb::app {

void setup_train_synth(CLI::App& app) {
  auto o = std::make_shared<TrainSynthOptions>();
  auto eval_model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("train-synth", "Train the tiny LLaVA-1.5 of the embedded benchmark on SynthVQA");
  cmd->add_option("--config", o->config, "Architecture config.json (e.g. configs/models/synthvqa-tiny.json)");
  cmd->add_option("--tokenizer", o->tokenizer, "SentencePiece model trained by synth-tokenizer");
  cmd->add_option("--work-dir", o->work_dir, "Checkpoint and log folder (resumed when it holds a checkpoint)");
  cmd->add_option("--export", o->export_dir, "Write the trained model here (llava-hf format, bf16)");
  cmd->add_option("--init-from", o->init_from,
                  "Start from the weights and training-only heads of this checkpoint folder (a --work-dir's checkpoint/) "
                  "or exported model (heads it lacks start fresh), with a fresh optimiser and schedule")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--steps", o->steps, "Optimiser steps in total")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--stop-after", o->stop_after, "Stop after this many steps in this invocation (resume later)");
  cmd->add_option("--batch", o->batch, "Samples per step")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--turns", o->turns, "Questions per image (a multi-turn conversation)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lr", o->lr, "Peak learning rate (AdamW)")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Linear warm-up steps")->capture_default_str();
  cmd->add_option("--patch-loss", o->patch_loss_weight,
                  "Weight of the auxiliary per-patch colour/shape/character loss on the vision features (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--vision-steps", o->vision_steps,
                  "First steps that train the vision tower alone on the patch labels (counted in --steps)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--vision-scenes", o->vision_scenes,
                  "Images of the vision stage: samples (the benchmark's training samples) or dense (square canvases "
                  "crowded with objects and a 3-character sign)")
      ->check(CLI::IsMember({"samples", "dense"}))->capture_default_str();
  cmd->add_option("--vision-positions", o->vision_positions,
                  "Initial vision position table: sincos (fixed 2-D sine-cosine, trainable) or normal (N(0, 0.02))")
      ->check(CLI::IsMember({"sincos", "normal"}))->capture_default_str();
  cmd->add_flag("--center-image-embeds", o->center_image_embeds,
                "At the first full step, move the mean projector output over that batch's image tokens into the "
                "projector's bias (data-dependent initialisation)");
  cmd->add_option("--symbolic-steps", o->symbolic_steps,
                  "Steps after the vision stage that train the language model on symbolic image tokens (each patch's "
                  "labels and grid position, embedded) instead of the tower's (counted in --steps)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--align-steps", o->align_steps,
                  "Steps after the symbolic stage that train the tower and projector alone to reproduce the symbolic "
                  "tokens (counted in --steps)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--align-loss", o->align_loss_weight,
                  "Weight of that alignment loss in the full steps after them (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--symbol-words", o->symbol_words,
                "Tie the symbolic tokens' colour and shape classes to the LLM's embeddings of their names");
  cmd->add_flag("--symbol-zero-init", o->symbol_zero_init,
                "Start the symbol tables at zero, so a symbolic token is at first only its tied colour and shape words");
  cmd->add_option("--symbolic-hide-background", o->symbolic_hide_background,
                  "The first this-many symbolic steps hide background image tokens from attention")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--question-types", o->question_types,
                  "First questions of these types only (colour, shape, count, exists, spatial, reading), in turn; "
                  "a type named twice comes twice as often; later turns are of any type")
      ->delimiter(',');
  cmd->add_option("--init-parts", o->init_parts,
                  "What --init-from takes: all, or vision (the tower and patch heads; projector and LLM start fresh)")
      ->check(CLI::IsMember({"all", "vision"}))->capture_default_str();
  cmd->add_option("--attention-supervision", o->attention_supervision,
                  "Weight of -log(attention mass that the words naming an object or the sign put on its patches), "
                  "added to symbolic and full steps (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--route-supervision", o->route_supervision,
                  "With --attention-supervision: weight of -log(attention mass, one layer later, that the position "
                  "predicting an answer puts on its question's mentions) (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--split-routing", o->split_routing,
                "With --route-supervision: a question's two mentions are routed by the two halves of the heads, one each");
  cmd->add_option("--count-supervision", o->count_supervision,
                  "With --attention-supervision: weight of the cross-entropy that spreads a count question's mention's "
                  "attention evenly over the counted objects' centres and BOS, in place of its mass target (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--count-per-head", o->count_per_head,
                "With --count-supervision: every supervised head spreads evenly over the centres and BOS, not only their mean");
  cmd->add_option("--read-supervision", o->read_supervision,
                  "Weight of -log(attention mass, in --read-layer, that each position predicting a reading answer's "
                  "token puts on the sign characters it spells) (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--read-layer", o->read_layer, "Decoder layer whose head-mean attention --read-supervision supervises")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--caption-supervision", o->caption_supervision,
                  "Weight of the cross-entropy of lm_head on the residual after --caption-layer at each sign-character "
                  "patch against the answer token that spells the character (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--caption-layer", o->caption_layer,
                  "Decoder layer after which --caption-supervision reads the residual (-1: the input embeddings)")
      ->check(CLI::Range(-1, 1 << 20))->capture_default_str();
  cmd->add_option("--mention-answer", o->mention_answer,
                  "Weight of the cross-entropy of lm_head on the residual after --mention-readout-layer at the mention "
                  "of each one-mention question against its answer's first token that says something (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--mention-position", o->mention_position,
                  "Weight of the squared error of a training-only linear head reading each spatial question's objects' "
                  "centres from the residual after --mention-readout-layer at their mentions (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--patch-position", o->patch_position,
                  "Weight of the squared error of a training-only linear head reading each image patch's own centre from the "
                  "projector's output (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--patch-position-objects", o->patch_position_objects,
                "With --patch-position: add the object patches' own mean squared error, and log their error");
  cmd->add_option("--relation-offset", o->relation_offset,
                  "Weight of the squared error of a training-only linear head reading, after --relation-readout-layer at "
                  "the position predicting each spatial answer, the offset between the two named objects' centres (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--relation-readout-layer", o->relation_readout_layer,
                  "Decoder layer after which --relation-offset reads the answer position's residual")
      ->check(CLI::Range(0, 1 << 20))->capture_default_str();
  cmd->add_option("--position-head-lr-scale", o->position_head_lr_scale,
                  "Learning rate of the --mention-position, --patch-position and --relation-offset heads, as a multiple of --lr")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--mention-readout-layer", o->mention_readout_layer,
                  "Decoder layer after which --mention-answer and --mention-position read the mentions' residual "
                  "(-1: the input embeddings)")
      ->check(CLI::Range(-1, 1 << 20))->capture_default_str();
  cmd->add_option("--image-centering", o->image_centering,
                  "Weight of the share of the image embeddings' energy in the component all patches of an image share (0 = off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--supervised-heads", o->supervised_heads,
                  "Attention, routing, count and reading supervision act on the mean of the first this-many heads (0 = all)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--supervised-layer", o->supervised_layer,
                  "Decoder layer whose head-mean attention --attention-supervision supervises")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the weights and of the training stream")->capture_default_str();
  cmd->add_option("--precision", o->precision, "bf16 autocast or fp32")->check(CLI::IsMember({"bf16", "fp32"}))->capture_default_str();
  cmd->add_flag("--allow-precision-change", o->allow_precision_change,
                "Resume a checkpoint made with the other --precision (recorded; e.g. fp32 on an AVX2 CPU, bf16 on AMX)");
  cmd->add_option("--device", o->device, "Device")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd->add_option("--threads", o->threads, "Intra-op threads (default: all cores)");
  cmd->add_option("--checkpoint-every", o->checkpoint_every, "Steps between checkpoints")->capture_default_str();
  cmd->add_option("--eval-every", o->eval_every, "Steps between val evaluations")->capture_default_str();
  cmd->add_option("--eval-samples", o->eval_samples, "Val samples per evaluation (0: none)")->capture_default_str();
  cmd->add_option("--log-every", o->log_every, "Steps per log line")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress output");
  cmd->add_option("--eval-only", *eval_model, "Only score this model folder on --eval-samples val samples");
  cmd->callback([o, eval_model] {
    if (!eval_model->empty()) {
      fmt::print("{}\n", evaluate_synth_model(*eval_model, o->eval_samples, o->threads).dump(2));
      return;
    }
    if (o->config.empty() || o->tokenizer.empty() || o->work_dir.empty()) {
      throw CLI::ValidationError("train-synth needs --config, --tokenizer and --work-dir (or --eval-only)");
    }
    const TrainSynthResult r = train_synth(*o);
    fmt::print("{}\n", nlohmann::json{{"steps", r.steps_done}, {"first_loss", r.first_loss},
                                      {"last_loss", r.last_loss}, {"eval", r.last_eval}}.dump(2));
  });
}

}  // namespace pb::app
