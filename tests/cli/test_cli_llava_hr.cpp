// LLaVA-HR through the executable: `preprocess --model` makes the 1024x1024 pixel_values, and `trace` on
// them with the golden prompt reproduces the golden vision features, embeddings, logits and attention;
// `run` works unpruned and pruned; wrong-sized inputs and refused methods are one-line errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "tensor_values.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace pb::test {
namespace {

const std::string kGolden = std::string(PB_TEST_DATA) + "/golden/";

double max_diff(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0;
  for (size_t i = 0; i < want.size(); ++i) diff = std::max(diff, std::fabs(double(got[i]) - want[i]));
  return diff;
}

}  // namespace

TEST_CASE("cli: preprocess and trace reproduce the golden LLaVA-HR case", "[cli][llava_hr]") {
  const fs::path dir = temp_dir("hr");
  const std::string model = kGolden + "llava-hr-tiny";
  const fs::path pixels_path = dir / "pixels.safetensors";
  const CliResult pre = run_cli("preprocess --mode pad --model " + shell_quote(model) + " --image " +
                                shell_quote(kGolden + "images/messi5.jpg") + " --out " + shell_quote(pixels_path.string()));
  INFO(pre.err);
  REQUIRE(pre.exit_code == 0);
  const auto pixels = SafetensorsFile::open(pixels_path.string());
  const TensorView* pv = pixels->find("pixel_values");
  REQUIRE(pv != nullptr);
  REQUIRE(pv->shape == std::vector<int64_t>{3, 1024, 1024});

  const auto ref = SafetensorsFile::open(model + "/case1.safetensors");  // messi5.jpg
  const TensorView* ids = ref->find("input_ids");
  const fs::path inputs = dir / "inputs.safetensors";
  write_safetensors(inputs.string(), {TensorWrite{"pixel_values", DType::kF32, pv->shape, pv->data},
                                      TensorWrite{"input_ids", DType::kI64, ids->shape, ids->data}});
  const fs::path out = dir / "trace.safetensors";
  const CliResult r = run_cli("trace --model " + shell_quote(model) + " --inputs " + shell_quote(inputs.string()) +
                              " --out " + shell_quote(out.string()) + " --threads 1");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto got = SafetensorsFile::open(out.string());
  for (const char* name : {"vision_features", "image_embeds"}) {
    INFO(name);
    const TensorView* t = got->find(name);
    REQUIRE(t != nullptr);
    REQUIRE(t->shape == ref->find(name)->shape);
    CHECK(relative_max_diff(floats(*t), floats(*ref->find(name))) <= 1e-4);
  }
  const TensorView* logits = got->find("logits");
  REQUIRE(logits != nullptr);
  const int64_t t_len = ids->shape[0] - 1 + 1024;  // the -200 marker becomes 1024 rows
  REQUIRE(logits->shape == std::vector<int64_t>{t_len, 1024});
  const std::vector<float> all = floats(*logits), last = floats(*ref->find("logits_last"));
  CHECK(relative_max_diff(std::vector<float>(all.end() - static_cast<std::ptrdiff_t>(last.size()), all.end()), last) <= 1e-4);
  const TensorView* attention = got->find("lm_last_row_attention");
  REQUIRE(attention != nullptr);
  REQUIRE(attention->shape == ref->find("lm_last_row_attention")->shape);
  CHECK(max_diff(floats(*attention), floats(*ref->find("lm_last_row_attention"))) <= 1e-5);
  CHECK(got->find("vision_cls_attention") == nullptr);  // the dual-path tower has no CLS to attend from
}

TEST_CASE("cli: LLaVA-HR inputs of the wrong size are one-line errors", "[cli][llava_hr]") {
  const fs::path dir = temp_dir("hr_err");
  const std::string model = kGolden + "llava-hr-tiny";
  const CliResult size = run_cli("preprocess --mode pad --model " + shell_quote(model) + " --size 336 --image " +
                                 shell_quote(kGolden + "images/messi5.jpg") + " --out " +
                                 shell_quote((dir / "p.safetensors").string()));
  CHECK(size.exit_code == 1);
  CHECK(size.err.find("--size 336 differs from the 1024x1024 images") != std::string::npos);

  const CliResult small = run_cli("preprocess --mode pad --image " + shell_quote(kGolden + "images/messi5.jpg") +
                                  " --out " + shell_quote((dir / "small.safetensors").string()));
  REQUIRE(small.exit_code == 0);  // 336 without --model
  const auto pixels = SafetensorsFile::open((dir / "small.safetensors").string());
  const int64_t ids[] = {1, 100, -200, 200, 13};
  write_safetensors((dir / "in.safetensors").string(),
                    {TensorWrite{"pixel_values", DType::kF32, {3, 336, 336}, pixels->find("pixel_values")->data},
                     TensorWrite{"input_ids", DType::kI64, {5}, ids}});
  const CliResult r = run_cli("trace --model " + shell_quote(model) + " --inputs " +
                              shell_quote((dir / "in.safetensors").string()) + " --out " +
                              shell_quote((dir / "t.safetensors").string()));
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("error: ", 0) == 0);
  CHECK(r.err.find("LLaVA-HR pixel_values must be [B, 3, 1024, 1024]") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace pb::test

namespace pb::test {

TEST_CASE("cli: run on a LLaVA-HR model, unpruned and with FastV; a CLS-attention method is refused",
          "[cli][llava_hr]") {
  const fs::path dir = temp_dir("hr_run");
  const std::string model_args = "--model " + shell_quote(std::string(PB_SOURCE_DIR) + "/configs/models/llava-hr-tiny-text.json") +
                                 " --random-weights --tokenizer " + shell_quote(kGolden + "tokenizer/llama.model") +
                                 " --max-new-tokens 2 --threads 1 --quiet";
  const std::string dataset = " --dataset " + shell_quote("synthvqa:split=val,n=2,dir=" + (dir / "data").string());
  const CliResult r = run_cli("run " + model_args + dataset + " --out " + shell_quote((dir / "none").string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::ifstream journal(dir / "none" / "journal.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(journal, line)) {
    const nlohmann::json rec = nlohmann::json::parse(line);
    CHECK(rec["image_tokens"] == 1024);
    CHECK(rec["visual_tokens_per_layer"] == nlohmann::json({1024, 1024, 1024}));
    ++n;
  }
  CHECK(n == 2);

  const CliResult fastv = run_cli("run " + model_args + dataset + " --pruner fastv --budget tokens:64 --out " +
                                  shell_quote((dir / "fastv").string()));
  INFO(fastv.err);
  REQUIRE(fastv.exit_code == 0);
  std::ifstream fastv_journal(dir / "fastv" / "journal.jsonl");
  int m = 0;
  while (std::getline(fastv_journal, line)) {
    CHECK(nlohmann::json::parse(line)["visual_tokens_per_layer"] == nlohmann::json({1024, 1024, 64}));
    ++m;
  }
  CHECK(m == 2);

  const CliResult refused = run_cli("run " + model_args + dataset + " --pruner visionzip --budget tokens:64 --out " +
                                    shell_quote((dir / "vz").string()));
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("error: --pruner visionzip: not available on LLaVA-HR models: ") == 0);
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);
}

}  // namespace pb::test
