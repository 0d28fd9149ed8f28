// The official-format loaders on the hand-written fixtures of tests/data/datasets.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets_test_util.h"

using pb::test::data_path;

TEST_CASE("datasets: VQAv2 questions + annotations", "[datasets][vqav2]") {
  const pb::Dataset d = pb::load_dataset(
      "vqav2:questions=" + data_path("datasets/vqav2/v2_OpenEnded_mscoco_val2014_questions.json") +
      ",annotations=" + data_path("datasets/vqav2/v2_mscoco_val2014_annotations.json") + ",images=coco/val2014");
  CHECK(d.kind == pb::DatasetKind::kVqav2);
  CHECK(d.source_format == "vqav2");
  REQUIRE(d.samples.size() == 6);
  CHECK(d.annotations_unmatched == 1);  // 999999000
  const char* keys[] = {"262148000", "262148001", "262148002", "393225000", "393225001", "393225002"};
  for (size_t i = 0; i < 6; ++i) {
    CHECK(d.samples[i].key == keys[i]);
    CHECK(d.samples[i].question_id == keys[i]);
    CHECK(d.samples[i].llava_text.empty());
    CHECK(d.samples[i].answers.size() == (i < 5 ? 10u : 0u));
  }
  const pb::Sample& s = d.samples[1];
  CHECK(s.question == "What are the people in the background doing?");
  CHECK(s.image_path == "coco/val2014/COCO_val2014_000000262148.jpg");
  CHECK(s.answers[0] == "spectating");
  CHECK(s.answers[9] == "watching");
  CHECK(s.meta.at("answer_type") == "other");
  CHECK(s.meta.at("question_type") == "what are the");
  CHECK(s.meta.at("multiple_choice_answer") == "watching");
  CHECK(s.meta.at("image_id") == 262148);
  CHECK(d.samples[4].meta.at("answer_type") == "number");
  CHECK(d.samples[5].image_path == "coco/val2014/COCO_val2014_000000393225.jpg");
  CHECK(d.samples[5].meta == nlohmann::json{{"image_id", 393225}});
}

TEST_CASE("datasets: VQAv2 questions alone are unscored; test-dev2015 uses test2015 image names",
          "[datasets][vqav2]") {
  const pb::Dataset val = pb::load_dataset(
      "vqav2:questions=" + data_path("datasets/vqav2/v2_OpenEnded_mscoco_val2014_questions.json") + ",images=v");
  REQUIRE(val.samples.size() == 6);
  for (const pb::Sample& s : val.samples) CHECK_FALSE(s.scored());
  CHECK(val.annotations_unmatched == 0);

  const pb::Dataset dev = pb::load_dataset(
      "vqav2:questions=" + data_path("datasets/vqav2/v2_OpenEnded_mscoco_test-dev2015_questions.json") +
      ",images=coco/test2015");
  REQUIRE(dev.samples.size() == 2);
  CHECK(dev.samples[0].key == "262144000");
  CHECK(dev.samples[0].image_path == "coco/test2015/COCO_test2015_000000262144.jpg");
}

TEST_CASE("datasets: TextVQA json + Rosetta OCR", "[datasets][textvqa]") {
  const pb::Dataset d =
      pb::load_dataset("textvqa:json=" + data_path("datasets/textvqa/TextVQA_0.5.1_val.json") +
                       ",ocr=" + data_path("datasets/textvqa/TextVQA_Rosetta_OCR_v0.2_val.json") +
                       ",images=train_images");
  CHECK(d.kind == pb::DatasetKind::kTextvqa);
  CHECK(d.source_format == "textvqa");
  REQUIRE(d.samples.size() == 6);
  CHECK(d.annotations_unmatched == 0);
  const pb::Sample& s = d.samples[0];
  CHECK(s.key == "34602");
  CHECK(s.question_id == "34602");
  CHECK(s.question == "what is the brand of this camera?");
  CHECK(s.image_path == "train_images/003a8ae2ef43b901.jpg");
  CHECK(s.ocr_tokens == std::vector<std::string>{"DAKOTA", "DIGITAL", "Single-Use", "Camera", "Pire", "digitat"});
  REQUIRE(s.answers.size() == 10);
  CHECK(s.answers[1] == "dakota");
  CHECK(s.meta.at("image_id") == "003a8ae2ef43b901");
  CHECK(s.meta.at("textvqa_question_id") == 34602);
  CHECK(s.meta.at("set_name") == "val");
  CHECK(s.meta.at("ocr_source") == "rosetta");
  // Two questions on one image share its OCR tokens.
  CHECK(d.samples[1].ocr_tokens == d.samples[2].ocr_tokens);
  CHECK(d.samples[1].ocr_tokens.size() == 38);
  CHECK(d.samples[3].ocr_tokens.empty());
  CHECK(d.samples[4].question == "what\xC2\xB4s the brand of the wine?");
  CHECK(d.samples[5].ocr_tokens == std::vector<std::string>{"STOP", "ALL", "WAY"});
}

TEST_CASE("datasets: TextVQA json without OCR has no tokens and no OCR source", "[datasets][textvqa]") {
  const pb::Dataset d =
      pb::load_dataset("textvqa:json=" + data_path("datasets/textvqa/TextVQA_0.5.1_val.json") + ",images=i");
  REQUIRE(d.samples.size() == 6);
  for (const pb::Sample& s : d.samples) {
    CHECK(s.ocr_tokens.empty());
    CHECK_FALSE(s.meta.contains("ocr_source"));
    CHECK(s.scored());
  }
}

TEST_CASE("datasets: GQA questions file, in file order", "[datasets][gqa]") {
  const pb::Dataset d =
      pb::load_dataset("gqa:questions=" + data_path("datasets/gqa/testdev_balanced_questions.json") +
                       ",images=gqa/images");
  CHECK(d.kind == pb::DatasetKind::kGqa);
  CHECK(d.source_format == "gqa");
  REQUIRE(d.samples.size() == 6);
  // File order, not the sorted order of the keys ("201303229" would come first).
  const char* keys[] = {"201307251", "201640614", "202225914", "2062325", "201303229", "99999999"};
  for (size_t i = 0; i < 6; ++i) CHECK(d.samples[i].key == keys[i]);
  const pb::Sample& s = d.samples[1];
  CHECK(s.question_id == "201640614");
  CHECK(s.question == "Who is wearing the dress?");
  CHECK(s.image_path == "gqa/images/n235859.jpg");
  CHECK(s.answers == std::vector<std::string>{"woman"});
  CHECK(s.meta.at("image_id") == "n235859");
  CHECK(s.meta.at("types") == nlohmann::json{{"structural", "query"}, {"semantic", "rel"}, {"detailed", "relS"}});
  CHECK(s.meta.at("groups") == nlohmann::json{{"global", "person"}, {"local", "14-dress_wear,s"}});
  CHECK(s.meta.at("isBalanced") == true);
  CHECK(s.meta.at("fullAnswer") == "The woman is wearing a dress.");
  CHECK(d.samples[0].meta.at("groups").at("global").is_null());
}

TEST_CASE("datasets: kinds, the format registry and key lookup", "[datasets]") {
  CHECK(std::string(pb::dataset_kind_name(pb::DatasetKind::kVqav2)) == "vqav2");
  CHECK(std::string(pb::dataset_kind_name(pb::DatasetKind::kTextvqa)) == "textvqa");
  CHECK(std::string(pb::dataset_kind_name(pb::DatasetKind::kGqa)) == "gqa");
  CHECK(pb::dataset_kind_from_name("gqa") == pb::DatasetKind::kGqa);
  CHECK_THROWS_AS(pb::dataset_kind_from_name("vqa"), pb::Error);
  std::vector<std::string> names;
  for (const pb::DatasetFormatInfo& f : pb::dataset_format_registry()) names.push_back(f.name);
  CHECK(names == std::vector<std::string>{"vqav2", "textvqa", "gqa", "llava-jsonl", "synthvqa"});

  pb::Dataset d = pb::load_dataset("gqa:questions=" + data_path("datasets/gqa/testdev_balanced_questions.json") +
                                   ",images=i");
  CHECK(d.find("2062325") == &d.samples[3]);
  // Edited samples: find() falls back to a search until reindex().
  d.samples.erase(d.samples.begin());
  CHECK(d.find("2062325") == &d.samples[2]);
  CHECK(d.find("201307251") == nullptr);
  d.reindex();
  CHECK(d.find("2062325") == &d.samples[2]);
  d.samples.push_back(d.samples[0]);
  CHECK_THROWS_WITH(d.reindex(), Catch::Matchers::Contains("duplicate sample key '201640614'"));
}
