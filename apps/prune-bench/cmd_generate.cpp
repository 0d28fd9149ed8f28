// `prune-bench generate`: answer one question about one image, as LLaVA-1.5 evaluation would.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/core.h>

#include <memory>

#include "command.h"
#include "common_options.h"
#include "core/error.h"
#include "pipeline/model_inputs.h"

namespace pb::app {

namespace {

struct GenerateArgs {
  ModelSource model;
  std::string image, question, tokenizer;
  std::string templ = "vicuna_v1";
  std::string image_mode = "pad";
  int64_t max_new_tokens = 128;  // LLaVA-1.5 eval scripts (model_vqa_loader.py --max_new_tokens 128)
};

void run_generate(const GenerateArgs& args) {
  c10::InferenceMode guard;
  const std::string tokenizer_path =
      args.tokenizer.empty() ? default_tokenizer_path(args.model.model) : args.tokenizer;
  const SentencePieceTokenizer tokenizer = SentencePieceTokenizer::load(tokenizer_path);
  const LlavaModel model = load_model(args.model);
  const LlavaConfig& cfg = model->config();
  if (tokenizer.vocab_size() > cfg.text.vocab_size) {
    throw Error(fmt::format("{}: tokenizer has {} pieces but the model's vocabulary is {}", tokenizer_path,
                            tokenizer.vocab_size(), cfg.text.vocab_size));
  }
  const at::Tensor pixels = load_pixel_values(args.image, image_mode_from_name(args.image_mode), cfg);
  const std::vector<int64_t> ids = prompt_ids(tokenizer, prompt_template_from_name(args.templ), args.question);
  const ImageFeatures image = model->encode_image(pixels);
  Session session;
  const at::Tensor logits =
      model->prefill(model->splice(ids, image.image_embeds), session, nullptr, false, args.max_new_tokens);
  const GreedyResult out = greedy_decode(*model, session, logits, args.max_new_tokens, cfg.text.eos_token_id);
  std::string text = tokenizer.decode_generated(out.tokens, cfg.text.eos_token_id);
  // model_vqa_loader.py strips the decoded output.
  const auto first = text.find_first_not_of(" \t\n\r");
  const auto last = text.find_last_not_of(" \t\n\r");
  text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  fmt::print("{}\n", text);
}

}  // namespace

void setup_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Answer one question about one image (greedy)");
  add_model_options(*cmd, args->model);
  cmd->add_option("--image", args->image, "Image file (JPEG or PNG)")->required();
  cmd->add_option("--question", args->question, "Question text")->required();
  cmd->add_option("--template", args->templ, "Prompt template")
      ->check(CLI::IsMember({"vicuna_v1", "llava-hf"}))->capture_default_str();
  cmd->add_option("--image-mode", args->image_mode, "pad (LLaVA-1.5 eval) or crop (llava-hf processor)")
      ->check(CLI::IsMember({"pad", "crop"}))->capture_default_str();
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Decoding limit")->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--tokenizer", args->tokenizer, "SentencePiece model (default: tokenizer.model beside the model)");
  cmd->callback([args] { run_generate(*args); });
}

}  // namespace pb::app
