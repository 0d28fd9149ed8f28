// Malformed inputs: every one must give a pb::Error that names the file and the place in it.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets_test_util.h"

using Catch::Matchers::Contains;
using pb::test::data_path;
using pb::test::TempDir;
using pb::test::write_bytes;

namespace {

std::string byte_at(const std::string& text, const std::string& needle, size_t from = 0) {
  const size_t at = text.find(needle, from);
  REQUIRE(at != std::string::npos);
  return "byte " + std::to_string(at) + " ";
}

std::string vqav2_spec(const std::string& questions, const std::string& annotations = "") {
  return "vqav2:questions=" + questions + (annotations.empty() ? "" : ",annotations=" + annotations) + ",images=i";
}

std::string llava_spec(const std::string& file, const std::string& kind = "vqav2") {
  return "llava-jsonl:questions=" + file + ",images=imgs,kind=" + kind;
}

const std::string kGoodQuestions =
    R"({"data_subtype": "val2014", "questions": [{"image_id": 1, "question": "A?", "question_id": 10}]})";

}  // namespace

TEST_CASE("datasets: truncated JSON names the file and the byte offset", "[datasets][errors]") {
  TempDir dir;
  const std::string text = R"({"data_subtype": "val2014", "questions": [{"image_id": 1, "question": "A?")";
  const std::string path = write_bytes(dir.file("q.json"), text);
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(path)),
                    Contains(path) && Contains("invalid JSON at byte " + std::to_string(text.size())));
  const std::string gqa = write_bytes(dir.file("gqa.json"), R"({"1": {"imageId": "n1", "question": "Q?")");
  CHECK_THROWS_WITH(pb::load_dataset("gqa:questions=" + gqa + ",images=i"),
                    Contains(gqa) && Contains("invalid JSON at byte"));
}

TEST_CASE("datasets: a number too large for a double is a pb::Error, in JSON and JSON-lines files",
          "[datasets][errors]") {
  // Found by tests/fuzz (the JSON library reports these as out_of_range, not parse_error).
  TempDir dir;
  const std::string q = write_bytes(dir.file("q.json"), R"({"questions": [{"image_id": 1e999}]})");
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(q)), Contains(q) && Contains("number overflow"));
  const std::string l = write_bytes(dir.file("q.jsonl"), "{\"question_id\": 5e5555}\n");
  CHECK_THROWS_WITH(pb::load_dataset(llava_spec(l)), Contains(l) && Contains("line 1") && Contains("number overflow"));
}

TEST_CASE("datasets: wrong types name the file, byte offset and path", "[datasets][errors]") {
  TempDir dir;
  const std::string text =
      R"({"data_subtype": "val2014", "questions": [{"image_id": 1, "question": "A?", "question_id": 10},)"
      "\n"
      R"( {"image_id": 1, "question": "B?", "question_id": "11"}]})";
  const std::string path = write_bytes(dir.file("q.json"), text);
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(path)),
                    Contains(path) && Contains(byte_at(text, "\"11\"")) && Contains("(line 2, column 51)") &&
                        Contains("questions[1].question_id") && Contains("expected an integer, got \"11\""));

  const std::string ann_text =
      R"({"annotations": [{"question_id": 10, "image_id": 1, "answer_type": "other", "answers": [)"
      R"({"answer": "a"}, {"answer": "b"}, {"answer": "c"}, {"answer": 4}]}]})";
  const std::string q = write_bytes(dir.file("good.json"), kGoodQuestions);
  const std::string ann = write_bytes(dir.file("a.json"), ann_text);
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(q, ann)),
                    Contains(ann) && Contains(byte_at(ann_text, "4}")) &&
                        Contains("annotations[0].answers[3].answer: expected a string, got 4"));

  const std::string gqa_text = R"({"5": {"imageId": "n1", "question": "Q?", "isBalanced": "yes"}})";
  const std::string gqa = write_bytes(dir.file("gqa.json"), gqa_text);
  CHECK_THROWS_WITH(pb::load_dataset("gqa:questions=" + gqa + ",images=i"),
                    Contains(gqa) && Contains(byte_at(gqa_text, "\"yes\"")) && Contains("[\"5\"].isBalanced"));

  const std::string top = write_bytes(dir.file("top.json"), R"([1, 2])");
  CHECK_THROWS_WITH(pb::load_dataset("textvqa:json=" + top + ",images=i"),
                    Contains(top) && Contains("byte 0 ") && Contains("top level: expected an object"));
}

TEST_CASE("datasets: missing fields name the file, byte offset and path", "[datasets][errors]") {
  TempDir dir;
  const std::string q = write_bytes(dir.file("good.json"), kGoodQuestions);
  const std::string ann_text = R"({"annotations": [ {"question_id": 10, "image_id": 1, "answer_type": "other"}]})";
  const std::string ann = write_bytes(dir.file("a.json"), ann_text);
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(q, ann)),
                    Contains(ann) && Contains(byte_at(ann_text, "{\"question_id\"")) &&
                        Contains("annotations[0]: missing field 'answers'"));

  const std::string no_subtype = write_bytes(dir.file("q2.json"), R"({"questions": []})");
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(no_subtype)),
                    Contains(no_subtype) && Contains("top level: missing field 'data_subtype'"));

  const std::string tv_text = R"({"data": [{"question_id": 1, "image_id": "abc"}]})";
  const std::string tv = write_bytes(dir.file("tv.json"), tv_text);
  CHECK_THROWS_WITH(pb::load_dataset("textvqa:json=" + tv + ",images=i"),
                    Contains(tv) && Contains(byte_at(tv_text, "{\"question_id\"")) &&
                        Contains("data[0]: missing field 'question'"));

  const std::string ocr = write_bytes(dir.file("ocr.json"), R"({"data": [{"image_id": "abc"}]})");
  const std::string tv_ok = write_bytes(dir.file("tv_ok.json"),
                                        R"({"data": [{"question_id": 1, "image_id": "abc", "question": "q?"}]})");
  CHECK_THROWS_WITH(pb::load_dataset("textvqa:json=" + tv_ok + ",ocr=" + ocr + ",images=i"),
                    Contains(ocr) && Contains("data[0]: missing field 'ocr_tokens'"));
}

TEST_CASE("datasets: duplicate question ids name the key and where", "[datasets][errors]") {
  TempDir dir;
  const std::string q_text =
      R"({"data_subtype": "val2014", "questions": [{"image_id": 1, "question": "A?", "question_id": 10},)"
      R"( {"image_id": 2, "question": "B?", "question_id": 10}]})";
  const std::string q = write_bytes(dir.file("q.json"), q_text);
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(q)),
                    Contains(q) && Contains(byte_at(q_text, "10}", q_text.find("B?"))) &&
                        Contains("duplicate question_id 10 (first at questions[0])"));

  const std::string ann_text =
      R"({"annotations": [{"question_id": 10, "image_id": 1, "answers": [{"answer": "a"}]},)"
      R"( {"question_id": 10, "image_id": 1, "answers": [{"answer": "b"}]}]})";
  const std::string ann = write_bytes(dir.file("a.json"), ann_text);
  const std::string good = write_bytes(dir.file("good.json"), kGoodQuestions);
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(good, ann)), Contains(ann) && Contains("duplicate question_id 10"));

  // GQA: the parsed object would silently keep the second entry; the text scan catches it.
  const std::string gqa_text =
      R"({"5": {"imageId": "n1", "question": "Q?"},)"
      "\n"
      R"( "5": {"imageId": "n2", "question": "R?"}})";
  const std::string gqa = write_bytes(dir.file("gqa.json"), gqa_text);
  CHECK_THROWS_WITH(pb::load_dataset("gqa:questions=" + gqa + ",images=i"),
                    Contains(gqa) && Contains(byte_at(gqa_text, "\"5\"", 2)) &&
                        Contains("duplicate question id \"5\" (first at byte 1)"));

  const std::string tv = write_bytes(dir.file("tv.json"),
                                     R"({"data": [{"question_id": 7, "image_id": "a", "question": "q?"},)"
                                     R"( {"question_id": 7, "image_id": "b", "question": "r?"}]})");
  CHECK_THROWS_WITH(pb::load_dataset("textvqa:json=" + tv + ",images=i"),
                    Contains(tv) && Contains("data[1].question_id") && Contains("duplicate question_id 7"));

  const std::string lines = write_bytes(
      dir.file("dup.jsonl"),
      "{\"question_id\": 3, \"image\": \"a.jpg\", \"text\": \"A?\"}\n"
      "{\"question_id\": 4, \"image\": \"a.jpg\", \"text\": \"B?\"}\n"
      "{\"question_id\": 3, \"image\": \"b.jpg\", \"text\": \"C?\"}\n");
  CHECK_THROWS_WITH(pb::load_dataset(llava_spec(lines)),
                    Contains(lines) && Contains("line 3") &&
                        Contains("duplicate key: question_id 3 (first at line 1)"));

  // TextVQA jsonl keys: the same question twice on one image.
  const std::string tv_lines = write_bytes(
      dir.file("tv_dup.jsonl"),
      "{\"question_id\": \"ab\", \"image\": \"ab.jpg\", \"text\": \"Q?\\nReference OCR token: X\\nAnswer.\"}\n"
      "{\"question_id\": \"ab\", \"image\": \"ab.jpg\", \"text\": \"Q?\\nReference OCR token: X\\nAnswer.\"}\n");
  CHECK_THROWS_WITH(pb::load_dataset(llava_spec(tv_lines, "textvqa")),
                    Contains(tv_lines) && Contains("line 2") &&
                        Contains("duplicate key: question_id ab with question \"Q?\""));
}

TEST_CASE("datasets: bad spec strings", "[datasets][errors]") {
  CHECK_THROWS_WITH(pb::load_dataset("vqa2:questions=q.json,images=i"),
                    Contains("unknown dataset format 'vqa2'") && Contains("Did you mean: vqav2?") &&
                        Contains("Available: vqav2, textvqa, gqa, llava-jsonl"));
  CHECK_THROWS_WITH(pb::load_dataset("vqav2:questions=q.json,imgs=i"),
                    Contains("unknown key 'imgs' for format 'vqav2'") && Contains("Did you mean: images?"));
  CHECK_THROWS_WITH(pb::load_dataset("vqav2:questions=q.json"), Contains("missing required key images="));
  CHECK_THROWS_WITH(pb::load_dataset("textvqa:images=i"), Contains("missing required key json="));
  CHECK_THROWS_WITH(pb::load_dataset("llava-jsonl:questions=q.jsonl,images=i"), Contains("missing required key kind="));
  CHECK_THROWS_WITH(pb::load_dataset("gqa"), Contains("expected '<format>:key=value,...'"));
  CHECK_THROWS_WITH(pb::load_dataset("gqa:questions=q,images=a,images=b"), Contains("key 'images' given twice"));
  CHECK_THROWS_WITH(pb::load_dataset("gqa:questions=,images=a"), Contains("'questions=' is not key=value"));
  CHECK_THROWS_WITH(pb::load_dataset("gqa:questions=q,images=a,"), Contains("'' is not key=value"));
  CHECK_THROWS_WITH(pb::load_dataset("llava-jsonl:questions=q,images=i,kind=coco"),
                    Contains("unknown dataset kind 'coco'"));
  CHECK_THROWS_WITH(pb::load_dataset("llava-jsonl:questions=q,images=i,kind=gqa,ocr=o.json"),
                    Contains("ocr= applies to kind=textvqa only"));
  CHECK_THROWS_WITH(pb::load_dataset("gqa:questions=/nonexistent/q.json,images=i"),
                    Contains("/nonexistent/q.json: cannot open"));
}

TEST_CASE("datasets: a jsonl line that is not JSON names the line", "[datasets][errors]") {
  TempDir dir;
  const std::string path = write_bytes(dir.file("bad.jsonl"),
                                       "{\"question_id\": 1, \"image\": \"a.jpg\", \"text\": \"A?\"}\n"
                                       "{\"question_id\": 2, \"image\": \"b.jpg\", \"text\": \"B?}\n");
  CHECK_THROWS_WITH(pb::load_dataset(llava_spec(path)),
                    Contains(path) && Contains("line 2, column") && Contains("invalid JSON"));
  const std::string blank = write_bytes(dir.file("blank.jsonl"),
                                        "{\"question_id\": 1, \"image\": \"a.jpg\", \"text\": \"A?\"}\n\n"
                                        "{\"question_id\": 2, \"image\": \"b.jpg\", \"text\": \"B?\"}\n");
  CHECK_THROWS_WITH(pb::load_dataset(llava_spec(blank)), Contains(blank) && Contains("line 2: empty line"));
  const std::string missing = write_bytes(dir.file("missing.jsonl"), "{\"question_id\": 1, \"image\": \"a.jpg\"}\n");
  CHECK_THROWS_WITH(pb::load_dataset(llava_spec(missing)),
                    Contains(missing) && Contains("line 1, column 1: top level: missing field 'text'"));
  const std::string wrong = write_bytes(dir.file("wrong.jsonl"),
                                        "{\"question_id\": 1.5, \"image\": \"a.jpg\", \"text\": \"A?\"}\n");
  CHECK_THROWS_WITH(pb::load_dataset(llava_spec(wrong)),
                    Contains(wrong) && Contains("line 1, column 17: question_id: expected an id"));
  const std::string odd =
      write_bytes(dir.file("odd.jsonl"), "{\"question_id\": \"x\", \"image\": \"x.jpg\", \"text\": \"A question?\"}\n");
  CHECK_THROWS_WITH(pb::load_dataset(llava_spec(odd, "textvqa")),
                    Contains(odd) && Contains("line 1") && Contains("not a TextVQA prompt form"));
}

TEST_CASE("datasets: image names that leave the images folder are refused", "[datasets][errors]") {
  TempDir dir;
  for (const std::string image : {"../secret.jpg", "/etc/passwd", "a/../../x.jpg", "sub\\\\x.jpg", "", "a//b.jpg",
                                  "./a.jpg"}) {
    const std::string path = write_bytes(
        dir.file("img.jsonl"), "{\"question_id\": 1, \"image\": \"ok.jpg\", \"text\": \"A?\"}\n"
                               "{\"question_id\": 2, \"image\": \"" + image + "\", \"text\": \"B?\"}\n");
    INFO(image);
    CHECK_THROWS_WITH(pb::load_dataset(llava_spec(path)),
                      Contains(path) && Contains("line 2") && Contains("image: image name") &&
                          Contains("must name a file inside the images folder"));
  }
  // A plain sub-folder stays inside.
  const std::string sub =
      write_bytes(dir.file("sub.jsonl"), "{\"question_id\": 1, \"image\": \"sub/x.jpg\", \"text\": \"A?\"}\n");
  CHECK(pb::load_dataset(llava_spec(sub)).samples[0].image_path == "imgs/sub/x.jpg");

  const std::string gqa_text = R"({"5": {"imageId": "../n1", "question": "Q?"}})";
  const std::string gqa = write_bytes(dir.file("gqa.json"), gqa_text);
  CHECK_THROWS_WITH(pb::load_dataset("gqa:questions=" + gqa + ",images=i"),
                    Contains(gqa) && Contains(byte_at(gqa_text, "\"../n1\"")) &&
                        Contains("imageId: image id has a '..'"));
  const std::string tv =
      write_bytes(dir.file("tv.json"), R"({"data": [{"question_id": 1, "image_id": "/x", "question": "q"}]})");
  CHECK_THROWS_WITH(pb::load_dataset("textvqa:json=" + tv + ",images=i"),
                    Contains(tv) && Contains("data[0].image_id: image id is an absolute path"));
  const std::string q = write_bytes(dir.file("q.json"), R"({"data_subtype": "../val2014", "questions": []})");
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(q)), Contains(q) && Contains("data_subtype: cannot be used in image"));
}

TEST_CASE("datasets: ground truth that does not fit the questions", "[datasets][errors]") {
  TempDir dir;
  const std::string q = write_bytes(dir.file("q.json"), kGoodQuestions);
  const std::string other_image = write_bytes(
      dir.file("a.json"), R"({"annotations": [{"question_id": 10, "image_id": 2, "answers": [{"answer": "a"}]}]})");
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(q, other_image)),
                    Contains(q) && Contains("question 10 is about image 1") && Contains("names image 2"));
  const std::string other_split =
      write_bytes(dir.file("b.json"), R"({"data_subtype": "train2014", "annotations": []})");
  CHECK_THROWS_WITH(pb::load_dataset(vqav2_spec(q, other_split)),
                    Contains(other_split) && Contains("data_subtype 'train2014' does not match 'val2014'"));

  // A LLaVA file joined with ground truth of another split matches nothing.
  CHECK_THROWS_WITH(
      pb::load_dataset("llava-jsonl:questions=" + data_path("datasets/vqav2/llava_vqav2_mscoco_test2015.jsonl") +
                       ",images=i,kind=vqav2,annotations=" +
                       data_path("datasets/vqav2/v2_mscoco_val2014_annotations.json")),
      Contains("none of the 3 questions") && Contains("wrong file or split?"));

  // TextVQA questions whose image has no OCR entry.
  const std::string ocr = write_bytes(dir.file("ocr.json"), R"({"data": [{"image_id": "zzz", "ocr_tokens": []}]})");
  CHECK_THROWS_WITH(pb::load_dataset("textvqa:json=" + data_path("datasets/textvqa/TextVQA_0.5.1_val.json") +
                                     ",ocr=" + ocr + ",images=i"),
                    Contains(ocr) && Contains("no OCR entry for image 003a8ae2ef43b901 (question 34602"));
}
