// Training batches from SynthVQA: samples drawn on the fly from the train stream, passed through a
// JPEG round trip and the same preprocessing and prompt as evaluation (LLaVA-1.5 `pad`, vicuna_v1,
// the short-answer instruction; reading questions with TextVQA's OCR line half of the time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "synth/sample.h"
#include "tokenizer/sentencepiece.h"
#include "train/batched_forward.h"

namespace pb {

// Rows of SynthExample::patch_labels and TrainingBatch::patch_labels, in this order (synth::PatchLabels).
inline constexpr int64_t kPatchLabelRows = 5;
enum PatchLabelRow : int64_t { kLabelColour = 0, kLabelShape, kLabelCharacter, kLabelSlot, kLabelCentre };

struct SynthExample {
  std::vector<float> pixels;        // [3, S, S] normalised
  std::vector<int64_t> prompt_ids;  // the first turn's prompt, -200 at the image: what evaluation feeds
  std::vector<int64_t> ids;         // the whole conversation: every turn's prompt, answer and EOS
  std::vector<uint8_t> is_target;   // per ids: 1 for answer tokens and EOS (the tokens trained on)
  std::string type;                 // the first question's type
  std::vector<int64_t> patch_labels;  // [kPatchLabelRows, P]: colour, shape, sign character, character slot,
                                      // object centre per patch (synth::patch_labels)
  // Attention supervision targets: for each thing a question names (an object, or the sign), the ids
  // index of its mention's last token and the patches [P] it is (all 0 when nothing matches: a "no" to
  // "is there ...").
  struct Focus {
    int64_t token = 0;
    std::vector<uint8_t> patches;
    int64_t turn = 0;  // which answer's question it is in
    // A count question's mention: the centre patch [P] of each object it counts (Mention::centres);
    // empty for any other mention.
    std::vector<uint8_t> centres;
  };
  std::vector<Focus> focus;
  // Reading supervision targets: for each token of a reading answer that spells sign characters, its ids
  // index (the position before it predicts it) and the patches [P] of the character slots it spells
  // (`turn` and `centres` unused).
  std::vector<Focus> reading;
  std::vector<int64_t> answer_types;  // per answer (turn): its question's type, an index into synth::kQuestionTypes
  // Per answer (turn): the ids index of its first token that says something, the one routing supervises.
  // A count's "3" is "▁" "3" (digits split off, as in LLaMA's tokenizer): the bare "▁" says nothing,
  // and the position that predicts it is not the one that must know the count.
  std::vector<int64_t> routed_tokens;
  // Per patch [P]: the answer token that spells the sign character there (caption_tokens), -100 = none.
  std::vector<int64_t> caption_tokens;
};

// What `question` names, in order (its referents, then the sign), as the words that name it in the
// question text ("red star", "star", "red", "sign"), each with its patch mask [P] over flattened patch
// labels [kPatchLabelRows, P] (patches of objects that match, or of the sign's characters).
// A count question's mention also has `centres` [P] (empty for others): the one patch holding each
// matching object's centre, so that attention spread evenly over them and a fixed token carries the count.
struct Mention {
  std::string words;
  std::vector<uint8_t> patches;
  std::vector<uint8_t> centres;
};
std::vector<Mention> question_mentions(const synth::Question& question, const std::vector<int64_t>& patch_labels);

// For an answer of tokens ids[from, to) that spells the sign's text (a reading answer), each token that
// spells characters: its ids index and the patches [P] of the sign slots holding those characters
// (patch label row kLabelSlot). A bare word-boundary token ("▁" before a digit) spells none and is left out.
std::vector<SynthExample::Focus> reading_focus(const SentencePieceTokenizer& tok, const std::vector<int64_t>& ids,
                                               int64_t from, int64_t to, const std::vector<int64_t>& patch_labels);

// Per patch of flattened patch labels [kPatchLabelRows, P], the token a reading answer spells that
// patch's sign character with: the first character as an answer starts ("g" -> "▁g"; a digit, which
// follows a bare "▁", as itself), any later one as the piece alone ("g"); -100 off the sign.
std::vector<int64_t> caption_tokens(const SentencePieceTokenizer& tok, const std::vector<int64_t>& patch_labels);

// The index of the first token in ids[from, to) that is not a bare word-boundary "▁"; `from` when none is.
int64_t first_spelling_token(const SentencePieceTokenizer& tok, const std::vector<int64_t>& ids, int64_t from, int64_t to);

// The index in ids[from, to) of the token that ends the first occurrence of `words` (as whole words)
// inside `question` as those tokens spell it; an error when the tokens do not spell it.
int64_t mention_token(const SentencePieceTokenizer& tok, const std::vector<int64_t>& ids, int64_t from, int64_t to,
                      const std::string& question, const std::string& words);

// Sample `index` of `split` as a conversation of up to `turns` questions about its image: the
// sample's own question first (exactly the evaluation prompt), then synth::extra_questions as later
// USER/ASSISTANT turns of LLaVA's vicuna_v1 conversation.
SynthExample make_synth_example(const SentencePieceTokenizer& tok, const LlavaConfig& cfg, const std::string& split,
                                uint64_t seed, int64_t index, int64_t turns = 1);

// A dense scene (synth::draw_dense_scene) of the "train-dense" stream, index `index`: pixels and
// patch labels only, for the vision-only stage (no conversation: ids stay empty).
SynthExample make_dense_vision_example(const LlavaConfig& cfg, uint64_t seed, int64_t index);

// Positions in synth::kQuestionTypes of the named types ("colour", ...); an unknown name is an error.
std::vector<int64_t> question_type_slots(const std::vector<std::string>& names);

// The training-stream sample index at stream position k: k itself when `type_slots` is empty, else
// the k-th sample of those types taken in turn (sample i is of type kQuestionTypes[i % 6]); a type
// named twice comes twice as often, never with the same sample twice.
int64_t typed_stream_index(const std::vector<int64_t>& type_slots, int64_t k);

// Pixels and patch labels of a vision-only batch (ids and targets stay empty).
TrainingBatch collate_vision(const std::vector<SynthExample>& examples, int64_t image_size, int64_t image_tokens);

// Right-padded batch; every prompt must have the image at the same column.
TrainingBatch collate(const std::vector<SynthExample>& examples, int64_t image_size, int64_t image_tokens);

}  // namespace pb
