// One SynthVQA sample: a scene, its image and one question with ten annotators' answers, drawn from
// the stream of (split, seed, index) alone, so any sample can be made on its own and a split is a
// prefix-stable sequence (n = 100 gives the first 100 samples of n = 1000).
#pragma once

#include <opencv2/core/mat.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "synth/scene.h"

namespace pb::synth {

// The question types, mirroring the three real datasets: VQAv2's colour / shape / counting /
// yes-no questions, GQA's spatial relations, TextVQA's reading. One explicit list; a sample's type is
// kQuestionTypes[index % 6], so every split is balanced.
enum class QuestionType { kColour, kShape, kCount, kExists, kSpatial, kReading };
inline constexpr std::array<QuestionType, 6> kQuestionTypes = {QuestionType::kColour, QuestionType::kShape,
                                                               QuestionType::kCount,  QuestionType::kExists,
                                                               QuestionType::kSpatial, QuestionType::kReading};
const char* question_type_name(QuestionType t);  // "colour", "shape", "count", "exists", "spatial", "reading"

struct Question {
  QuestionType type;
  std::string text;                      // "What color is the star?"
  std::string answer;                    // canonical, as the VQA normaliser leaves it: "red", "2", "yes"
  std::vector<std::string> annotators;   // 10 answers, with the variants real annotators give
  std::string answer_type;               // VQAv2's: "yes/no" | "number" | "other"
  // GQA-style labels of spatial questions (structural "verify"/"choose", detailed type).
  std::string gqa_structural, gqa_detailed;
  // What the question is about, for train-synth's attention supervision only (never written to the
  // dataset files): the objects it names, each as a shape and / or a colour (nullopt = any), or the sign.
  struct Referent {
    std::optional<Shape> shape;
    std::optional<Colour> colour;
  };
  std::vector<Referent> referents;
  bool about_sign = false;
};

struct Sample {
  int64_t index = 0;        // position in the split, from 0
  Scene scene;
  Question question;
  cv::Mat image;            // [H, W] CV_8UC3 BGR
};

// Splits are independent streams: "train", "val", "test".
bool is_split_name(const std::string& split);
Sample make_sample(const std::string& split, uint64_t seed, int64_t index);

// Up to `count` further questions about `scene`, each with one right answer and no two alike (the
// later turns of a multi-turn training conversation, as LLaVA-1.5's instruction data asks several
// questions per image). Draws from `rng`; the sample's own stream is left untouched.
std::vector<Question> extra_questions(const Scene& scene, Rng& rng, int64_t count);

}  // namespace pb::synth
