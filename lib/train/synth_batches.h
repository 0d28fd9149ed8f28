// Training batches from SynthVQA: samples drawn on the fly from the train stream, passed through a
// JPEG round trip and the same preprocessing and prompt as evaluation (LLaVA-1.5 `pad`, vicuna_v1,
// the short-answer instruction; reading questions with TextVQA's OCR line half of the time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "tokenizer/sentencepiece.h"
#include "train/batched_forward.h"

namespace pb {

struct SynthExample {
  std::vector<float> pixels;        // [3, S, S] normalised
  std::vector<int64_t> prompt_ids;  // -200 at the image
  std::vector<int64_t> answer_ids;  // answer tokens + EOS
  std::string type;                 // question type
};

// Sample `index` of `split` as the model is trained (and, without the answer, evaluated) on it.
SynthExample make_synth_example(const SentencePieceTokenizer& tok, const LlavaConfig& cfg, const std::string& split,
                                uint64_t seed, int64_t index);

// Right-padded batch; every prompt must have the image at the same column.
TrainingBatch collate(const std::vector<SynthExample>& examples, int64_t image_size, int64_t image_tokens);

}  // namespace pb
