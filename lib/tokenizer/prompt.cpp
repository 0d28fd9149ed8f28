#include "tokenizer/prompt.h"

#include <fmt/format.h>

#include <string_view>

#include "core/error.h"

namespace pb {

namespace {

// conv_vicuna_v1.system in llava/conversation.py ("user", unlike conv_llava_v1's "human").
constexpr const char* kVicunaV1System =
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
    "helpful, detailed, and polite answers to the user's questions.";

}  // namespace

PromptTemplate prompt_template_from_name(const std::string& name) {
  if (name == "vicuna_v1") return PromptTemplate::kVicunaV1;
  if (name == "llava-hf") return PromptTemplate::kLlavaHf;
  throw Error(fmt::format("unknown prompt template '{}'; valid names: vicuna_v1, llava-hf", name));
}

std::string prompt_template_name(PromptTemplate t) {
  switch (t) {
    case PromptTemplate::kVicunaV1: return "vicuna_v1";
    case PromptTemplate::kLlavaHf: return "llava-hf";
  }
  throw Error("invalid PromptTemplate value");
}

std::string build_prompt(PromptTemplate t, const std::string& question) {
  // The eval loaders put the image first: DEFAULT_IMAGE_TOKEN + "\n" + question
  // (llava/eval/model_vqa_loader.py). vicuna_v1 is SeparatorStyle.TWO with sep " ": the system
  // prompt, then "ROLE: message" + sep per turn, and a bare "ASSISTANT:" to generate.
  const std::string user = std::string("USER: ") + kImagePlaceholder + "\n" + question;
  switch (t) {
    case PromptTemplate::kVicunaV1: return std::string(kVicunaV1System) + " " + user + " ASSISTANT:";
    case PromptTemplate::kLlavaHf: return user + " ASSISTANT:";
  }
  throw Error("invalid PromptTemplate value");
}

std::vector<int64_t> tokenize_with_image(const SentencePieceTokenizer& tok,
                                         const std::string& prompt,
                                         int64_t image_id,
                                         bool hf_legacy_false) {
  std::vector<int64_t> ids;
  // tokenizer_image_token keeps the BOS of the first chunk only (tokenizer(chunk) adds BOS).
  if (tok.bos_id() >= 0) ids.push_back(tok.bos_id());
  const std::string_view text(prompt);
  const std::string_view marker(kImagePlaceholder);
  size_t start = 0;
  bool first = true;
  while (true) {
    const size_t hit = text.find(marker, start);
    const std::string_view chunk = text.substr(start, hit == std::string_view::npos
                                                          ? std::string_view::npos
                                                          : hit - start);
    const std::vector<int32_t> chunk_ids = (hf_legacy_false && !first)
                                               ? tok.encode_without_dummy_prefix(chunk)
                                               : tok.encode(chunk);
    ids.insert(ids.end(), chunk_ids.begin(), chunk_ids.end());
    if (hit == std::string_view::npos) break;
    ids.push_back(image_id);
    start = hit + marker.size();
    first = false;
  }
  return ids;
}

}  // namespace pb
