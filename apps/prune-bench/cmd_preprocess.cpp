// `prune-bench preprocess`: the image exactly as the model sees it, as a PNG or as pixel_values.
#include <fmt/core.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "image/anyres.h"
#include "image/clip_preprocess.h"
#include "image/image_io.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "spec/model_spec.h"

namespace pb::app {

namespace {

struct PreprocessArgs {
  std::string image, mode = "pad", out;
  std::string model, anyres_convention = "original";  // anyres: required; pad, crop: gives the size
  int size = 0;  // 0: the model's image size (LLaVA-HR: input_image_size), or 336 without --model
};

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void write_png(const std::string& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  if (!cv::imwrite(path, bgr)) throw Error(fmt::format("{}: cannot write PNG", path));
}

// LLaVA-NeXT: OUT/tile<k>.png (k = 0 the squashed base image, then the grid in raster order) and
// OUT/pixel_values.safetensors (pixel_values [tiles, 3, S, S] f32, image_size_wh [2] i64, what `trace`
// takes), and the layout as JSON on stdout.
void run_anyres(const PreprocessArgs& args) {
  namespace fs = std::filesystem;
  if (args.model.empty()) throw Error("preprocess --mode anyres needs --model (its image_grid_pinpoints)");
  const LlavaConfig cfg = load_llava_config(args.model);
  if (cfg.image_grid_pinpoints.empty()) {
    throw Error(fmt::format("{}: no image_grid_pinpoints: not a LLaVA-NeXT model", cfg.source));
  }
  const auto tile = static_cast<int>(cfg.vision.image_size);
  const cv::Mat rgb = load_image_rgb(args.image);
  const AnyresLayout layout = select_anyres_layout(rgb.cols, rgb.rows, anyres_pinpoints(cfg),
                                                   anyres_convention_from_name(args.anyres_convention), tile);
  const std::vector<cv::Mat> tiles = anyres_tiles(rgb, layout, tile);
  std::error_code ec;
  fs::create_directories(args.out, ec);
  if (!fs::is_directory(args.out)) throw Error(fmt::format("--out {}: cannot create the folder", args.out));
  std::vector<float> pixels;
  for (size_t k = 0; k < tiles.size(); ++k) {
    write_png((fs::path(args.out) / fmt::format("tile{}.png", k)).string(), tiles[k]);
    const std::vector<float> chw = normalize_clip(tiles[k]);
    pixels.insert(pixels.end(), chw.begin(), chw.end());
  }
  const int64_t size_wh[2] = {rgb.cols, rgb.rows};
  write_safetensors((fs::path(args.out) / "pixel_values.safetensors").string(),
                    {TensorWrite{"pixel_values", DType::kF32, {static_cast<int64_t>(tiles.size()), 3, tile, tile}, pixels.data()},
                     TensorWrite{"image_size_wh", DType::kI64, {2}, size_wh}});
  const int64_t side = cfg.vision.image_size / cfg.vision.patch_size;
  const nlohmann::json info = {{"image_size_wh", {rgb.cols, rgb.rows}},
                               {"best_resolution_wh", {layout.width, layout.height}},
                               {"grid_rows_cols", {layout.grid_rows, layout.grid_cols}},
                               {"tiles", tiles.size()},
                               {"image_tokens", anyres_image_tokens(rgb.cols, rgb.rows, layout, side)},
                               {"convention", args.anyres_convention}};
  fmt::print("{}\n", info.dump(2));
}

// --size, else the side of the square --model's processor makes (1024 for LLaVA-HR), else 336.
int output_size(const PreprocessArgs& args) {
  if (args.model.empty()) return args.size > 0 ? args.size : 336;  // CLIP ViT-L/14-336, LLaVA-1.5's tower
  const LlavaConfig cfg = load_llava_config(args.model);
  const auto model_size = static_cast<int>(model_image_size(cfg));
  if (args.size > 0 && args.size != model_size) {
    throw Error(fmt::format("--size {} differs from the {}x{} images that {} takes", args.size, model_size,
                            model_size, cfg.source));
  }
  return model_size;
}

void run_preprocess(const PreprocessArgs& args) {
  if (args.mode == "anyres") return run_anyres(args);
  const int size = output_size(args);
  const cv::Mat rgb = preprocess_clip_rgb(load_image_rgb(args.image), image_mode_from_name(args.mode), size);
  if (has_suffix(args.out, ".png")) {
    write_png(args.out, rgb);
  } else if (has_suffix(args.out, ".safetensors")) {
    const std::vector<float> chw = normalize_clip(rgb);
    const int64_t s = size;
    write_safetensors(args.out, {TensorWrite{"pixel_values", DType::kF32, {3, s, s}, chw.data()}});
  } else {
    throw Error(fmt::format("--out {}: expected a .png or .safetensors file name", args.out));
  }
}

}  // namespace

void setup_preprocess(CLI::App& app) {
  auto args = std::make_shared<PreprocessArgs>();
  CLI::App* cmd = app.add_subcommand("preprocess", "Write an image as the model sees it (PNG or pixel_values)");
  cmd->add_option("--image", args->image, "Image file (JPEG or PNG)")->required();
  cmd->add_option("--mode", args->mode, "pad (LLaVA-1.5 eval), crop (llava-hf processor) or anyres (LLaVA-NeXT tiles)")
      ->check(CLI::IsMember({"pad", "crop", "anyres"}))->capture_default_str();
  cmd->add_option("--model", args->model,
                  "Model folder or config.json: anyres reads its image_grid_pinpoints; pad and crop its image size "
                  "(LLaVA-HR: input_image_size, 1024)");
  cmd->add_option("--anyres-convention", args->anyres_convention,
                  "anyres: read pinpoints as (width, height) like the original LLaVA, or (height, width) like HF")
      ->check(CLI::IsMember({"original", "hf"}))->capture_default_str();
  cmd->add_option("--size", args->size, "Output side in pixels (default: the --model's, else 336)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", args->out, "OUT.png (resized RGB) or OUT.safetensors (normalised pixel_values); anyres: a folder")->required();
  cmd->callback([args] { run_preprocess(*args); });
}

}  // namespace pb::app
