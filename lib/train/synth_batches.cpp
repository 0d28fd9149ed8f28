#include "train/synth_batches.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <string_view>

#include "core/error.h"
#include "datasets/question_text.h"
#include "image/clip_preprocess.h"
#include "image/image_io.h"
#include "pipeline/model_inputs.h"
#include "synth/render.h"
#include "synth/sample.h"
#include "synth/synth_rng.h"

namespace pb {

namespace {
// The quality `prune-bench synth` writes (synth_writer.cpp): training sees the same artefacts.
constexpr int kJpegQuality = 95;
// The sentence-piece EOS id (LLaMA's, and the SynthVQA tokenizer's: synth-tokenizer sets eos_id=2).
constexpr int64_t kEosId = 2;
constexpr std::string_view kSpace = "\u2581";  // SentencePiece's word-boundary mark

// The image as evaluation sees it: a JPEG round trip at the quality `prune-bench synth` writes, then
// LLaVA-1.5 `pad` preprocessing.                                        // [3, S, S] normalised
std::vector<float> model_pixels(const cv::Mat& image, const LlavaConfig& cfg) {
  std::vector<uchar> jpeg;
  PB_CHECK(cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, kJpegQuality}), "JPEG encoding failed");
  const cv::Mat rgb = decode_image_rgb(std::vector<uint8_t>(jpeg.begin(), jpeg.end()), "synth sample");
  return normalize_clip(preprocess_clip_rgb(rgb, ImageMode::kPad, cfg.vision.image_size));
}

// [kPatchLabelRows, P]: colour, shape, sign character, character slot and object centre of every patch, flattened.
std::vector<int64_t> flat_patch_labels(const synth::Scene& scene, const LlavaConfig& cfg) {
  const synth::PatchLabels labels =
      synth::patch_labels(scene, static_cast<int>(cfg.vision.image_size / cfg.vision.patch_size));
  std::vector<int64_t> out;
  for (const auto* part : {&labels.colour, &labels.shape, &labels.character, &labels.slot, &labels.centre}) {
    out.insert(out.end(), part->begin(), part->end());
  }
  return out;
}

}  // namespace

std::vector<Mention> question_mentions(const synth::Question& question, const std::vector<int64_t>& patch_labels) {
  const auto p = static_cast<int64_t>(patch_labels.size()) / kPatchLabelRows;
  auto label = [&](PatchLabelRow row, int64_t patch) { return patch_labels[static_cast<size_t>(row * p + patch)]; };
  std::vector<Mention> out;
  for (const synth::Question::Referent& r : question.referents) {
    Mention m;
    // The question names an object by its colour, its shape or both ("red star"); a plural ("stars")
    // contains the singular, which mention_token finds as a word prefix.
    if (r.colour) m.words = synth::colour_name(*r.colour);
    if (r.shape) m.words += (m.words.empty() ? "" : " ") + std::string(synth::shape_name(*r.shape));
    m.patches.assign(static_cast<size_t>(p), 0);
    const bool counted = question.type == synth::QuestionType::kCount;
    if (counted) m.centres.assign(static_cast<size_t>(p), 0);
    for (int64_t i = 0; i < p; ++i) {
      // Patch labels are 1 + the enum's index, 0 where no object is (synth::PatchLabels).
      const int64_t shape = label(kLabelShape, i), colour = label(kLabelColour, i);
      const bool on = shape > 0 && (!r.shape || shape == 1 + static_cast<int64_t>(*r.shape)) &&
                      (!r.colour || colour == 1 + static_cast<int64_t>(*r.colour));
      m.patches[static_cast<size_t>(i)] = on ? 1 : 0;
      // A centre patch reads the colour and shape of the object whose centre it holds (objects are
      // placed without heavy overlap: synth::place_object).
      if (counted && on && label(kLabelCentre, i) > 0) m.centres[static_cast<size_t>(i)] = 1;
    }
    out.push_back(std::move(m));
  }
  if (question.about_sign) {
    Mention m;
    m.words = "sign";
    m.patches.assign(static_cast<size_t>(p), 0);
    for (int64_t i = 0; i < p; ++i) m.patches[static_cast<size_t>(i)] = label(kLabelCharacter, i) > 0 ? 1 : 0;
    out.push_back(std::move(m));
  }
  return out;
}

int64_t mention_token(const SentencePieceTokenizer& tok, const std::vector<int64_t>& ids, int64_t from, int64_t to,
                      const std::string& question, const std::string& words) {
  // Spell the tokens out ("▁" is a space), remembering where each token ends.
  std::string text;
  std::vector<size_t> ends;  // ends[k]: text length after token from + k
  for (int64_t k = from; k < to; ++k) {
    const int64_t id = ids[static_cast<size_t>(k)];
    if (id >= 0) {
      std::string piece = tok.id_to_piece(static_cast<int32_t>(id));
      for (size_t at = piece.find(kSpace); at != std::string::npos; at = piece.find(kSpace, at)) piece.replace(at, kSpace.size(), " ");
      text += piece;
    }
    ends.push_back(text.size());
  }
  const size_t q = text.find(question);
  PB_CHECK(q != std::string::npos, fmt::format("attention supervision: the question '{}' is not in its tokens", question));
  const size_t w = text.find(" " + words, q > 0 ? q - 1 : 0);  // a whole word: after a space
  PB_CHECK(w != std::string::npos && w < q + question.size(),
           fmt::format("attention supervision: '{}' is not in the question '{}'", words, question));
  const size_t last = w + 1 + words.size() - 1;  // the mention's last character
  const auto k = std::upper_bound(ends.begin(), ends.end(), last) - ends.begin();  // first token ending past it
  return from + static_cast<int64_t>(k);
}

std::vector<SynthExample::Focus> reading_focus(const SentencePieceTokenizer& tok, const std::vector<int64_t>& ids,
                                               int64_t from, int64_t to, const std::vector<int64_t>& patch_labels) {
  const auto p = static_cast<int64_t>(patch_labels.size()) / kPatchLabelRows;
  std::vector<SynthExample::Focus> out;
  int64_t spelled = 0;  // characters spelled by the tokens before this one
  for (int64_t k = from; k < to; ++k) {
    std::string piece = tok.id_to_piece(static_cast<int32_t>(ids[static_cast<size_t>(k)]));
    for (size_t at = piece.find(kSpace); at != std::string::npos; at = piece.find(kSpace, at)) piece.erase(at, kSpace.size());
    if (piece.empty()) continue;
    SynthExample::Focus f;
    f.token = k;
    f.patches.assign(static_cast<size_t>(p), 0);
    // Slot labels are 1 + the character's index in the sign's text, 0 off the sign (synth::PatchLabels).
    const int64_t first = spelled + 1, last = spelled + static_cast<int64_t>(piece.size());
    for (int64_t i = 0; i < p; ++i) {
      const int64_t slot = patch_labels[static_cast<size_t>(kLabelSlot * p + i)];
      f.patches[static_cast<size_t>(i)] = slot >= first && slot <= last ? 1 : 0;
    }
    spelled += static_cast<int64_t>(piece.size());
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<int64_t> caption_tokens(const SentencePieceTokenizer& tok, const std::vector<int64_t>& patch_labels) {
  const auto p = static_cast<int64_t>(patch_labels.size()) / kPatchLabelRows;
  std::vector<int64_t> out(static_cast<size_t>(p), -100);
  for (int64_t i = 0; i < p; ++i) {
    const int64_t character = patch_labels[static_cast<size_t>(kLabelCharacter * p + i)];
    const int64_t slot = patch_labels[static_cast<size_t>(kLabelSlot * p + i)];
    if (character <= 0 || slot <= 0) continue;
    // Answers are lower case (synth::ask_reading); character labels are 1 + the index in kSignCharacters.
    const std::string c(1, static_cast<char>(std::tolower(static_cast<unsigned char>(synth::kSignCharacters[character - 1]))));
    const int32_t id = slot == 1 ? tok.encode(c).back() : tok.piece_to_id(c);
    if (id != tok.unk_id()) out[static_cast<size_t>(i)] = id;
  }
  return out;
}

int64_t first_spelling_token(const SentencePieceTokenizer& tok, const std::vector<int64_t>& ids, int64_t from, int64_t to) {
  for (int64_t k = from; k < to; ++k) {
    if (tok.id_to_piece(static_cast<int32_t>(ids[static_cast<size_t>(k)])) != kSpace) return k;
  }
  return from;
}

std::vector<int64_t> question_type_slots(const std::vector<std::string>& names) {
  std::vector<int64_t> slots;
  for (const std::string& name : names) {
    const auto n = static_cast<int64_t>(synth::kQuestionTypes.size());
    int64_t slot = 0;
    while (slot < n && name != synth::question_type_name(synth::kQuestionTypes[static_cast<size_t>(slot)])) ++slot;
    PB_CHECK(slot < n, fmt::format("--question-types: unknown type '{}' (colour, shape, count, exists, spatial, reading)", name));
    slots.push_back(slot);
  }
  return slots;
}

int64_t typed_stream_index(const std::vector<int64_t>& type_slots, int64_t k) {
  if (type_slots.empty()) return k;
  const auto n = static_cast<int64_t>(type_slots.size());
  const auto j = static_cast<size_t>(k % n);
  const int64_t slot = type_slots[j];
  // A type named c times takes c samples of that type per round: the o-th of them is that type's
  // sample (round * c + o), so no sample is drawn twice.
  const auto c = static_cast<int64_t>(std::count(type_slots.begin(), type_slots.end(), slot));
  const auto o = static_cast<int64_t>(std::count(type_slots.begin(), type_slots.begin() + static_cast<std::ptrdiff_t>(j), slot));
  return ((k / n) * c + o) * static_cast<int64_t>(synth::kQuestionTypes.size()) + slot;
}

SynthExample make_dense_vision_example(const LlavaConfig& cfg, uint64_t seed, int64_t index) {
  synth::Rng rng = synth::Rng::for_sample("train-dense", seed, static_cast<uint64_t>(index));
  const synth::Scene scene = synth::draw_dense_scene(rng);
  SynthExample e;
  e.pixels = model_pixels(synth::render_scene(scene, rng), cfg);
  e.patch_labels = flat_patch_labels(scene, cfg);
  e.type = "dense";
  return e;
}

TrainingBatch collate_vision(const std::vector<SynthExample>& examples, int64_t image_size, int64_t image_tokens) {
  PB_CHECK(!examples.empty(), "empty batch");
  const auto b = static_cast<int64_t>(examples.size());
  TrainingBatch batch;
  batch.pixels = at::empty({b, 3, image_size, image_size}, at::kFloat);  // [B, 3, S, S]
  batch.patch_labels = at::empty({b, kPatchLabelRows, image_tokens}, at::kLong);  // [B, 5, P]
  for (int64_t i = 0; i < b; ++i) {
    const SynthExample& e = examples[static_cast<size_t>(i)];
    PB_CHECK(static_cast<int64_t>(e.pixels.size()) == 3 * image_size * image_size, "pixel count");
    std::copy(e.pixels.begin(), e.pixels.end(), batch.pixels[i].data_ptr<float>());
    PB_CHECK(static_cast<int64_t>(e.patch_labels.size()) == kPatchLabelRows * image_tokens, "patch label count");
    std::copy(e.patch_labels.begin(), e.patch_labels.end(), batch.patch_labels[i].data_ptr<int64_t>());
  }
  return batch;
}

SynthExample make_synth_example(const SentencePieceTokenizer& tok, const LlavaConfig& cfg, const std::string& split,
                                uint64_t seed, int64_t index, int64_t turns) {
  const synth::Sample s = synth::make_sample(split, seed, index);
  SynthExample e;
  e.pixels = model_pixels(s.image, cfg);
  std::string user = s.question.text;
  // Reading questions are asked both ways LLaVA-1.5 evaluates them: VQAv2-style and TextVQA-style
  // with the OCR line (llava_textvqa_val_v051_ocr.jsonl): half of them (index % 12 == 5), by index.
  if (s.question.type == synth::QuestionType::kReading && index % 12 == 5) {
    user += "\n" + llava_ocr_line({s.scene.sign.text});
  }
  user += std::string("\n") + kShortAnswerInstruction;
  e.prompt_ids = prompt_ids(tok, PromptTemplate::kVicunaV1, user);
  e.type = synth::question_type_name(s.question.type);
  e.patch_labels = flat_patch_labels(s.scene, cfg);
  e.caption_tokens = caption_tokens(tok, e.patch_labels);
  auto add = [&](const std::vector<int64_t>& ids, bool target) {
    e.ids.insert(e.ids.end(), ids.begin(), ids.end());
    e.is_target.insert(e.is_target.end(), ids.size(), target ? 1 : 0);
  };
  auto add_answer = [&](const std::string& answer) {
    std::vector<int64_t> ids;
    for (int32_t id : tok.encode(answer)) ids.push_back(id);
    const auto from = static_cast<int64_t>(e.ids.size());
    e.routed_tokens.push_back(from + first_spelling_token(tok, ids, 0, static_cast<int64_t>(ids.size())));
    ids.push_back(kEosId);
    add(ids, true);
  };
  int64_t turn = 0;
  auto add_focus = [&](const synth::Question& q, int64_t from) {
    const auto* type = std::find(synth::kQuestionTypes.begin(), synth::kQuestionTypes.end(), q.type);
    e.answer_types.push_back(static_cast<int64_t>(type - synth::kQuestionTypes.begin()));
    for (Mention& m : question_mentions(q, e.patch_labels)) {
      e.focus.push_back({mention_token(tok, e.ids, from, static_cast<int64_t>(e.ids.size()), q.text, m.words),
                         std::move(m.patches), turn, std::move(m.centres)});
    }
    ++turn;
  };
  auto add_reading = [&](const synth::Question& q, int64_t from) {
    if (q.type != synth::QuestionType::kReading) return;
    // The answer's tokens, without the EOS add_answer ends them with.
    for (SynthExample::Focus& f : reading_focus(tok, e.ids, from, static_cast<int64_t>(e.ids.size()) - 1, e.patch_labels)) {
      e.reading.push_back(std::move(f));
    }
  };
  add(e.prompt_ids, false);
  add_focus(s.question, 0);
  auto answer_from = static_cast<int64_t>(e.ids.size());
  add_answer(s.question.answer);
  add_reading(s.question, answer_from);
  if (turns > 1) {
    synth::Rng rng = synth::Rng::for_sample(split + "-turns", seed, static_cast<uint64_t>(index));
    for (const synth::Question& q : synth::extra_questions(s.scene, rng, turns - 1)) {
      // vicuna_v1 after a turn's "</s>": "USER: <msg> ASSISTANT:" (llava/conversation.py, SeparatorStyle.TWO).
      std::vector<int64_t> ids;
      for (int32_t id : tok.encode(fmt::format("USER: {}\n{} ASSISTANT:", q.text, kShortAnswerInstruction))) ids.push_back(id);
      const auto from = static_cast<int64_t>(e.ids.size());
      add(ids, false);
      add_focus(q, from);
      answer_from = static_cast<int64_t>(e.ids.size());
      add_answer(q.answer);
      add_reading(q, answer_from);
    }
  }
  return e;
}

TrainingBatch collate(const std::vector<SynthExample>& examples, int64_t image_size, int64_t image_tokens) {
  PB_CHECK(!examples.empty(), "empty batch");
  const auto b = static_cast<int64_t>(examples.size());
  auto marker = [](const SynthExample& e) {
    return static_cast<int64_t>(std::find(e.ids.begin(), e.ids.end(), kOriginalImagePlaceholder) - e.ids.begin());
  };
  const int64_t image_pos = marker(examples[0]);
  int64_t t = 0;
  for (const SynthExample& e : examples) {
    PB_CHECK(marker(e) == image_pos, "prompts of one batch must place the image at the same column");
    t = std::max<int64_t>(t, static_cast<int64_t>(e.ids.size()));
  }
  const int64_t l = t - 1 + image_tokens;
  TrainingBatch batch = collate_vision(examples, image_size, image_tokens);
  batch.image_pos = image_pos;
  batch.ids = at::zeros({b, t}, at::kLong);  // pads: id 0 (unk), never a target and never attended to
  batch.targets = at::full({b, l}, -100, at::kLong);
  batch.answer_of = at::full({b, l}, -1, at::kLong);
  size_t most_mentions = 0;
  for (const SynthExample& e : examples) most_mentions = std::max(most_mentions, e.focus.size());
  const auto m = static_cast<int64_t>(most_mentions);
  batch.focus = at::zeros({b, m, image_tokens}, at::kBool);  // [B, M, P]
  batch.focus_query = at::full({b, m}, -1, at::kLong);        // [B, M]
  batch.mention_of = at::full({b, m}, -1, at::kLong);         // [B, M]
  batch.focus_counted = at::zeros({b, m}, at::kBool);         // [B, M]
  batch.focus_centres = at::zeros({b, m, image_tokens}, at::kBool);  // [B, M, P]
  size_t most_read = 0;
  for (const SynthExample& e : examples) most_read = std::max(most_read, e.reading.size());
  const auto r = static_cast<int64_t>(most_read);
  batch.caption_targets = at::full({b, image_tokens}, -100, at::kLong);  // [B, P]
  for (int64_t i = 0; i < b; ++i) {
    const std::vector<int64_t>& c = examples[static_cast<size_t>(i)].caption_tokens;
    PB_CHECK(c.empty() || static_cast<int64_t>(c.size()) == image_tokens, "caption token count");
    if (!c.empty()) std::copy(c.begin(), c.end(), batch.caption_targets[i].data_ptr<int64_t>());
  }
  batch.read_focus = at::zeros({b, r, image_tokens}, at::kBool);  // [B, R, P]
  batch.read_query = at::full({b, r}, -1, at::kLong);              // [B, R]
  size_t most_answers = 0;
  for (const SynthExample& e : examples) most_answers = std::max(most_answers, e.answer_types.size());
  batch.answer_type = at::full({b, static_cast<int64_t>(most_answers)}, -1, at::kLong);  // [B, A]
  batch.route_query = at::full({b, static_cast<int64_t>(most_answers)}, -1, at::kLong);  // [B, A]
  auto answer_type = batch.answer_type.accessor<int64_t, 2>();
  auto route_query = batch.route_query.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const SynthExample& e = examples[static_cast<size_t>(i)];
    PB_CHECK(e.routed_tokens.size() == e.answer_types.size(), "one routed token per answer");
    for (size_t k = 0; k < e.answer_types.size(); ++k) {
      answer_type[i][static_cast<int64_t>(k)] = e.answer_types[k];
      PB_CHECK(e.routed_tokens[k] > image_pos, "an answer must follow the image");
      route_query[i][static_cast<int64_t>(k)] = e.routed_tokens[k] - 1 + image_tokens - 1;  // the spliced position that predicts it
    }
  }
  auto focus = batch.focus.accessor<bool, 3>();
  auto focus_query = batch.focus_query.accessor<int64_t, 2>();
  auto mention_of = batch.mention_of.accessor<int64_t, 2>();
  auto counted = batch.focus_counted.accessor<bool, 2>();
  auto centres = batch.focus_centres.accessor<bool, 3>();
  auto read_focus = batch.read_focus.accessor<bool, 3>();
  auto read_query = batch.read_query.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const SynthExample& e = examples[static_cast<size_t>(i)];
    for (size_t k = 0; k < e.focus.size(); ++k) {
      const SynthExample::Focus& f = e.focus[k];
      const auto slot = static_cast<int64_t>(k);
      PB_CHECK(static_cast<int64_t>(f.patches.size()) == image_tokens, "focus mask length");
      PB_CHECK(f.token > image_pos, "a mention must follow the image");
      focus_query[i][slot] = f.token - 1 + image_tokens;  // its spliced position
      mention_of[i][slot] = f.turn;
      for (int64_t j = 0; j < image_tokens; ++j) focus[i][slot][j] = f.patches[static_cast<size_t>(j)] != 0;
      counted[i][slot] = !f.centres.empty();
      PB_CHECK(f.centres.empty() || static_cast<int64_t>(f.centres.size()) == image_tokens, "centre mask length");
      for (int64_t j = 0; j < static_cast<int64_t>(f.centres.size()); ++j) centres[i][slot][j] = f.centres[static_cast<size_t>(j)] != 0;
    }
    for (size_t k = 0; k < e.reading.size(); ++k) {
      const SynthExample::Focus& f = e.reading[k];
      const auto slot = static_cast<int64_t>(k);
      PB_CHECK(static_cast<int64_t>(f.patches.size()) == image_tokens, "reading mask length");
      PB_CHECK(f.token > image_pos, "an answer must follow the image");
      read_query[i][slot] = f.token - 1 + image_tokens - 1;  // the spliced position that predicts it
      for (int64_t j = 0; j < image_tokens; ++j) read_focus[i][slot][j] = f.patches[static_cast<size_t>(j)] != 0;
    }
  }
  auto ids = batch.ids.accessor<int64_t, 2>();
  auto targets = batch.targets.accessor<int64_t, 2>();
  auto answer_of = batch.answer_of.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const SynthExample& e = examples[static_cast<size_t>(i)];
    for (size_t j = 0; j < e.ids.size(); ++j) ids[i][static_cast<int64_t>(j)] = e.ids[j];
    // Column j of the text is sequence position j before the image and j - 1 + image_tokens after.
    auto position = [&](int64_t j) { return j < image_pos ? j : j - 1 + image_tokens; };
    int64_t answer = -1;
    for (size_t j = 0; j < e.ids.size(); ++j) {
      if (e.is_target[j] == 0) continue;
      if (j == 0 || e.is_target[j - 1] == 0) ++answer;  // a run of targets is one turn's answer and its EOS
      // A target token is predicted from the position before it (never the image: targets follow it).
      const int64_t at = position(static_cast<int64_t>(j)) - 1;
      targets[i][at] = e.ids[j];
      answer_of[i][at] = answer;
    }
  }
  return batch;
}

}  // namespace pb
