#include "train/patch_heads.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "synth/render.h"

namespace pb {

namespace {

// A training-only head's seeded initialisation: weights N(0, 0.02) (transformers' initializer_range,
// as LlavaModelImpl::random), biases `bias`, all trainable.
void init_head(torch::nn::Module& head, uint64_t seed, double bias) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const auto& item : head.named_parameters()) {
    at::Tensor p = item.value();
    if (p.dim() >= 2) {
      p.normal_(0.0, 0.02, gen);
    } else {
      p.fill_(bias);
    }
    p.set_requires_grad(true);
  }
}

}  // namespace

PatchHeadsImpl::PatchHeadsImpl(int64_t vision_width, uint64_t seed) {
  const at::TensorOptions options = at::TensorOptions(at::kFloat);
  auto make = [&](const char* name, int64_t classes) {
    return register_module(name, Linear(vision_width, classes, /*bias=*/true, options));
  };
  colour_ = make("colour", synth::kPatchColourClasses);
  shape_ = make("shape", synth::kPatchShapeClasses);
  character_ = make("character", synth::kPatchCharacterClasses);
  init_head(*this, seed, 0.0);
}

PatchHeadLoss PatchHeadsImpl::loss(const at::Tensor& features, const at::Tensor& labels) const {
  const at::Tensor x = features.flatten(0, 1);        // [B*P, Dv]
  const at::Tensor l = labels.to(x.device());          // [B, 3, P]
  PatchHeadLoss out;
  at::Tensor logits[3];
  const Linear* heads[3] = {&colour_, &shape_, &character_};
  at::Tensor total;
  for (int64_t h = 0; h < 3; ++h) {
    logits[h] = (*heads[h])->forward(x).to(at::kFloat);  // [B*P, C]
    const at::Tensor target = l.select(1, h).flatten();  // [B*P]
    const at::Tensor per_patch = at::cross_entropy_loss(logits[h], target, {}, at::Reduction::None);  // [B*P]
    // Background is ~90% of the patches, so a plain mean lets a head that only separates object from
    // background look converged (the first run's shape head sat at chance on object patches while the
    // mean loss was 0.03). The labelled patches' own mean is added so they carry half the signal.
    const at::Tensor labelled = target.gt(0);
    const at::Tensor labelled_mean = per_patch.mul(labelled).sum() / labelled.sum().clamp_min(1);
    const at::Tensor term = per_patch.mean() + labelled_mean;
    total = h == 0 ? term : total + term;
  }
  out.loss = total / 3;
  const at::Tensor on_object = l.select(1, 0).flatten().gt(0);
  out.object_patches = on_object.sum().item<int64_t>();
  for (int64_t h = 0; h < 2; ++h) {
    const at::Tensor right = logits[h].detach().argmax(-1).eq(l.select(1, h).flatten()).logical_and(on_object);
    (h == 0 ? out.colour_right : out.shape_right) = right.sum().item<int64_t>();
  }
  const at::Tensor on_sign = l.select(1, 2).flatten().gt(0);
  out.sign_patches = on_sign.sum().item<int64_t>();
  out.character_right =
      logits[2].detach().argmax(-1).eq(l.select(1, 2).flatten()).logical_and(on_sign).sum().item<int64_t>();
  return out;
}

PositionHeadImpl::PositionHeadImpl(int64_t text_width, uint64_t seed) {
  centre_ = register_module("centre", Linear(text_width, 2, /*bias=*/true, at::TensorOptions(at::kFloat)));
  init_head(*this, seed, 0.5);  // biases at the image's centre: the first predictions are the mean answer, not 0
}

PositionHeadImpl::Loss PositionHeadImpl::loss(const at::Tensor& inputs, const at::Tensor& targets,
                                              const at::Tensor& emphasised) const {
  // The residual's scale grows through training (hundreds in the committed model); a read of it
  // normalised to unit RMS (LLaMA's RMSNorm without its weight, eps 1e-6 as rms_norm_eps) starts near
  // the bias whatever that scale is.
  const at::Tensor x = inputs.to(at::kFloat);                                      // [N, D]
  const at::Tensor normed = x * (x.pow(2).mean(-1, /*keepdim=*/true) + 1e-6).rsqrt();
  const at::Tensor predicted = centre_->forward(normed);                           // [N, 2]
  const at::Tensor wanted = targets.to(predicted.device());
  Loss out;
  out.loss = at::mse_loss(predicted, wanted);
  if (!emphasised.defined()) {
    out.mean_error = (predicted.detach() - wanted).abs().mean().item<double>();
    return out;
  }
  const at::Tensor rows = emphasised.to(predicted.device()).nonzero().squeeze(1);  // [N']
  if (rows.numel() == 0) return out;  // no emphasised row: the plain loss, and no error to report
  const at::Tensor picked = predicted.index_select(0, rows), picked_wanted = wanted.index_select(0, rows);  // [N', 2]
  out.loss = out.loss + at::mse_loss(picked, picked_wanted);
  out.mean_error = (picked.detach() - picked_wanted).abs().mean().item<double>();
  return out;
}

at::Tensor patch_centres(int64_t grid, int64_t images) {
  const at::Tensor along = (at::arange(grid, at::kFloat) + 0.5) / static_cast<double>(grid);  // [G]
  const at::Tensor col = along.repeat({grid});                  // [G*G]: 0, 1, ..., G-1, 0, ...
  const at::Tensor row = along.repeat_interleave(grid);         // [G*G]: 0, 0, ..., 1, 1, ...
  return at::stack({col, row}, 1).repeat({images, 1});          // [images*G*G, 2]
}

}  // namespace pb
