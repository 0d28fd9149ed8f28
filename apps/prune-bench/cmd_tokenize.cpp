// `prune-bench tokenize`: prompt ids as the model receives them, or plain encodings of many strings.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "command.h"
#include "core/error.h"
#include "core/llava_constants.h"
#include "io/json_file.h"
#include "tokenizer/prompt.h"
#include "tokenizer/sentencepiece.h"

namespace pb::app {

namespace {

struct TokenizeArgs {
  std::string tokenizer, templ = "vicuna_v1", question, texts;
};

void run_tokenize(const TokenizeArgs& args) {
  const SentencePieceTokenizer tok = SentencePieceTokenizer::load(args.tokenizer);
  if (!args.texts.empty()) {
    const nlohmann::json texts = read_json_file(args.texts);
    if (!texts.is_array()) {
      throw Error(fmt::format("{}: expected a JSON list of strings", args.texts));
    }
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < texts.size(); ++i) {
      if (!texts[i].is_string()) {
        throw Error(fmt::format("{}: item {} is not a string", args.texts, i));
      }
      out.push_back(tok.encode(texts[i].get<std::string>()));
    }
    fmt::print("{}\n", out.dump());
    return;
  }
  const std::string prompt = build_prompt(prompt_template_from_name(args.templ), args.question);
  fmt::print("{}\n", nlohmann::json(tokenize_with_image(tok, prompt, kOriginalImagePlaceholder)).dump());
}

}  // namespace

void setup_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print prompt token ids (-200 marks the image) as JSON");
  cmd->add_option("--tokenizer", args->tokenizer, "SentencePiece tokenizer.model")->required();
  cmd->add_option("--template", args->templ, "Prompt template")
      ->check(CLI::IsMember({"vicuna_v1", "llava-hf"}))->capture_default_str();
  auto* question = cmd->add_option("--question", args->question, "Question text");
  auto* texts = cmd->add_option("--texts", args->texts, "JSON list of strings to encode plainly (no template, no BOS)");
  question->excludes(texts);
  cmd->callback([args, question, texts] {
    if (question->count() == 0 && texts->count() == 0) {
      throw CLI::RequiredError("--question or --texts");
    }
    run_tokenize(*args);
  });
}

}  // namespace pb::app
