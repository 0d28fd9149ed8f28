#include "train/symbol_tokens.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "synth/render.h"
#include "train/synth_batches.h"

namespace pb {

namespace {

// Class -> token id, with class 0 (nothing there) mapped to id 0 and never read.  // [classes] int64
at::Tensor word_ids(const std::vector<int64_t>& words) {
  std::vector<int64_t> ids = {0};
  ids.insert(ids.end(), words.begin(), words.end());
  return at::tensor(ids, at::kLong);
}

// The class embeddings of `label` [B, P]: tied classes from `word_table`, class 0 from `own` row 0.
at::Tensor lookup(const at::Tensor& own, const at::Tensor& words, const at::Tensor& word_table, const at::Tensor& label) {
  if (!words.defined()) return at::embedding(own, label);  // [B, P, D]
  PB_CHECK(word_table.defined(), "symbol tokens tied to words need the language model's embeddings");
  const at::Tensor ids = words.to(label.device()).index_select(0, label.flatten()).view_as(label);  // [B, P]
  const at::Tensor tied = at::embedding(word_table, ids).to(own.scalar_type());                   // [B, P, D]
  return at::where(label.gt(0).unsqueeze(-1), tied, own.select(0, 0).expand_as(tied));
}

}  // namespace

SymbolTokensImpl::SymbolTokensImpl(int64_t text_width, int64_t grid, uint64_t seed, const std::vector<int64_t>& colour_words,
                                   const std::vector<int64_t>& shape_words, bool zero_init)
    : grid_(grid) {
  if (!colour_words.empty()) {
    PB_CHECK(static_cast<int64_t>(colour_words.size()) + 1 == synth::kPatchColourClasses, "one token id per colour");
    colour_words_ = word_ids(colour_words);
  }
  if (!shape_words.empty()) {
    PB_CHECK(static_cast<int64_t>(shape_words.size()) + 1 == synth::kPatchShapeClasses, "one token id per shape");
    shape_words_ = word_ids(shape_words);
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto table = [&](const char* name, int64_t rows) {
    at::Tensor t = at::empty({rows, text_width}, at::kFloat).normal_(0.0, 0.02, gen);  // drawn either way: same stream
    if (zero_init) t.zero_();
    return register_parameter(name, t);
  };
  colour_ = table("colour", synth::kPatchColourClasses);
  shape_ = table("shape", synth::kPatchShapeClasses);
  character_ = table("character", synth::kPatchCharacterClasses);
  slot_ = table("slot", synth::kPatchSlotClasses);
  centre_ = table("centre", 2);
  row_ = table("row", grid);
  column_ = table("column", grid);
}

at::Tensor SymbolTokensImpl::forward(const at::Tensor& labels, const at::Tensor& word_table) const {
  const at::Tensor l = labels.to(colour_.device());  // [B, 5, P]
  const int64_t p = l.size(2);
  const at::Tensor index = at::arange(p, l.options());                 // [P] row-major patch index
  const at::Tensor position = at::embedding(row_, at::div(index, grid_, "floor")) +
                              at::embedding(column_, at::remainder(index, grid_));  // [P, D]
  return lookup(colour_, colour_words_, word_table, l.select(1, kLabelColour)) +
         lookup(shape_, shape_words_, word_table, l.select(1, kLabelShape)) +
         at::embedding(character_, l.select(1, kLabelCharacter)) + at::embedding(slot_, l.select(1, kLabelSlot)) +
         at::embedding(centre_, l.select(1, kLabelCentre)) + position.unsqueeze(0);  // [B, P, D]
}

at::Tensor alignment_loss(const at::Tensor& image, const at::Tensor& target, const at::Tensor& labels) {
  const at::Tensor t = target.detach().to(at::kFloat);                       // [B, P, D]
  const at::Tensor scale = t.pow(2).mean().clamp_min(1e-12);
  const at::Tensor per_patch = (image.to(at::kFloat) - t).pow(2).mean(-1) / scale;  // [B, P]
  const at::Tensor l = labels.to(per_patch.device());
  const at::Tensor labelled = l.select(1, kLabelColour).gt(0).logical_or(l.select(1, kLabelCharacter).gt(0));  // [B, P]
  return per_patch.mean() + per_patch.mul(labelled).sum() / labelled.sum().clamp_min(1);
}

}  // namespace pb
