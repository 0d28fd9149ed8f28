// LLaVA-NeXT's image path (LlavaModelImpl::encode_anyres), as the original haotian-liu/LLaVA
// llava/model/llava_arch.py does it with mm_patch_merge_type "spatial_unpad": every tile (base first)
// through the vision tower and the projector, then the grid tiles re-laid as one feature map, the
// padding rows or columns removed (unpad_image), image_newline appended to every row, and the base
// tile's rows put first.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include <chrono>

#include "core/error.h"
#include "models/llava.h"
#include "spec/model_spec.h"

namespace pb {

AnyresFeatures LlavaModelImpl::encode_anyres(const at::Tensor& tiles, int image_width, int image_height,
                                             const AnyresLayout& layout,
                                             const std::set<int64_t>& attention_layers, EncodeTimes* times) const {
  if (cfg_.model_type != "llava_next") {
    throw Error(fmt::format("{}: anyres images need a llava_next model (this one is {})", cfg_.source, cfg_.model_type));
  }
  if (cfg_.vision_feature_select_strategy != "default") {
    throw Error(fmt::format("{}: LLaVA-NeXT packing needs vision_feature_select_strategy 'default' (got '{}')",
                            cfg_.source, cfg_.vision_feature_select_strategy));
  }
  if (tiles.dim() != 4 || tiles.size(0) != layout.tiles()) {
    throw Error(fmt::format("anyres: expected [{}, 3, S, S] tiles for a {}x{} grid, got {}", layout.tiles(),
                            layout.grid_rows, layout.grid_cols, c10::str(tiles.sizes())));
  }
  const bool cuda = options_.device.is_cuda();
  auto now = [cuda] {
    if (cuda) torch::cuda::synchronize();
    return std::chrono::steady_clock::now();
  };
  const auto t0 = now();
  VisionTowerRequest request;
  request.attention_layers = attention_layers;
  const VisionTowerOutput tower = vision_tower_->forward(tiles.to(options_.device), request);
  std::vector<at::Tensor> selected;
  for (int64_t l : cfg_.vision_feature_layers) {
    selected.push_back(tower.hidden_states.at(static_cast<size_t>(vision_hidden_state_index(l, cfg_.vision.num_hidden_layers))));
  }
  const at::Tensor tokens = selected.size() == 1 ? selected[0] : at::cat(selected, -1);  // [tiles, 1+P, Dv*]
  AnyresFeatures out;
  out.tile_features = tokens.narrow(1, 1, tokens.size(1) - 1);  // [tiles, P, Dv*]: CLS dropped
  out.vision_attentions = tower.attentions;
  const auto t1 = now();
  const at::Tensor embeds = projector_->forward(out.tile_features);  // [tiles, P, D]
  if (times != nullptr) {
    const auto t2 = now();
    times->vision_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    times->projector_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();  // packing not included
  }
  const int64_t p = embeds.size(1), d = embeds.size(2);
  const int64_t side = cfg_.vision.image_size / cfg_.vision.patch_size;  // 24 patches across a tile
  PB_CHECK(side * side == p, "anyres: tiles must give a square patch grid");

  // The grid tiles as one map [rows*side, cols*side, D], and the same layout of source indices.
  const int64_t gh = layout.grid_rows, gw = layout.grid_cols;
  auto as_map = [&](const at::Tensor& t) {  // [gh*gw, side*side, ...] -> [gh*side, gw*side, ...]
    std::vector<int64_t> shape = {gh, gw, side, side};
    for (int64_t i = 2; i < t.dim(); ++i) shape.push_back(t.size(i));
    at::Tensor m = t.reshape(shape).transpose(1, 2);  // [gh, side, gw, side, ...]
    std::vector<int64_t> flat = {gh * side, gw * side};
    for (int64_t i = 2; i < t.dim(); ++i) flat.push_back(t.size(i));
    return m.reshape(flat);
  };
  const at::Tensor index = at::arange(p, tiles.size(0) * p, at::kLong).reshape({tiles.size(0) - 1, p});
  at::Tensor map = as_map(embeds.narrow(0, 1, gh * gw));  // [gh*24, gw*24, D]
  at::Tensor map_index = as_map(index);                   // [gh*24, gw*24]
  const auto [rows, cols] = anyres_unpadded_grid(image_width, image_height, layout, side);
  const int64_t top = (gh * side - rows) / 2, left = (gw * side - cols) / 2;
  map = map.narrow(0, top, rows).narrow(1, left, cols);
  map_index = map_index.narrow(0, top, rows).narrow(1, left, cols);
  const at::Tensor newline = image_newline_.to(map.scalar_type()).view({1, 1, d}).expand({rows, 1, d});
  const at::Tensor grid = at::cat({map, newline}, 1).reshape({rows * (cols + 1), d});
  const at::Tensor grid_index =
      at::cat({map_index, at::full({rows, 1}, -1, at::kLong)}, 1).reshape({rows * (cols + 1)});
  out.image_embeds = at::cat({embeds[0], grid}, 0);  // [P + rows*(cols+1), D]
  const at::Tensor all_index = at::cat({at::arange(p, at::kLong), grid_index}, 0).contiguous();
  out.source.assign(all_index.data_ptr<int64_t>(), all_index.data_ptr<int64_t>() + all_index.numel());
  out.grid_rows = rows;
  out.grid_cols = cols;
  return out;
}

}  // namespace pb
