// `run` on GQA and TextVQA in their official formats, and on a LLaVA question file: counts and the
// submission file each official scorer takes.
#include <catch2/catch.hpp>

#include "run_fixtures.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace pb::test {
namespace {

const std::string kDatasets = std::string(PB_TEST_DATA) + "/datasets/";

// Copies a golden photo under every name the fixture's questions refer to.
fs::path images_named(const fs::path& dir, const std::vector<std::string>& stems) {
  fs::create_directories(dir);
  for (const std::string& stem : stems) fs::copy_file(kGoldenDir + "images/fruits.jpg", dir / (stem + ".jpg"));
  return dir;
}

nlohmann::json run_and_summarise(const std::string& spec, const fs::path& out, const std::string& extra = "") {
  const CliResult r = run_cli("run " + tiny_model_args() + " --dataset " + shell_quote(spec) + " --out " +
                              shell_quote(out.string()) + extra);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(read_text(out / "summary.json"));
}

}  // namespace

TEST_CASE("run: GQA official format writes testdev_balanced_predictions.json", "[cli][run]") {
  const fs::path dir = temp_dir("run_gqa");
  const fs::path images = images_named(dir / "images", {"n161313", "n235859", "n336443", "n179136", "n518912", "n000001"});
  const nlohmann::json s = run_and_summarise(
      "gqa:questions=" + kDatasets + "gqa/testdev_balanced_questions.json,images=" + images.string(), dir / "out");
  CHECK(s["counts"]["scored"] == 6);
  CHECK(s["metrics"]["metric"] == "gqa_llava");
  CHECK(s["metrics"]["breakdowns"].contains("structural"));
  const nlohmann::json predictions = nlohmann::json::parse(read_text(dir / "out" / "testdev_balanced_predictions.json"));
  REQUIRE(predictions.size() == 6);
  CHECK(predictions[0].contains("questionId"));
  CHECK(predictions[0].contains("prediction"));
}

TEST_CASE("run: TextVQA with its OCR file writes the EvalAI submission", "[cli][run]") {
  const fs::path dir = temp_dir("run_textvqa");
  const fs::path images = images_named(
      dir / "images", {"003a8ae2ef43b901", "831bcec304a17054", "97b1112b17015396", "afb0de7efbb6f177", "0123456789abcdef"});
  const nlohmann::json s = run_and_summarise("textvqa:json=" + kDatasets + "textvqa/TextVQA_0.5.1_val.json,ocr=" +
                                                 kDatasets + "textvqa/TextVQA_Rosetta_OCR_v0.2_val.json,images=" +
                                                 images.string(),
                                             dir / "out", " --limit 4");
  CHECK(s["counts"]["total"] == 4);
  CHECK(s["metrics"]["metric"] == "m4c");
  const nlohmann::json submission = nlohmann::json::parse(read_text(dir / "out" / "textvqa_submission.json"));
  REQUIRE(submission.size() == 4);
  CHECK(submission[0]["question_id"] == 34602);
}

TEST_CASE("run: a synthvqa: spec generates the split and writes its VQAv2 submission", "[cli][run]") {
  const fs::path dir = temp_dir("run_synthvqa");
  const nlohmann::json s =
      run_and_summarise("synthvqa:split=val,n=6,seed=3,dir=" + (dir / "data").string(), dir / "out");
  CHECK(s["counts"]["scored"] == 6);
  CHECK(s["metrics"]["metric"] == "llava_submit");  // the llava15 protocol's VQAv2 metric
  const nlohmann::json submission = nlohmann::json::parse(read_text(dir / "out" / "vqav2_submission.json"));
  CHECK(submission.size() == 6);
}

TEST_CASE("trace: without --inputs it traces sample I of --dataset as the protocol prepares it", "[cli][run]") {
  const fs::path dir = temp_dir("trace_sample");
  const std::string spec = "synthvqa:split=val,n=6,seed=3,dir=" + (dir / "data").string();
  auto trace = [&](int sample, const std::string& name) {
    return run_cli("trace --model " + shell_quote(std::string(PB_SOURCE_DIR) + "/configs/models/llava15-tiny-text.json") +
                   " --random-weights --tokenizer " + shell_quote(kGoldenDir + "tokenizer/llama.model") +
                   " --threads 1 --dataset " + shell_quote(spec) + " --sample " +
                   std::to_string(sample) + " --out " + shell_quote((dir / name).string()));
  };
  const CliResult a = trace(0, "a.safetensors"), b = trace(4, "b.safetensors");
  INFO(a.err << b.err);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  // Different samples: different prompts (a colour vs an existence question), so different logits.
  CHECK(read_text(dir / "a.safetensors") != read_text(dir / "b.safetensors"));
  const CliResult past = trace(6, "c.safetensors");
  CHECK(past.exit_code == 1);
  CHECK(past.err.find("--sample 6") != std::string::npos);
}

TEST_CASE("run: a VQAv2 submission lists every question, blank where unanswered", "[cli][run]") {
  const fs::path dir = temp_dir("run_vqav2_submission");
  const std::string spec = write_vqav2_fixture(dir / "data", 5);
  const nlohmann::json s = run_and_summarise(spec, dir / "out", " --limit 2");
  CHECK(s["counts"]["total"] == 2);
  const nlohmann::json submission = nlohmann::json::parse(read_text(dir / "out" / "vqav2_submission.json"));
  REQUIRE(submission.size() == 5);
  CHECK(submission[4]["answer"] == "");
  CHECK(submission[4]["question_id"] == 1004);
}

}  // namespace pb::test
