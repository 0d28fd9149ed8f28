// LLaVA-NeXT through the executable: `preprocess --mode anyres` writes the golden tiles and layout, and
// `trace` on its pixel_values with the golden prompt reproduces the golden packed embeddings and logits.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "tensor_values.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace pb::test {
namespace {

const std::string kGolden = std::string(PB_TEST_DATA) + "/golden/";

}  // namespace

TEST_CASE("cli: preprocess --mode anyres and trace reproduce the golden LLaVA-NeXT case", "[cli][llava_next]") {
  const fs::path dir = temp_dir("anyres");
  const std::string model = kGolden + "llava-next-tiny";
  const CliResult pre = run_cli("preprocess --mode anyres --model " + shell_quote(model) + " --image " +
                                shell_quote(kGolden + "images/fruits.jpg") + " --out " + shell_quote((dir / "tiles").string()));
  INFO(pre.err);
  REQUIRE(pre.exit_code == 0);
  const nlohmann::json info = nlohmann::json::parse(pre.out);
  CHECK(info["best_resolution_wh"] == nlohmann::json::array({672, 672}));
  CHECK(info["grid_rows_cols"] == nlohmann::json::array({2, 2}));
  CHECK(info["image_tokens"] == 2830);
  for (int k = 0; k < 5; ++k) {
    INFO("tile " << k);
    // PNG bytes may differ by encoder settings; the test/image suite compares pixels. Here: present.
    CHECK(fs::exists(dir / "tiles" / ("tile" + std::to_string(k) + ".png")));
  }
  CHECK(!fs::exists(dir / "tiles" / "tile5.png"));

  // trace inputs: our pixel_values and image_size_wh, the golden prompt ids.
  const auto pixels = SafetensorsFile::open((dir / "tiles" / "pixel_values.safetensors").string());
  const auto ref = SafetensorsFile::open(model + "/case0.safetensors");
  const TensorView* pv = pixels->find("pixel_values");
  REQUIRE(pv != nullptr);
  CHECK(pv->shape == std::vector<int64_t>{5, 3, 336, 336});
  const TensorView* ids = ref->find("input_ids");
  const TensorView* size = pixels->find("image_size_wh");
  REQUIRE(size != nullptr);
  const fs::path inputs = dir / "inputs.safetensors";
  write_safetensors(inputs.string(), {TensorWrite{"pixel_values", DType::kF32, pv->shape, pv->data},
                                      TensorWrite{"input_ids", DType::kI64, ids->shape, ids->data},
                                      TensorWrite{"image_size_wh", DType::kI64, size->shape, size->data}});
  const fs::path out = dir / "trace.safetensors";
  const CliResult r = run_cli("trace --model " + shell_quote(model) + " --inputs " + shell_quote(inputs.string()) +
                              " --out " + shell_quote(out.string()) + " --threads 1");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto got = SafetensorsFile::open(out.string());
  const TensorView* embeds = got->find("image_embeds_packed");
  REQUIRE(embeds != nullptr);
  REQUIRE(embeds->shape == ref->find("image_embeds_packed")->shape);
  CHECK(relative_max_diff(floats(*embeds), floats(*ref->find("image_embeds_packed"))) <= 1e-4);
  const TensorView* logits = got->find("logits");
  REQUIRE(logits != nullptr);
  const std::vector<float> all = floats(*logits), last = floats(*ref->find("logits_last"));
  REQUIRE(all.size() >= last.size());
  CHECK(relative_max_diff(std::vector<float>(all.end() - static_cast<std::ptrdiff_t>(last.size()), all.end()), last) <= 1e-4);
  CHECK(got->find("lm_last_row_attention")->shape == ref->find("lm_last_row_attention")->shape);

  // A pruner on NeXT is refused with one line until the NeXT-aware methods land.
  const CliResult pruned = run_cli("trace --model " + shell_quote(model) + " --inputs " + shell_quote(inputs.string()) +
                                   " --out " + shell_quote((dir / "p.safetensors").string()) + " --pruner fastv");
  CHECK(pruned.exit_code == 1);
  CHECK(pruned.err.find("not available on LLaVA-NeXT") != std::string::npos);
}

TEST_CASE("cli: preprocess --mode anyres without a NeXT model is a one-line error", "[cli][llava_next]") {
  const fs::path dir = temp_dir("anyres_err");
  const CliResult no_model = run_cli("preprocess --mode anyres --image " + shell_quote(kGolden + "images/fruits.jpg") +
                                     " --out " + shell_quote(dir.string()));
  CHECK(no_model.exit_code == 1);
  CHECK(no_model.err.find("needs --model") != std::string::npos);
  const CliResult llava = run_cli("preprocess --mode anyres --model " + shell_quote(kGolden + "llava15-tiny") +
                                  " --image " + shell_quote(kGolden + "images/fruits.jpg") + " --out " +
                                  shell_quote(dir.string()));
  CHECK(llava.exit_code == 1);
  CHECK(llava.err.find("not a LLaVA-NeXT model") != std::string::npos);
}

TEST_CASE("cli: run on a LLaVA-NeXT model counts each image's real tokens and tiles", "[cli][llava_next]") {
  const fs::path dir = temp_dir("next_run");
  const std::string model_args = "--model " + shell_quote(std::string(PB_SOURCE_DIR) + "/configs/models/llava-next-tiny-text.json") +
                                 " --random-weights --tokenizer " + shell_quote(kGolden + "tokenizer/llama.model") +
                                 " --max-new-tokens 2 --threads 1 --quiet";
  const std::string dataset = " --dataset " + shell_quote("synthvqa:split=val,n=4,dir=" + (dir / "data").string());
  const CliResult r = run_cli("run " + model_args + dataset + " --out " + shell_quote((dir / "out").string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  double tokens = 0;
  std::ifstream journal(dir / "out" / "journal.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(journal, line)) {
    const nlohmann::json rec = nlohmann::json::parse(line);
    // SynthVQA images are 256-640 px: never the 5-tile maximum of 2928 tokens, at least 3 tiles.
    CHECK(rec["image_tokens"].get<int64_t>() < 2928);
    CHECK(rec["vision_crops"].get<int64_t>() >= 3);
    CHECK(rec["visual_tokens_per_layer"][0] == rec["image_tokens"]);
    tokens += rec["image_tokens"].get<double>();
    ++n;
  }
  REQUIRE(n == 4);
  const nlohmann::json summary = nlohmann::json::parse(read_text(dir / "out" / "summary.json"));
  CHECK(std::fabs(summary["efficiency"]["mean_visual_tokens"].get<double>() - tokens / n) < 1e-9);

  // An LLM-side method takes the whole packed span as the image: FastV keeps 64 of each image's real
  // count after layer K-1 = 1, and the records (which the FLOPs are computed from) say so.
  const CliResult fastv = run_cli("run " + model_args + dataset + " --pruner fastv --budget tokens:64 --out " +
                                  shell_quote((dir / "fastv").string()));
  INFO(fastv.err);
  REQUIRE(fastv.exit_code == 0);
  std::ifstream fastv_journal(dir / "fastv" / "journal.jsonl");
  int m = 0;
  while (std::getline(fastv_journal, line)) {
    const nlohmann::json rec = nlohmann::json::parse(line);
    CHECK(rec["visual_tokens_per_layer"] ==
          nlohmann::json({rec["image_tokens"].get<int64_t>(), rec["image_tokens"].get<int64_t>(), 64}));
    CHECK(rec["visual_tokens_llm_input"] == rec["image_tokens"]);
    ++m;
  }
  CHECK(m == 4);
  const nlohmann::json run = nlohmann::json::parse(read_text(dir / "fastv" / "run.json"));
  CHECK(run["config"]["pruner"]["resolved"]["of"] == 2880);  // recorded for the nominal count
  CHECK(run["config"]["pruner"]["resolved"]["anyres"]["handling"] == "packed-span");

  // A method refused on NeXT fails before any sample, in one line naming why.
  const CliResult refused = run_cli("run " + model_args + dataset + " --pruner visionzip --budget tokens:64 --out " +
                                    shell_quote((dir / "refused").string()));
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("--pruner visionzip: not available on LLaVA-NeXT models: ") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "refused" / "journal.jsonl"));
}

}  // namespace pb::test
