// LLaVA prompt building and tokenizer_image_token against golden LLaVA-1.5 eval prompts and ids.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/prompt.h"
#include "tokenizer/sentencepiece.h"
#include "test_paths.h"

namespace {

const std::string kGoldenDir = std::string(PB_TEST_DATA) + "/golden/tokenizer";

const pb::SentencePieceTokenizer& llama() {
  static const pb::SentencePieceTokenizer tok =
      pb::SentencePieceTokenizer::load(kGoldenDir + "/llama.model");
  return tok;
}

std::vector<int64_t> widen(const std::vector<int32_t>& ids) {
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<int64_t> concat(std::initializer_list<std::vector<int64_t>> parts) {
  std::vector<int64_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_CASE("prompt: template names", "[prompt]") {
  CHECK(pb::prompt_template_from_name("vicuna_v1") == pb::PromptTemplate::kVicunaV1);
  CHECK(pb::prompt_template_from_name("llava-hf") == pb::PromptTemplate::kLlavaHf);
  CHECK(pb::prompt_template_name(pb::PromptTemplate::kVicunaV1) == "vicuna_v1");
  CHECK(pb::prompt_template_name(pb::PromptTemplate::kLlavaHf) == "llava-hf");
  try {
    pb::prompt_template_from_name("llava_v1");
    FAIL("no exception for an unknown template");
  } catch (const pb::Error& e) {
    const std::string what = e.what();
    CHECK(what.find("'llava_v1'") != std::string::npos);
    CHECK(what.find("vicuna_v1") != std::string::npos);
    CHECK(what.find("llava-hf") != std::string::npos);
  }
}

TEST_CASE("prompt: build_prompt and tokenize_with_image match the LLaVA-1.5 golden prompts",
          "[prompt]") {
  std::ifstream in(kGoldenDir + "/llava15_prompts.json");
  REQUIRE(in.good());
  const auto golden = nlohmann::json::parse(in);
  REQUIRE(golden.at("image_placeholder_id").get<int64_t>() == pb::kOriginalImagePlaceholder);
  const auto& cases = golden.at("cases");
  REQUIRE(cases.size() >= 4);
  for (const auto& c : cases) {
    const auto question = c.at("question").get<std::string>();
    const auto prompt = c.at("prompt").get<std::string>();
    INFO("question: " << question);
    CHECK(pb::build_prompt(pb::PromptTemplate::kVicunaV1, question) == prompt);
    CHECK(pb::tokenize_with_image(llama(), prompt, pb::kOriginalImagePlaceholder) ==
          c.at("input_ids").get<std::vector<int64_t>>());
  }
}

TEST_CASE("prompt: the vicuna_v1 prompt of models.md §3.3", "[prompt]") {
  const std::string prompt =
      pb::build_prompt(pb::PromptTemplate::kVicunaV1, "What is shown in this image?");
  CHECK(prompt.rfind("A chat between a curious user and an artificial intelligence assistant.", 0) == 0);
  const auto ids = pb::tokenize_with_image(llama(), prompt, -200);
  REQUIRE(ids.size() == 50);
  CHECK(ids[0] == 1);
  CHECK(ids[35] == -200);
  CHECK(std::vector<int64_t>(ids.begin() + 36, ids.end()) ==
        std::vector<int64_t>{29871, 13, 5618, 338, 4318, 297, 445, 1967, 29973, 319, 1799, 9047,
                             13566, 29901});
}

TEST_CASE("prompt: llava-hf template", "[prompt]") {
  CHECK(pb::build_prompt(pb::PromptTemplate::kLlavaHf, "What is this?") ==
        "USER: <image>\nWhat is this? ASSISTANT:");
  const std::string prompt = "USER: <image>\nWhat";
  // Original LLaVA: every chunk gets the dummy prefix, so "▁" (29871) follows the image.
  CHECK(pb::tokenize_with_image(llama(), prompt, 32000) ==
        std::vector<int64_t>{1, 3148, 1001, 29901, 29871, 32000, 29871, 13, 5618});
  // HF legacy=false: no dummy prefix after the special token.
  CHECK(pb::tokenize_with_image(llama(), prompt, 32000, /*hf_legacy_false=*/true) ==
        std::vector<int64_t>{1, 3148, 1001, 29901, 29871, 32000, 13, 5618});
}

TEST_CASE("prompt: image markers anywhere, any number", "[prompt]") {
  const auto& tok = llama();
  CHECK(pb::tokenize_with_image(tok, "", -200) == std::vector<int64_t>{1});
  CHECK(pb::tokenize_with_image(tok, "<image>", -200) == std::vector<int64_t>{1, -200});
  CHECK(pb::tokenize_with_image(tok, "<image><image>", -200) ==
        std::vector<int64_t>{1, -200, -200});
  CHECK(pb::tokenize_with_image(tok, "no image here", -200) ==
        concat({{1}, widen(tok.encode("no image here"))}));
  CHECK(pb::tokenize_with_image(tok, "a<image>b <image>\nc", -200) ==
        concat({{1}, widen(tok.encode("a")), {-200}, widen(tok.encode("b ")), {-200},
                widen(tok.encode("\nc"))}));
  // A partial marker is ordinary text.
  CHECK(pb::tokenize_with_image(tok, "<imag>", -200) == concat({{1}, widen(tok.encode("<imag>"))}));
}
