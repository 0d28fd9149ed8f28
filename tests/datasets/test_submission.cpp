// Submission writers: exact bytes, compared with what Python's json.dump writes for the same lists
// (expected strings produced with Python 3's json.dumps).
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/error.h"
#include "datasets/submission.h"
#include "datasets_test_util.h"

using Catch::Matchers::Contains;
using pb::test::data_path;
using pb::test::read_bytes;
using pb::test::TempDir;
using pb::test::write_bytes;

TEST_CASE("datasets: VQAv2 submission covers every question, blank when unanswered", "[datasets][submission]") {
  TempDir dir;
  const std::string out = dir.file("answers_upload.json");
  // LLaVA's test2015 list (jsonl): 3 questions, 2 answered, one answer with characters to escape.
  pb::write_vqav2_submission(out, data_path("datasets/vqav2/llava_vqav2_mscoco_test2015.jsonl"),
                             {{"262144000", "yes"}, {"262144002", "caf\xC3\xA9 \"2\"\n\t\x7f\xF0\x9F\x98\x80"}});
  CHECK(read_bytes(out) ==
        R"([{"question_id": 262144000, "answer": "yes"}, {"question_id": 262144001, "answer": ""}, )"
        R"({"question_id": 262144002, "answer": "caf\u00e9 \"2\"\n\t\u007f\ud83d\ude00"}])");

  // The official questions JSON works too, and the file is replaced whole.
  pb::write_vqav2_submission(out, data_path("datasets/vqav2/v2_OpenEnded_mscoco_test-dev2015_questions.json"),
                             {{"262144001", "baseball"}});
  CHECK(read_bytes(out) ==
        R"([{"question_id": 262144000, "answer": ""}, {"question_id": 262144001, "answer": "baseball"}])");
  pb::write_vqav2_submission(out, data_path("datasets/vqav2/v2_OpenEnded_mscoco_test-dev2015_questions.json"), {});
  CHECK(read_bytes(out) == R"([{"question_id": 262144000, "answer": ""}, {"question_id": 262144001, "answer": ""}])");
  // Nothing but the result is left in the folder (the temporary file was renamed).
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) files += entry.is_regular_file() ? 1 : 0;
  CHECK(files == 1);
}

TEST_CASE("datasets: VQAv2 submission refuses answers for questions outside the list", "[datasets][submission]") {
  TempDir dir;
  const std::string out = dir.file("sub.json");
  CHECK_THROWS_WITH(pb::write_vqav2_submission(out, data_path("datasets/vqav2/llava_vqav2_mscoco_test2015.jsonl"),
                                               {{"262144000", "yes"}, {"393225000", "no"}}),
                    Contains("1 answers have question ids that are not in") && Contains("'393225000'"));
  CHECK_FALSE(std::filesystem::exists(out));
  const std::string dup = write_bytes(dir.file("dup.jsonl"), "{\"question_id\": 1}\n{\"question_id\": 1}\n");
  CHECK_THROWS_WITH(pb::write_vqav2_submission(out, dup, {}), Contains(dup) && Contains("question_id 1 appears twice"));
  const std::string text_id = write_bytes(dir.file("text_id.jsonl"), "{\"question_id\": \"abc\"}\n");
  CHECK_THROWS_WITH(pb::write_vqav2_submission(out, text_id, {}),
                    Contains(text_id) && Contains("line 1") && Contains("expected an integer"));
}

TEST_CASE("datasets: GQA predictions file for eval.py", "[datasets][submission]") {
  TempDir dir;
  const std::string out = dir.file("testdev_balanced_predictions.json");
  pb::write_gqa_submission(out, {{"2062325", "yes"}, {"201307251", "no"}, {"201640614", "woman"}});
  CHECK(read_bytes(out) == R"([{"questionId": "201307251", "prediction": "no"}, )"
                           R"({"questionId": "201640614", "prediction": "woman"}, )"
                           R"({"questionId": "2062325", "prediction": "yes"}])");
  pb::write_gqa_submission(out, {});
  CHECK(read_bytes(out) == "[]");
}

TEST_CASE("datasets: TextVQA submission with integer question ids", "[datasets][submission]") {
  TempDir dir;
  const std::string out = dir.file("textvqa.json");
  pb::write_textvqa_submission(out, {{"34607", "stop"}, {"100000", "x\\y"}, {"34602", "dakota"}});
  CHECK(read_bytes(out) == R"([{"question_id": 34602, "answer": "dakota"}, {"question_id": 34607, "answer": "stop"}, )"
                           R"({"question_id": 100000, "answer": "x\\y"}])");
  CHECK_THROWS_WITH(pb::write_textvqa_submission(out, {{"003a8ae2ef43b901", "dakota"}}),
                    Contains("'003a8ae2ef43b901' is not a TextVQA question id") && Contains("textvqa_question_id"));
  CHECK_THROWS_WITH(pb::write_textvqa_submission(out, {{"0034602", "dakota"}}), Contains("'0034602'"));
}
