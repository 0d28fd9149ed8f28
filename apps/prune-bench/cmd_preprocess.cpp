// `prune-bench preprocess`: the image exactly as the model sees it, as a PNG or as pixel_values.
#include <fmt/core.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <memory>

#include "command.h"
#include "core/error.h"
#include "image/clip_preprocess.h"
#include "image/image_io.h"
#include "io/safetensors.h"

namespace pb::app {

namespace {

struct PreprocessArgs {
  std::string image, mode = "pad", out;
  int size = 336;  // CLIP ViT-L/14-336, LLaVA-1.5's tower
};

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void run_preprocess(const PreprocessArgs& args) {
  const cv::Mat rgb = preprocess_clip_rgb(load_image_rgb(args.image), image_mode_from_name(args.mode), args.size);
  if (has_suffix(args.out, ".png")) {
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    if (!cv::imwrite(args.out, bgr)) {
      throw Error(fmt::format("{}: cannot write PNG", args.out));
    }
  } else if (has_suffix(args.out, ".safetensors")) {
    const std::vector<float> chw = normalize_clip(rgb);
    const int64_t s = args.size;
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
  cmd->add_option("--mode", args->mode, "pad (LLaVA-1.5 eval) or crop (llava-hf processor)")
      ->check(CLI::IsMember({"pad", "crop"}))->capture_default_str();
  cmd->add_option("--size", args->size, "Output side in pixels")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--out", args->out, "OUT.png (resized RGB) or OUT.safetensors (normalised pixel_values)")->required();
  cmd->callback([args] { run_preprocess(*args); });
}

}  // namespace pb::app
