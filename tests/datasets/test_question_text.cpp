// question_text per kind and protocol, and Python's lower()/capitalize().
#include <catch2/catch.hpp>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/question_text.h"
#include "datasets/text_case.h"
#include "datasets_test_util.h"

using Catch::Matchers::Contains;
using pb::QuestionStyle;
using pb::test::data_path;

namespace {

const std::string kInstruction = "\nAnswer the question using a single word or phrase.";

pb::Dataset textvqa_official(bool with_ocr) {
  return pb::load_dataset(
      "textvqa:json=" + data_path("datasets/textvqa/TextVQA_0.5.1_val.json") +
      (with_ocr ? ",ocr=" + data_path("datasets/textvqa/TextVQA_Rosetta_OCR_v0.2_val.json") : std::string()) +
      ",images=i");
}

pb::Dataset textvqa_llava() {
  return pb::load_dataset("llava-jsonl:questions=" +
                          data_path("llava_eval_fixtures/textvqa/llava_textvqa_val_v051_ocr.jsonl") +
                          ",images=i,kind=textvqa");
}

}  // namespace

TEST_CASE("datasets: llava15 TextVQA text from the official json + Rosetta OCR equals LLaVA's question file",
          "[datasets][question_text]") {
  const pb::Dataset official = textvqa_official(true);
  const pb::Dataset llava = textvqa_llava();
  // Fixture questions 34602..34606 mirror lines 1, 4, 5, 37 and 699 of LLaVA's file.
  const size_t lines[] = {1, 4, 5, 37, 699};
  for (size_t i = 0; i < 5; ++i) {
    INFO("question " << official.samples[i].question_id << " vs line " << lines[i]);
    CHECK(pb::question_text(official.samples[i], pb::DatasetKind::kTextvqa, QuestionStyle::kLlava15) ==
          llava.samples[lines[i] - 1].llava_text);
  }
  CHECK(pb::question_text(official.samples[0], pb::DatasetKind::kTextvqa, QuestionStyle::kLlava15) ==
        "What is the brand of this camera?\nReference OCR token: DAKOTA, DIGITAL, Single-Use, Camera, Pire, digitat" +
            kInstruction);
  // No tokens: the OCR line is still there, ending in a space.
  CHECK(pb::question_text(official.samples[3], pb::DatasetKind::kTextvqa, QuestionStyle::kLlava15) ==
        "Whats the lowest number yard line that you can see?\nReference OCR token: " + kInstruction);
}

TEST_CASE("datasets: llava15 text is LLaVA's `text` field for LLaVA question files", "[datasets][question_text]") {
  const pb::Dataset llava = textvqa_llava();
  CHECK(pb::question_text(llava.samples[1], pb::DatasetKind::kTextvqa, QuestionStyle::kLlava15) ==
        "What does the small white text spell?\nReference OCR token: D, RUPALCON, PALCON, COPENHAGEN" + kInstruction);
  const pb::Dataset gqa = pb::load_dataset(
      "llava-jsonl:questions=" + data_path("llava_eval_fixtures/gqa/llava_gqa_testdev_balanced.jsonl") +
      ",images=i,kind=gqa");
  CHECK(pb::question_text(gqa.samples[0], pb::DatasetKind::kGqa, QuestionStyle::kLlava15) ==
        "Is it overcast?" + kInstruction);
  // The official GQA file gives the same text for the same question.
  const pb::Dataset official =
      pb::load_dataset("gqa:questions=" + data_path("datasets/gqa/testdev_balanced_questions.json") + ",images=i");
  for (size_t i = 0; i < 5; ++i) {
    CHECK(pb::question_text(official.samples[i], pb::DatasetKind::kGqa, QuestionStyle::kLlava15) ==
          gqa.find(official.samples[i].key)->llava_text);
  }
}

TEST_CASE("datasets: llava15 VQAv2 and GQA text from official files", "[datasets][question_text]") {
  const pb::Dataset vqa = pb::load_dataset(
      "vqav2:questions=" + data_path("datasets/vqav2/v2_OpenEnded_mscoco_val2014_questions.json") + ",images=i");
  CHECK(pb::question_text(vqa.samples[0], pb::DatasetKind::kVqav2, QuestionStyle::kLlava15) ==
        "Where is he looking?\nAnswer the question using a single word or phrase.");
  const pb::Dataset llava_vqa = pb::load_dataset(
      "llava-jsonl:questions=" + data_path("datasets/vqav2/llava_vqav2_mscoco_val2014.jsonl") + ",images=i,kind=vqav2");
  CHECK(pb::question_text(vqa.samples[1], pb::DatasetKind::kVqav2, QuestionStyle::kLlava15) ==
        llava_vqa.samples[1].llava_text);
}

TEST_CASE("datasets: llava15 TextVQA text needs OCR tokens", "[datasets][question_text]") {
  const pb::Dataset d = textvqa_official(false);
  CHECK_THROWS_WITH(pb::question_text(d.samples[0], pb::DatasetKind::kTextvqa, QuestionStyle::kLlava15),
                    Contains("TextVQA question 34602: no OCR tokens were loaded") && Contains("ocr="));
}

TEST_CASE("datasets: lmms-eval question text", "[datasets][question_text]") {
  const pb::Dataset vqa = pb::load_dataset(
      "vqav2:questions=" + data_path("datasets/vqav2/v2_OpenEnded_mscoco_val2014_questions.json") + ",images=i");
  CHECK(pb::question_text(vqa.samples[3], pb::DatasetKind::kVqav2, QuestionStyle::kLmmsEval) ==
        "Is this a folding chair?\nAnswer the question using a single word or phrase.");
  const pb::Dataset gqa =
      pb::load_dataset("gqa:questions=" + data_path("datasets/gqa/testdev_balanced_questions.json") + ",images=i");
  CHECK(pb::question_text(gqa.samples[1], pb::DatasetKind::kGqa, QuestionStyle::kLmmsEval) ==
        "Who is wearing the dress?\nAnswer the question using a single word or phrase.");
  // textvqa_val: capitalize(), no OCR line (ocr: false), with or without tokens loaded.
  for (bool with_ocr : {false, true}) {
    const pb::Dataset tv = textvqa_official(with_ocr);
    CHECK(pb::question_text(tv.samples[0], pb::DatasetKind::kTextvqa, QuestionStyle::kLmmsEval) ==
          "What is the brand of this camera?\nAnswer the question using a single word or phrase.");
    CHECK(pb::question_text(tv.samples[4], pb::DatasetKind::kTextvqa, QuestionStyle::kLmmsEval) ==
          "What\xC2\xB4s the brand of the wine?\nAnswer the question using a single word or phrase.");
  }
  const pb::Dataset llava = textvqa_llava();
  CHECK(pb::question_text(llava.samples[0], pb::DatasetKind::kTextvqa, QuestionStyle::kLmmsEval) ==
        "What is the brand of this camera?\nAnswer the question using a single word or phrase.");
  CHECK(std::string(pb::question_style_name(QuestionStyle::kLmmsEval)) == "lmms-eval");
  CHECK(std::string(pb::question_style_name(QuestionStyle::kLlava15)) == "llava15");
}

TEST_CASE("datasets: Python lower() and capitalize()", "[datasets][question_text]") {
  CHECK(pb::python_capitalize("what is THE Brand?") == "What is the brand?");
  CHECK(pb::python_capitalize("") == "");
  CHECK(pb::python_capitalize("1974 to WHEN?") == "1974 to when?");
  // école à Paris, пРИ -> При
  CHECK(pb::python_capitalize("\xC3\xA9" "COLE \xC3\x80" " PARIS") == "\xC3\x89" "cole \xC3\xA0 paris");
  CHECK(pb::python_capitalize("\xD0\xBF\xD0\xA0\xD0\x98") == "\xD0\x9F\xD1\x80\xD0\xB8");
  CHECK(pb::python_lower("\xC5\x81\xC3\x93" "D\xC5\xB9") == "\xC5\x82\xC3\xB3" "d\xC5\xBA");              // ŁÓDŹ
  CHECK(pb::python_lower("What\xC2\xB4S") == "what\xC2\xB4s");
  CHECK(pb::python_lower("A\xFF" "B") == "a\xFF" "b");  // an invalid byte passes through
  CHECK(pb::llava_ocr_line({}) == "Reference OCR token: ");
  CHECK(pb::llava_ocr_line({"A", "b c"}) == "Reference OCR token: A, b c");
}
