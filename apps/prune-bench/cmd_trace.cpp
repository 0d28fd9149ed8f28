// `prune-bench trace`: run one prepared input through the model and dump every intermediate that the
// golden references hold, for parity checks against the reference implementation.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "command.h"
#include "common_options.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "models/attention_recorder.h"
#include "models/torch_tensor.h"
#include "spec/model_spec.h"

namespace pb::app {

namespace {

struct TraceArgs {
  ModelSource model;
  std::string inputs, out;
  int64_t generate = 0;
};

at::Tensor input_tensor(const SafetensorsFile& file, const std::string& name, c10::ScalarType type, int64_t dims) {
  const TensorView* view = file.find(name);
  if (view == nullptr) {
    throw Error(fmt::format("{}: missing tensor '{}'", file.path(), name));
  }
  if (to_scalar_type(view->dtype) != type || static_cast<int64_t>(view->shape.size()) != dims) {
    throw Error(fmt::format("{}: tensor '{}' must be {}-d {}, got {} with shape [{}]", file.path(), name, dims,
                            c10::toString(type), dtype_name(view->dtype), fmt::join(view->shape, ",")));
  }
  return tensor_from_view(*view, type).clone();
}

void run_trace(const TraceArgs& args) {
  c10::InferenceMode guard;
  const auto inputs = SafetensorsFile::open(args.inputs);
  const at::Tensor pixels = input_tensor(*inputs, "pixel_values", at::kFloat, 3);    // [3, H, W]
  const at::Tensor input_ids = input_tensor(*inputs, "input_ids", at::kLong, 1);     // [n]
  const LlavaModel model = load_model(args.model);
  const std::vector<int64_t> ids(input_ids.data_ptr<int64_t>(), input_ids.data_ptr<int64_t>() + input_ids.numel());

  std::set<int64_t> vision_layers;
  const int64_t layers_run = vision_layers_to_run(model->config());
  for (int64_t l = 0; l < layers_run; ++l) vision_layers.insert(l);
  const ImageFeatures image = model->encode_image(pixels, vision_layers);
  LastRowAttentionRecorder attention;
  Session session;
  const at::Tensor logits =
      model->prefill(model->splice(ids, image.image_embeds), session, &attention, true, args.generate);

  std::vector<std::pair<std::string, at::Tensor>> outputs = {
      {"vision_features", image.vision_features.to(at::kFloat)},
      {"image_embeds", image.image_embeds.to(at::kFloat)},
      {"logits", logits},
      {"lm_last_row_attention", at::stack(attention.rows)},
  };
  std::vector<at::Tensor> cls_rows;  // [layers run] of [H, 1+P]: the CLS query's softmax row
  for (const at::Tensor& a : image.vision_attentions) cls_rows.push_back(a.select(1, 0));
  if (!cls_rows.empty()) outputs.emplace_back("vision_cls_attention", at::stack(cls_rows));
  if (args.generate > 0) {
    const GreedyResult gen = greedy_decode(*model, session, logits[-1], args.generate, std::nullopt);
    outputs.emplace_back("generated", at::tensor(gen.tokens, at::kLong));
    outputs.emplace_back("generated_margin", at::tensor(gen.margins, at::kFloat));
  }
  std::vector<at::Tensor> holders(outputs.size());
  std::vector<TensorWrite> writes;
  for (size_t i = 0; i < outputs.size(); ++i) {
    writes.push_back(tensor_to_write(outputs[i].first, outputs[i].second, holders[i]));
  }
  write_safetensors(args.out, writes);
}

}  // namespace

void setup_trace(CLI::App& app) {
  auto args = std::make_shared<TraceArgs>();
  CLI::App* cmd = app.add_subcommand("trace", "Dump a model's intermediate outputs for one prepared input");
  add_model_options(*cmd, args->model);
  cmd->add_option("--inputs", args->inputs, "safetensors with pixel_values [3,H,W] f32 and input_ids [n] i64")
      ->required();
  cmd->add_option("--out", args->out, "Output safetensors")->required();
  cmd->add_option("--generate", args->generate, "Also greedily generate N tokens (no EOS stop)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([args] { run_trace(*args); });
}

}  // namespace pb::app
