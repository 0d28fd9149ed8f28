#include "synth/sample.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <optional>

#include "synth/render.h"

namespace pb::synth {

const char* question_type_name(QuestionType t) {
  switch (t) {
    case QuestionType::kColour: return "colour";
    case QuestionType::kShape: return "shape";
    case QuestionType::kCount: return "count";
    case QuestionType::kExists: return "exists";
    case QuestionType::kSpatial: return "spatial";
    case QuestionType::kReading: return "reading";
  }
  return "?";
}

bool is_split_name(const std::string& split) { return split == "train" || split == "val" || split == "test"; }

namespace {

using Accept = std::function<bool(Shape, Colour)>;

// Adds `count` objects of random kinds that `accept` allows; false when one found no room.
bool add_objects(Rng& rng, Scene& scene, int64_t count, const Accept& accept) {
  for (int64_t i = 0; i < count; ++i) {
    Shape s;
    Colour c;
    do {
      s = rng.pick(kShapes);
      c = rng.pick(kColours);
    } while (!accept(s, c));
    if (!place_object(rng, scene, s, c)) return false;
  }
  return true;
}

std::vector<std::string> ten(const std::string& answer) { return std::vector<std::string>(10, answer); }

// Real annotators disagree on form: replace up to `max_variants` of the ten answers by `variant`.
void add_variants(Rng& rng, std::vector<std::string>& answers, const std::string& variant, int64_t max_variants) {
  const int64_t n = rng.integer(0, max_variants);
  for (int64_t i = 0; i < n; ++i) answers[static_cast<size_t>(rng.integer(0, 9))] = variant;
}

std::string number_word(int64_t n) {
  static const char* words[] = {"zero", "one", "two", "three", "four", "five", "six"};
  return words[n];
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string phrase(const Object& o) { return fmt::format("{} {}", colour_name(o.colour), shape_name(o.shape)); }

// A distractor sign in 30% of the images that do not ask about it (signs are common in real photos).
void maybe_distractor_sign(Rng& rng, Scene& scene) {
  if (rng.chance(0.3)) place_sign(rng, scene, draw_sign_text(rng));
}

// The question about given facts, with its answers: one function per type, shared by the scene
// builders below and extra_questions().
Question ask_colour(Rng& rng, Shape shape, Colour colour) {
  Question q{QuestionType::kColour, "", "", {}, "other", "", "", {}, false};
  q.text = rng.chance(0.5) ? fmt::format("What color is the {}?", shape_name(shape))
                           : fmt::format("What is the color of the {}?", shape_name(shape));
  q.answer = colour_name(colour);
  q.referents = {{shape, std::nullopt}};
  q.annotators = ten(q.answer);
  if (colour == Colour::kPurple) add_variants(rng, q.annotators, "violet", 2);
  return q;
}

Question ask_shape(Rng& rng, Shape shape, Colour colour) {
  Question q{QuestionType::kShape, "", "", {}, "other", "", "", {}, false};
  q.text = rng.chance(0.5) ? fmt::format("What shape is the {} object?", colour_name(colour))
                           : fmt::format("What is the shape of the {} object?", colour_name(colour));
  q.answer = shape_name(shape);
  q.referents = {{std::nullopt, colour}};
  q.annotators = ten(q.answer);
  if (shape == Shape::kSquare) add_variants(rng, q.annotators, "rectangle", 1);
  return q;
}

Question ask_count(Rng& rng, bool by_shape, Shape shape, Colour colour, int64_t k) {
  Question q{QuestionType::kCount, "", "", {}, "number", "", "", {}, false};
  if (by_shape) {
    q.text = fmt::format("How many {} are there?", shape_plural(shape));
  } else {
    q.text = rng.chance(0.5) ? fmt::format("How many {} objects are there?", colour_name(colour))
                             : fmt::format("How many {} objects are in the image?", colour_name(colour));
  }
  q.answer = std::to_string(k);
  q.referents = {by_shape ? Question::Referent{shape, std::nullopt} : Question::Referent{std::nullopt, colour}};
  q.annotators = ten(q.answer);
  add_variants(rng, q.annotators, number_word(k), 3);  // "2" / "two", as in VQAv2
  return q;
}

Question ask_exists(Rng& rng, Shape shape, Colour colour, bool yes) {
  Question q{QuestionType::kExists, "", "", {}, "yes/no", "", "", {}, false};
  q.text = rng.chance(0.5) ? fmt::format("Is there a {} {}?", colour_name(colour), shape_name(shape))
                           : fmt::format("Is there a {} {} in the image?", colour_name(colour), shape_name(shape));
  q.answer = yes ? "yes" : "no";
  q.referents = {{shape, colour}};
  q.annotators = ten(q.answer);
  return q;
}

// `a` relative to `b` along the asked axis; the caller guarantees the gap.
Question ask_spatial(Rng& rng, const Object& a, const Object& b, bool horizontal) {
  Question q{QuestionType::kSpatial, "", "", {}, "other", "", "", {}, false};
  const double gap = horizontal ? a.cx - b.cx : a.cy - b.cy;
  const char* first = horizontal ? "left" : "above";
  const char* second = horizontal ? "right" : "below";
  const char* truth = gap < 0 ? first : second;
  q.referents = {{a.shape, a.colour}, {b.shape, b.colour}};
  q.gqa_detailed = horizontal ? "relChooseLR" : "relChooseAB";
  if (rng.chance(0.5)) {
    q.gqa_structural = "choose";
    q.text = horizontal ? fmt::format("Is the {} to the left or to the right of the {}?", phrase(a), phrase(b))
                        : fmt::format("Is the {} above or below the {}?", phrase(a), phrase(b));
    q.answer = truth;
  } else {
    q.gqa_structural = "verify";
    q.gqa_detailed = horizontal ? "relVerifyLR" : "relVerifyAB";
    const char* asked = rng.chance(0.5) ? first : second;
    const std::string relation = horizontal ? fmt::format("to the {} of", asked) : std::string(asked);
    q.text = fmt::format("Is the {} {} the {}?", phrase(a), relation, phrase(b));
    q.answer = std::string(asked) == truth ? "yes" : "no";
    q.answer_type = "yes/no";
  }
  q.annotators = ten(q.answer);
  return q;
}

Question ask_reading(Rng& rng, const std::string& text) {
  Question q{QuestionType::kReading, "", "", {}, "other", "", "", {}, false};
  static const char* forms[] = {"What does the sign say?", "What is written on the sign?", "What text is on the sign?"};
  q.text = forms[rng.integer(0, 2)];
  q.answer = lower(text);
  q.about_sign = true;
  q.annotators = ten(q.answer);
  add_variants(rng, q.annotators, text, 2);  // capitalised as written; the VQA normaliser lower-cases it
  return q;
}

bool build_colour(Rng& rng, Scene& scene, Question& q) {
  const Shape shape = rng.pick(kShapes);
  const Colour colour = rng.pick(kColours);
  if (!place_object(rng, scene, shape, colour)) return false;
  if (!add_objects(rng, scene, rng.integer(0, 5), [&](Shape s, Colour) { return s != shape; })) return false;
  maybe_distractor_sign(rng, scene);
  q = ask_colour(rng, shape, colour);
  return true;
}

bool build_shape(Rng& rng, Scene& scene, Question& q) {
  const Shape shape = rng.pick(kShapes);
  const Colour colour = rng.pick(kColours);
  if (!place_object(rng, scene, shape, colour)) return false;
  if (!add_objects(rng, scene, rng.integer(0, 5), [&](Shape, Colour c) { return c != colour; })) return false;
  maybe_distractor_sign(rng, scene);
  q = ask_shape(rng, shape, colour);
  return true;
}

bool build_count(Rng& rng, Scene& scene, Question& q) {
  const int64_t k = rng.integer(1, 5);
  const bool by_shape = rng.chance(0.5);
  const Shape shape = rng.pick(kShapes);
  const Colour colour = rng.pick(kColours);
  const Accept matches = [&](Shape s, Colour c) { return by_shape ? s == shape : c == colour; };
  if (!add_objects(rng, scene, k, matches)) return false;
  if (!add_objects(rng, scene, rng.integer(0, 6 - k), [&](Shape s, Colour c) { return !matches(s, c); })) return false;
  maybe_distractor_sign(rng, scene);
  q = ask_count(rng, by_shape, shape, colour, k);
  return true;
}

bool build_exists(Rng& rng, Scene& scene, Question& q) {
  const Shape shape = rng.pick(kShapes);
  const Colour colour = rng.pick(kColours);
  const bool yes = rng.chance(0.5);
  const Accept not_target = [&](Shape s, Colour c) { return !(s == shape && c == colour); };
  if (yes) {
    if (!place_object(rng, scene, shape, colour)) return false;
    if (!add_objects(rng, scene, rng.integer(0, 5), not_target)) return false;
  } else {
    // Half of the negatives are hard: the colour and the shape both occur, on other objects.
    if (rng.chance(0.5)) {
      if (!add_objects(rng, scene, 1, [&](Shape s, Colour c) { return s == shape && c != colour; })) return false;
      if (!add_objects(rng, scene, 1, [&](Shape s, Colour c) { return s != shape && c == colour; })) return false;
      if (!add_objects(rng, scene, rng.integer(0, 4), not_target)) return false;
    } else if (!add_objects(rng, scene, rng.integer(1, 6), not_target)) {
      return false;
    }
  }
  maybe_distractor_sign(rng, scene);
  q = ask_exists(rng, shape, colour, yes);
  return true;
}

bool build_spatial(Rng& rng, Scene& scene, Question& q) {
  const Shape sa = rng.pick(kShapes), sb = rng.pick(kShapes);
  const Colour ca = rng.pick(kColours), cb = rng.pick(kColours);
  if (sa == sb && ca == cb) return false;
  const bool horizontal = rng.chance(0.5);
  if (!place_object(rng, scene, sa, ca) || !place_object(rng, scene, sb, cb)) return false;
  const Object a = scene.objects[0], b = scene.objects[1];
  // At least 12% of the longer side apart along the asked axis (~3 patches): one right answer.
  const double gap = horizontal ? a.cx - b.cx : a.cy - b.cy;
  if (std::fabs(gap) < 0.12 * std::max(scene.width, scene.height)) return false;
  const Accept other = [&](Shape s, Colour c) { return !(s == sa && c == ca) && !(s == sb && c == cb); };
  if (!add_objects(rng, scene, rng.integer(0, 4), other)) return false;
  maybe_distractor_sign(rng, scene);
  q = ask_spatial(rng, a, b, horizontal);
  return true;
}

bool build_reading(Rng& rng, Scene& scene, Question& q) {
  const std::string text = draw_sign_text(rng);
  if (!place_sign(rng, scene, text)) return false;
  if (!add_objects(rng, scene, rng.integer(1, 4), [](Shape, Colour) { return true; })) return false;
  q = ask_reading(rng, text);
  return true;
}

}  // namespace

Sample make_sample(const std::string& split, uint64_t seed, int64_t index) {
  PB_CHECK(is_split_name(split), fmt::format("synth: unknown split '{}' (train, val or test)", split));
  Rng rng = Rng::for_sample(split, seed, static_cast<uint64_t>(index));
  Sample s;
  s.index = index;
  const QuestionType type = kQuestionTypes[static_cast<size_t>(index % 6)];
  // Draw scenes until one satisfies the question's constraints (rare retries: crowded canvases).
  for (int attempt = 0;; ++attempt) {
    PB_CHECK(attempt < 1000, fmt::format("synth: no valid scene for sample {} of {}", index, split));
    s.scene = Scene{};
    s.question = Question{type, "", "", {}, "", "", "", {}, false};
    draw_canvas_size(rng, s.scene);
    bool ok = false;
    switch (type) {
      case QuestionType::kColour: ok = build_colour(rng, s.scene, s.question); break;
      case QuestionType::kShape: ok = build_shape(rng, s.scene, s.question); break;
      case QuestionType::kCount: ok = build_count(rng, s.scene, s.question); break;
      case QuestionType::kExists: ok = build_exists(rng, s.scene, s.question); break;
      case QuestionType::kSpatial: ok = build_spatial(rng, s.scene, s.question); break;
      case QuestionType::kReading: ok = build_reading(rng, s.scene, s.question); break;
    }
    if (ok) break;
  }
  s.image = render_scene(s.scene, rng);
  return s;
}

std::vector<Question> extra_questions(const Scene& scene, Rng& rng, int64_t count) {
  const std::vector<Object>& objects = scene.objects;
  auto how_many = [&](const std::function<bool(const Object&)>& match) {
    return std::count_if(objects.begin(), objects.end(), match);
  };
  const double min_gap = 0.12 * std::max(scene.width, scene.height);  // as build_spatial
  std::vector<Question> out;
  for (int attempt = 0; attempt < 40 && static_cast<int64_t>(out.size()) < count; ++attempt) {
    const Object& o = rng.pick(objects);
    std::optional<Question> q;
    switch (kQuestionTypes[static_cast<size_t>(rng.integer(0, 5))]) {
      case QuestionType::kColour:
        if (how_many([&](const Object& x) { return x.shape == o.shape; }) == 1) q = ask_colour(rng, o.shape, o.colour);
        break;
      case QuestionType::kShape:
        if (how_many([&](const Object& x) { return x.colour == o.colour; }) == 1) q = ask_shape(rng, o.shape, o.colour);
        break;
      case QuestionType::kCount: {
        const bool by_shape = rng.chance(0.5);
        const int64_t k = how_many([&](const Object& x) { return by_shape ? x.shape == o.shape : x.colour == o.colour; });
        q = ask_count(rng, by_shape, o.shape, o.colour, k);
        break;
      }
      case QuestionType::kExists: {
        const Shape shape = rng.chance(0.5) ? o.shape : rng.pick(kShapes);
        const Colour colour = rng.chance(0.5) ? o.colour : rng.pick(kColours);
        q = ask_exists(rng, shape, colour, how_many([&](const Object& x) { return x.shape == shape && x.colour == colour; }) > 0);
        break;
      }
      case QuestionType::kSpatial: {
        const Object& b = rng.pick(objects);
        auto unique = [&](const Object& x) {
          return how_many([&](const Object& y) { return y.shape == x.shape && y.colour == x.colour; }) == 1;
        };
        const bool horizontal = rng.chance(0.5);
        const double gap = horizontal ? o.cx - b.cx : o.cy - b.cy;
        if (&o != &b && unique(o) && unique(b) && std::fabs(gap) >= min_gap) q = ask_spatial(rng, o, b, horizontal);
        break;
      }
      case QuestionType::kReading:
        if (scene.has_sign) q = ask_reading(rng, scene.sign.text);
        break;
    }
    const bool repeated = q && std::any_of(out.begin(), out.end(), [&](const Question& x) { return x.text == q->text; });
    if (q && !repeated) out.push_back(*q);
  }
  return out;
}

}  // namespace pb::synth
