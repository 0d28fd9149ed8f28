// Training-only symbolic image tokens of train-synth (docs/synthvqa.md, "Symbolic curriculum"): each
// patch's ground truth (synth::patch_labels: colour, shape, sign character, character slot, object
// centre) plus its grid row and column, embedded into the language model's width. The language model
// first learns to answer from these clean tokens (the symbolic stage); the vision tower and projector
// then learn to produce them from pixels (the alignment stage), as LLaVA's stage 1 aligns a projector
// to a language model that already works. Not part of the exported model.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace pb {

class SymbolTokensImpl : public torch::nn::Module {
 public:
  // Seeded N(0, 0.02) tables (transformers' initializer_range, as LlavaModelImpl::random).
  // `colour_words` / `shape_words`, when given (one token id per Colour / Shape), tie those classes to
  // the language model's embeddings of their names: a red circle's token then holds the embeddings of
  // "red" and "circle", the words the question asks with (the background row stays its own).
  // `zero_init`: the tables start at zero instead (trainable), so at first a token is only its words:
  // in scripts/experiments/lookup_toy.py, components every object token shares or a random row/column
  // per token kept the lookup at the prior for 450+ steps where pure word sums learned it by step 300.
  SymbolTokensImpl(int64_t text_width, int64_t grid, uint64_t seed, const std::vector<int64_t>& colour_words = {},
                   const std::vector<int64_t>& shape_words = {}, bool zero_init = false);
  // labels [B, 5, P] int64 (TrainingBatch::patch_labels) -> [B, P, D] fp32: the sum of the patch's
  // label embeddings and its row and column embeddings. `word_table` [V, D]: the language model's
  // token embeddings, needed when the classes are tied to words.
  at::Tensor forward(const at::Tensor& labels, const at::Tensor& word_table = {}) const;

 private:
  int64_t grid_;
  at::Tensor colour_words_, shape_words_;  // [classes] int64 token ids (row 0 unused), or undefined
  at::Tensor colour_, shape_, character_, slot_, centre_, row_, column_;  // [classes, D] each
};
TORCH_MODULE(SymbolTokens);

// The alignment loss: squared error of the projector's output `image` [B, P, D] to the symbolic
// tokens `target` [B, P, D] (not trained through), relative to the targets' mean square; the mean over
// all patches plus the mean over the patches on an object or sign (`labels` [B, 5, P]), so the ~85% of
// background patches do not drown the ones questions are about (as PatchHeadsImpl::loss).
at::Tensor alignment_loss(const at::Tensor& image, const at::Tensor& target, const at::Tensor& labels);

}  // namespace pb
