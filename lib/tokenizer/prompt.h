// LLaVA prompt templates and the image-placeholder tokenisation of the original LLaVA code
// (haotian-liu/LLaVA llava/conversation.py, llava/mm_utils.py tokenizer_image_token).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/llava_constants.h"
#include "tokenizer/sentencepiece.h"

namespace pb {

inline constexpr const char* kImagePlaceholder = "<image>";

enum class PromptTemplate {
  kVicunaV1,  // "vicuna_v1": conv_vicuna_v1, what every LLaVA-1.5 eval script uses
  kLlavaHf,   // "llava-hf": the chat template of llava-hf/llava-1.5-*-hf, single user turn
};

// "vicuna_v1" | "llava-hf"; throws pb::Error listing the valid names otherwise.
PromptTemplate prompt_template_from_name(const std::string& name);
std::string prompt_template_name(PromptTemplate t);

// The single-turn prompt with the literal "<image>" placeholder before the question:
//   vicuna_v1: "<system> USER: <image>\n<question> ASSISTANT:"
//   llava-hf:  "USER: <image>\n<question> ASSISTANT:"
std::string build_prompt(PromptTemplate t, const std::string& question);

// LLaVA's tokenizer_image_token: split `prompt` at every "<image>", encode each chunk on its own
// (with the dummy prefix), BOS once at the start, `image_id` between chunks. With
// `hf_legacy_false`, chunks after an image get no dummy prefix, the intent of HF's
// LlamaTokenizer(legacy=false) for llava-hf (docs/tokenizer.md); the caller still expands the
// single `image_id` to as many image tokens as the model needs.
std::vector<int64_t> tokenize_with_image(const SentencePieceTokenizer& tok,
                                         const std::string& prompt,
                                         int64_t image_id,
                                         bool hf_legacy_false = false);

}  // namespace pb
