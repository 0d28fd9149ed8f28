// `prune-bench trace`: run one prepared input through the model and dump every intermediate that the
// golden references hold, for parity checks against the reference implementation.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "command.h"
#include "common_options.h"
#include "core/embedded_defaults.h"
#include "core/error.h"
#include "datasets/dataset.h"
#include "eval/protocol.h"
#include "io/safetensors.h"
#include "models/attention_recorder.h"
#include "pipeline/model_inputs.h"
#include "pipeline/model_loader.h"
#include "pipeline/pruned_prefill.h"
#include "models/torch_tensor.h"
#include "spec/model_spec.h"

namespace pb::app {

namespace {

struct TraceArgs {
  ModelSource model;
  std::string inputs, out;
  // Without --inputs: one sample of a dataset, prepared as the protocol says (default: SynthVQA val #0).
  std::string dataset = kEmbeddedDataset, protocol = "llava15", tokenizer;
  int64_t sample = 0;
  int64_t generate = 0;
  std::string pruner = "none", budget;
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

void write_named_tensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& outputs) {
  std::vector<at::Tensor> holders(outputs.size());  // keep the CPU copies alive until written
  std::vector<TensorWrite> writes;
  for (size_t i = 0; i < outputs.size(); ++i) writes.push_back(tensor_to_write(outputs[i].first, outputs[i].second, holders[i]));
  write_safetensors(path, writes);
}

struct TraceInputs {
  std::string name;          // for messages and the pruner's per-sample seed
  at::Tensor pixels;         // [3, H, W] f32; LLaVA-NeXT: [tiles, 3, S, S]
  std::vector<int64_t> ids;  // prompt ids, -200 (or one image_token_index) where the image goes
  int width = 0, height = 0; // LLaVA-NeXT: the original image's size
};

bool is_next(const LlavaConfig& cfg) { return cfg.model_type == "llava_next"; }

TraceInputs inputs_from_file(const std::string& path, const LlavaConfig& cfg) {
  const auto inputs = SafetensorsFile::open(path);
  const at::Tensor input_ids = input_tensor(*inputs, "input_ids", at::kLong, 1);  // [n]
  TraceInputs in{path, input_tensor(*inputs, "pixel_values", at::kFloat, is_next(cfg) ? 4 : 3),
                 std::vector<int64_t>(input_ids.data_ptr<int64_t>(), input_ids.data_ptr<int64_t>() + input_ids.numel())};
  if (is_next(cfg)) {
    const at::Tensor size = input_tensor(*inputs, "image_size_wh", at::kLong, 1);  // [2]
    if (size.numel() != 2 || size[0].item<int64_t>() <= 0 || size[1].item<int64_t>() <= 0) {
      throw Error(fmt::format("{}: image_size_wh must hold a positive width and height", path));
    }
    in.width = static_cast<int>(size[0].item<int64_t>());
    in.height = static_cast<int>(size[1].item<int64_t>());
  }
  return in;
}

TraceInputs inputs_from_dataset(const TraceArgs& args, const LlavaConfig& cfg) {
  const Protocol& protocol = protocol_by_name(args.protocol);
  const Dataset dataset = load_dataset(args.dataset);
  if (args.sample >= static_cast<int64_t>(dataset.samples.size())) {
    throw Error(fmt::format("trace: --sample {}: dataset '{}' has {} samples", args.sample, args.dataset,
                            dataset.samples.size()));
  }
  const Sample& sample = dataset.samples[static_cast<size_t>(args.sample)];
  const std::string tokenizer_path = args.tokenizer.empty() ? default_tokenizer_path(args.model.model) : args.tokenizer;
  const SentencePieceTokenizer tokenizer = SentencePieceTokenizer::load(tokenizer_path);
  const std::vector<int64_t> ids =
      prompt_ids(tokenizer, protocol.prompt_template, question_text(sample, dataset.kind, protocol.question_style));
  if (is_next(cfg)) {
    const AnyresPixels pixels = load_anyres_pixels(sample.image_path, cfg);
    return {sample.key, pixels.tiles, ids, pixels.width, pixels.height};
  }
  return {sample.key, load_pixel_values(sample.image_path, protocol.image_mode, cfg), ids};
}

// LLaVA-NeXT: the packed image rows instead of one image's features; the golden files keep the last
// 16 logit rows of what this writes.
void run_trace_anyres(const TraceArgs& args, const LlavaModelImpl& model, const TraceInputs& in) {
  if (args.pruner != "none") {
    throw Error(fmt::format("trace: --pruner {} is not available on LLaVA-NeXT models yet (only none)", args.pruner));
  }
  const AnyresLayout layout =
      select_anyres_layout(in.width, in.height, anyres_pinpoints(model.config()), AnyresConvention::kOriginal,
                           static_cast<int>(model.config().vision.image_size));
  const AnyresFeatures image = model.encode_anyres(in.pixels, in.width, in.height, layout);
  LastRowAttentionRecorder attention;
  Session session;
  const at::Tensor logits = model.prefill(model.splice(in.ids, image.image_embeds), session, &attention,
                                          /*all_logits=*/true, args.generate);
  std::vector<std::pair<std::string, at::Tensor>> outputs = {
      {"image_embeds_packed", image.image_embeds.to(at::kFloat)},
      {"image_packed_source", at::tensor(image.source, at::kLong)},
      {"logits", logits},
      {"lm_last_row_attention", at::stack(attention.rows)},
  };
  if (args.generate > 0) {
    const GreedyResult gen = greedy_decode(model, session, logits[-1], args.generate, std::nullopt);
    outputs.emplace_back("generated", at::tensor(gen.tokens, at::kLong));
  }
  write_named_tensors(args.out, outputs);
}

void run_trace(const TraceArgs& args) {
  c10::InferenceMode guard;
  auto pruner = make_pruner(args.pruner, Budget::parse(args.budget));
  const LlavaModel model = load_model(args.model);
  const TraceInputs in = args.inputs.empty() ? inputs_from_dataset(args, model->config())
                                             : inputs_from_file(args.inputs, model->config());
  if (is_next(model->config())) return run_trace_anyres(args, *model, in);
  resolve_for_model(*pruner, model->config());
  const at::Tensor& pixels = in.pixels;
  const std::vector<int64_t>& ids = in.ids;

  std::set<int64_t> vision_layers;  // LLaVA-HR's dual-path tower has no CLS attention to give
  const bool hr = model->config().model_type == "llava_hr";
  for (int64_t l = 0; !hr && l < vision_layers_to_run(model->config()); ++l) vision_layers.insert(l);
  LastRowAttentionRecorder attention;
  Session session;
  const PrunedPrefill out = run_pruned_prefill(*model, *pruner, in.name, pixels, ids, session,
                                               /*all_logits=*/true, args.generate, &attention, vision_layers);

  std::vector<std::pair<std::string, at::Tensor>> outputs = {
      {"vision_features", out.image.vision_features.to(at::kFloat)},
      {"image_embeds", out.image.image_embeds.to(at::kFloat)},
      {"logits", out.logits},
      {"visual_tokens_per_layer", at::tensor(session.visual_tokens_per_layer, at::kLong)},
  };
  // [L, H, T] when every layer saw the same T (no pruning inside the LLM); else one tensor per layer.
  bool same_length = true;
  for (const at::Tensor& row : attention.rows) same_length = same_length && row.size(1) == attention.rows[0].size(1);
  if (same_length) {
    outputs.emplace_back("lm_last_row_attention", at::stack(attention.rows));
  } else {
    for (size_t l = 0; l < attention.rows.size(); ++l) {
      outputs.emplace_back(fmt::format("lm_last_row_attention_layer{}", l), attention.rows[l]);
    }
  }
  std::vector<at::Tensor> cls_rows;  // [layers run] of [H, 1+P]: the CLS query's softmax row
  for (const at::Tensor& a : out.image.vision_attentions) cls_rows.push_back(a.select(1, 0));
  // [layers, H, 1+P], or one tensor per layer when a method merges inside the tower (ToMe).
  bool same_tokens = true;
  for (const at::Tensor& row : cls_rows) same_tokens = same_tokens && row.size(1) == cls_rows[0].size(1);
  if (!cls_rows.empty() && same_tokens) {
    outputs.emplace_back("vision_cls_attention", at::stack(cls_rows));
  } else {
    for (size_t l = 0; l < cls_rows.size(); ++l) {
      outputs.emplace_back(fmt::format("vision_cls_attention_layer{}", l), cls_rows[l]);
    }
  }
  for (const auto& [stage, kept] : out.kept) outputs.emplace_back(stage, kept);
  if (args.generate > 0) {
    const GreedyResult gen = greedy_decode(*model, session, out.logits[-1], args.generate, std::nullopt);
    outputs.emplace_back("generated", at::tensor(gen.tokens, at::kLong));
    outputs.emplace_back("generated_margin", at::tensor(gen.margins, at::kFloat));
  }
  write_named_tensors(args.out, outputs);
}

}  // namespace

void setup_trace(CLI::App& app) {
  auto args = std::make_shared<TraceArgs>();
  CLI::App* cmd = app.add_subcommand("trace", "Dump a model's intermediate outputs for one prepared input");
  add_model_options(*cmd, args->model);
  cmd->add_option("--inputs", args->inputs,
                  "safetensors with pixel_values [3,H,W] f32 (LLaVA-HR: [3,1024,1024]) and input_ids [n] i64; "
                  "LLaVA-NeXT: pixel_values [tiles,3,S,S] and image_size_wh [2] i64 (default: --sample of --dataset)");
  cmd->add_option("--dataset", args->dataset, "Dataset spec to take the sample from when no --inputs is given")
      ->capture_default_str();
  cmd->add_option("--sample", args->sample, "Index of that sample in file order")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--protocol", args->protocol, "How that sample becomes a prompt and an image")
      ->check(CLI::IsMember({"llava15", "lmms-eval"}))->capture_default_str();
  cmd->add_option("--tokenizer", args->tokenizer, "SentencePiece model (default: tokenizer.model beside the model)");
  cmd->add_option("--out", args->out, "Output safetensors")->required();
  cmd->add_option("--generate", args->generate, "Also greedily generate N tokens (no EOS stop)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--pruner", args->pruner, "Pruning method, e.g. fastv:k=2 (see `prune-bench list`)")
      ->capture_default_str();
  cmd->add_option("--budget", args->budget, "tokens:N | keep:R | flops:F[@convention] | schedule:FILE");
  cmd->callback([args] { run_trace(*args); });
}

}  // namespace pb::app
