// synth-tokenizer: trains the SentencePiece tokenizer of the embedded SynthVQA model with the real
// libsentencepiece trainer, on the text the model will see (LLaVA-1.5 prompts around SynthVQA
// questions, the answers, TextVQA's OCR line). A separate program because Debian's libsentencepiece
// cannot share a process with LibTorch (clashing protobuf copies).
//
//   synth-tokenizer --out models/synthvqa-tiny/tokenizer --samples 30000
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "datasets/question_text.h"
#include "synth/sample.h"
#include "tokenizer/prompt.h"

int main(int argc, char** argv) {
  std::string out;
  int64_t samples = 30000;
  int vocab = 1024;
  CLI::App app{"Train the SynthVQA model's SentencePiece tokenizer"};
  app.add_option("--out", out, "Model prefix: writes PREFIX.model and PREFIX.vocab")->required();
  app.add_option("--samples", samples, "Training-split samples whose text makes the corpus")->capture_default_str();
  app.add_option("--vocab-size", vocab, "Vocabulary size, byte pieces and specials included")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::string corpus = out + ".corpus.txt";
  {
    std::ofstream text(corpus);
    for (int64_t i = 0; i < samples; ++i) {
      const pb::synth::Sample s = pb::synth::make_sample("train", 0, i);
      const std::string user = s.question.text + "\n" + pb::kShortAnswerInstruction;
      std::string prompt = pb::build_prompt(pb::PromptTemplate::kVicunaV1, user);
      prompt.replace(prompt.find(pb::kImagePlaceholder), std::string(pb::kImagePlaceholder).size(), "");
      for (char& c : prompt) c = c == '\n' ? ' ' : c;
      text << prompt << " " << s.question.answer << "\n";
      if (s.scene.has_sign) text << pb::llava_ocr_line({s.scene.sign.text}) << "\n";
    }
  }
  // LLaMA's tokenizer settings (BPE, byte fallback, digits split, identity normaliser, dummy prefix,
  // unk/bos/eos = 0/1/2), so the project's own SentencePiece code and LLaVA's prompt code apply as is.
  const std::string args = fmt::format(
      "--input={} --model_prefix={} --model_type=bpe --vocab_size={} --character_coverage=1.0 "
      "--byte_fallback=true --split_digits=true --normalization_rule_name=identity --add_dummy_prefix=true "
      "--remove_extra_whitespaces=false --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --hard_vocab_limit=false "
      "--num_threads=1 --input_sentence_size=0 --shuffle_input_sentence=false",
      corpus, out, vocab);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  std::filesystem::remove(corpus);
  if (!status.ok()) {
    fmt::print(stderr, "error: sentencepiece training failed: {}\n", status.ToString());
    return 1;
  }
  fmt::print("wrote {}.model and {}.vocab\n", out, out);
  return 0;
}
