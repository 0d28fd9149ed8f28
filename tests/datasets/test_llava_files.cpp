// LLaVA-1.5's real question files (tests/data/llava_eval_fixtures) and ground-truth joins onto them.
#include <catch2/catch.hpp>

#include <set>

#include "datasets/dataset.h"
#include "datasets_test_util.h"

using pb::test::data_path;

namespace {

const std::string kInstruction = "\nAnswer the question using a single word or phrase.";

std::string gqa_llava_spec(const std::string& extra = "") {
  return "llava-jsonl:questions=" + data_path("llava_eval_fixtures/gqa/llava_gqa_testdev_balanced.jsonl") +
         ",images=gqa/images,kind=gqa" + extra;
}

std::string textvqa_llava_spec(const std::string& extra = "") {
  return "llava-jsonl:questions=" + data_path("llava_eval_fixtures/textvqa/llava_textvqa_val_v051_ocr.jsonl") +
         ",images=textvqa/train_images,kind=textvqa" + extra;
}

size_t count_scored(const pb::Dataset& d) {
  size_t n = 0;
  for (const pb::Sample& s : d.samples) n += s.scored() ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("datasets: LLaVA GQA question file loads all 12578 lines", "[datasets][llava]") {
  const pb::Dataset d = pb::load_dataset(gqa_llava_spec());
  CHECK(d.kind == pb::DatasetKind::kGqa);
  CHECK(d.source_format == "llava-jsonl");
  REQUIRE(d.samples.size() == 12578);
  std::set<std::string> keys, images;
  for (const pb::Sample& s : d.samples) {
    keys.insert(s.key);
    images.insert(s.image_path);
    CHECK_FALSE(s.scored());
  }
  CHECK(keys.size() == 12578);
  CHECK(images.size() == 398);

  const pb::Sample& first = d.samples[0];
  CHECK(first.key == "201307251");
  CHECK(first.question_id == "201307251");
  CHECK(first.question == "Is it overcast?");
  CHECK(first.llava_text == "Is it overcast?" + kInstruction);
  CHECK(first.image_path == "gqa/images/n161313.jpg");
  CHECK(first.meta.at("category") == "default");
  CHECK(d.samples[3].key == "2062325");
  const pb::Sample& last = d.samples.back();
  CHECK(last.key == "201738903");
  CHECK(last.question == "Who is staring?");
  CHECK(last.image_path == "gqa/images/n485969.jpg");
  REQUIRE(d.find("2062325") != nullptr);
  CHECK(d.find("2062325")->question == "Is the surfer that looks wet wearing a wetsuit?");
  CHECK(d.find("nope") == nullptr);
}

TEST_CASE("datasets: LLaVA TextVQA question file has 5000 lines with 3166 question ids and 5000 keys",
          "[datasets][llava]") {
  const pb::Dataset d = pb::load_dataset(textvqa_llava_spec());
  CHECK(d.kind == pb::DatasetKind::kTextvqa);
  REQUIRE(d.samples.size() == 5000);
  std::set<std::string> keys, question_ids;
  size_t tokens = 0, empty_ocr = 0;
  for (const pb::Sample& s : d.samples) {
    keys.insert(s.key);
    question_ids.insert(s.question_id);
    tokens += s.ocr_tokens.size();
    empty_ocr += s.ocr_tokens.empty() ? 1 : 0;
    CHECK(s.meta.at("ocr_source") == "llava-text");
    CHECK(s.key == s.question_id + "\x1f" + s.question);
  }
  CHECK(keys.size() == 5000);
  CHECK(question_ids.size() == 3166);
  CHECK(tokens == 66078);  // every non-empty OCR line split at ", " (counted independently with Python)
  CHECK(empty_ocr == 115);

  // Line 1.
  const pb::Sample& s1 = d.samples[0];
  CHECK(s1.question_id == "003a8ae2ef43b901");
  CHECK(s1.key == std::string("003a8ae2ef43b901\x1fWhat is the brand of this camera?"));
  CHECK(s1.question == "What is the brand of this camera?");
  CHECK(s1.ocr_tokens == std::vector<std::string>{"DAKOTA", "DIGITAL", "Single-Use", "Camera", "Pire", "digitat"});
  CHECK(s1.image_path == "textvqa/train_images/003a8ae2ef43b901.jpg");
  CHECK(s1.llava_text ==
        "What is the brand of this camera?\nReference OCR token: DAKOTA, DIGITAL, Single-Use, Camera, Pire, "
        "digitat" + kInstruction);
  CHECK(s1.meta.at("image_id") == "003a8ae2ef43b901");
  // Lines 4 and 5: two questions on one image share the question_id, not the key.
  CHECK(d.samples[3].question_id == d.samples[4].question_id);
  CHECK(d.samples[3].ocr_tokens.size() == 38);
  CHECK(d.samples[3].ocr_tokens.back() == "10");
  CHECK(d.samples[3].ocr_tokens[33] == "ATOL");
  REQUIRE(d.find(d.samples[4].key) == &d.samples[4]);
  // Line 37: the OCR line with no tokens.
  CHECK(d.samples[36].question == "Whats the lowest number yard line that you can see?");
  CHECK(d.samples[36].ocr_tokens.empty());
  // Line 699: U+00B4 written as \u00b4 in the file.
  CHECK(d.samples[698].question == "What\xC2\xB4s the brand of the wine?");
  CHECK(d.samples[698].ocr_tokens == std::vector<std::string>{"facker-Dschor", "RERES", "Pichorr", "fefe"});
  CHECK(d.samples[4999].question == "When is this being aired?");
  CHECK(d.samples[4999].ocr_tokens == std::vector<std::string>{"S", "$", "9-1", "9-1", "FINAL", "ESPm"});
}

TEST_CASE("datasets: LLaVA GQA file joined with the GQA questions file by question id", "[datasets][llava][join]") {
  const pb::Dataset d =
      pb::load_dataset(gqa_llava_spec(",annotations=" + data_path("datasets/gqa/testdev_balanced_questions.json")));
  REQUIRE(d.samples.size() == 12578);
  CHECK(count_scored(d) == 5);
  CHECK(d.annotations_unmatched == 1);  // 99999999 is in no LLaVA line
  const pb::Sample* s = d.find("201307251");
  REQUIRE(s != nullptr);
  CHECK(s->answers == std::vector<std::string>{"no"});
  CHECK(s->meta.at("types").at("structural") == "verify");
  CHECK(s->meta.at("types").at("semantic") == "global");
  CHECK(s->meta.at("groups").at("global").is_null());
  CHECK(s->meta.at("groups").at("local") == "06-weather");
  CHECK(s->meta.at("isBalanced") == true);
  CHECK(s->meta.at("fullAnswer") == "No, it is clear.");
  CHECK(s->meta.at("category") == "default");
  CHECK(d.find("201303229")->answers == std::vector<std::string>{"short"});
  CHECK_FALSE(d.samples.back().scored());
}

TEST_CASE("datasets: LLaVA TextVQA file joined with the TextVQA json by image id and lower-cased question",
          "[datasets][llava][join]") {
  const pb::Dataset d =
      pb::load_dataset(textvqa_llava_spec(",annotations=" + data_path("datasets/textvqa/TextVQA_0.5.1_val.json")));
  REQUIRE(d.samples.size() == 5000);
  CHECK(count_scored(d) == 5);
  CHECK(d.annotations_unmatched == 1);  // 34607
  const pb::Sample& s1 = d.samples[0];
  REQUIRE(s1.answers.size() == 10);
  CHECK(s1.answers[0] == "dakota digital");
  CHECK(s1.meta.at("textvqa_question_id") == 34602);
  CHECK(s1.meta.at("set_name") == "val");
  CHECK(d.samples[3].meta.at("textvqa_question_id") == 34603);
  CHECK(d.samples[4].meta.at("textvqa_question_id") == 34604);
  CHECK(d.samples[36].meta.at("textvqa_question_id") == 34605);
  CHECK(d.samples[698].meta.at("textvqa_question_id") == 34606);  // "What´s" vs "what´s"
  CHECK_FALSE(d.samples[1].scored());
  CHECK_FALSE(d.samples[1].meta.contains("textvqa_question_id"));
}

TEST_CASE("datasets: LLaVA TextVQA lines joined with Rosetta OCR: tokens equal the prompt's OCR line",
          "[datasets][llava][join]") {
  const pb::Dataset d = pb::load_dataset(
      "llava-jsonl:questions=" + data_path("datasets/textvqa/llava_textvqa_val_v051_ocr_subset.jsonl") +
      ",images=img,kind=textvqa,annotations=" + data_path("datasets/textvqa/TextVQA_0.5.1_val.json") +
      ",ocr=" + data_path("datasets/textvqa/TextVQA_Rosetta_OCR_v0.2_val.json"));
  REQUIRE(d.samples.size() == 6);
  for (const pb::Sample& s : d.samples) {
    CHECK(s.meta.at("ocr_source") == "rosetta");
    CHECK(s.meta.at("ocr_matches_prompt") == true);
  }
  CHECK(d.samples[0].ocr_tokens.size() == 6);
  CHECK(count_scored(d) == 5);
  CHECK_FALSE(d.samples[1].scored());  // b9dc400eb20bad64 has no ground truth in the fixture
  CHECK(d.annotations_unmatched == 1);
}

TEST_CASE("datasets: LLaVA VQAv2 file joined with VQAv2 annotations by question_id", "[datasets][llava][join]") {
  const pb::Dataset d = pb::load_dataset(
      "llava-jsonl:questions=" + data_path("datasets/vqav2/llava_vqav2_mscoco_val2014.jsonl") +
      ",images=coco/val2014,kind=vqav2,annotations=" + data_path("datasets/vqav2/v2_mscoco_val2014_annotations.json"));
  REQUIRE(d.samples.size() == 5);
  CHECK(d.kind == pb::DatasetKind::kVqav2);
  CHECK(count_scored(d) == 3);
  CHECK(d.annotations_unmatched == 3);  // 262148002, 393225001, 999999000
  const pb::Sample& s = d.samples[0];
  CHECK(s.key == "262148000");
  CHECK(s.question == "Where is he looking?");
  CHECK(s.llava_text == "Where is he looking?" + kInstruction);
  CHECK(s.image_path == "coco/val2014/COCO_val2014_000000262148.jpg");
  CHECK(s.answers == std::vector<std::string>{"down", "down", "at table", "skateboard", "down", "table", "down", "down",
                                              "down", "down"});
  CHECK(s.meta.at("answer_type") == "other");
  CHECK(s.meta.at("question_type") == "none of the above");
  CHECK(s.meta.at("multiple_choice_answer") == "down");
  CHECK(s.meta.at("image_id") == 262148);
  CHECK(d.samples[2].meta.at("answer_type") == "yes/no");
  CHECK_FALSE(d.find("393225002")->scored());  // in the annotations' question file but not annotated
  CHECK_FALSE(d.find("555555000")->scored());
}
