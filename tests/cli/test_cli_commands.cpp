// The command forms that later checks drive, run end to end through the executable.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "tensor_values.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace pb::test {
namespace {

const std::string kGolden = std::string(PB_TEST_DATA) + "/golden/";

}  // namespace

TEST_CASE("cli: tokenize prints the golden LLaVA-1.5 prompt ids", "[cli]") {
  const nlohmann::json prompts = nlohmann::json::parse(read_text(kGolden + "tokenizer/llava15_prompts.json"));
  for (const auto& c : prompts["cases"]) {
    const CliResult r = run_cli("tokenize --tokenizer " + shell_quote(kGolden + "tokenizer/llama.model") +
                                " --template vicuna_v1 --question " + shell_quote(c["question"].get<std::string>()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out) == c["input_ids"]);
  }
}

TEST_CASE("cli: tokenize --texts encodes plainly", "[cli]") {
  const fs::path dir = temp_dir("texts");
  std::ofstream(dir / "t.json") << R"(["Hello world", "\nWhat"])";
  const CliResult r = run_cli("tokenize --tokenizer " + shell_quote(kGolden + "tokenizer/llama.model") + " --texts " +
                              shell_quote((dir / "t.json").string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // libsentencepiece 0.1.97 on the LLaMA model: "▁Hello" 15043, "▁world" 3186; "\nWhat": 29871, 13, 5618.
  CHECK(nlohmann::json::parse(r.out) == nlohmann::json::parse("[[15043, 3186], [29871, 13, 5618]]"));
}

TEST_CASE("cli: preprocess writes the golden normalised pixel_values", "[cli]") {
  const fs::path dir = temp_dir("preprocess");
  const auto golden = SafetensorsFile::open(kGolden + "preprocess/normalized.safetensors");
  const std::pair<const char*, const char*> cases[] = {{"pixel_values", "images/fruits.jpg"},
                                                       {"pixel_values_crop", "images/messi5.jpg"}};
  for (const auto& [tensor, image] : cases) {
    const std::string mode = std::string(tensor) == "pixel_values" ? "pad" : "crop";
    const fs::path out = dir / (mode + ".safetensors");
    const CliResult r = run_cli("preprocess --image " + shell_quote(kGolden + image) + " --mode " + mode +
                                " --out " + shell_quote(out.string()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto got = SafetensorsFile::open(out.string());
    const std::vector<float> a = floats(*got->find("pixel_values")), b = floats(*golden->find(tensor));
    REQUIRE(a.size() == b.size());
    double max_diff = 0;
    for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::fabs(double(a[i]) - b[i]));
    CHECK(max_diff <= 1e-6);
  }
}

TEST_CASE("cli: trace reproduces the golden logits and tokens of the tiny model", "[cli]") {
  const fs::path out = temp_dir("trace") / "out.safetensors";
  const std::string model = kGolden + "llava15-tiny";
  const CliResult r = run_cli("trace --model " + shell_quote(model) + " --inputs " +
                              shell_quote(model + "/case0.safetensors") + " --out " + shell_quote(out.string()) +
                              " --generate 8 --threads 1");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto got = SafetensorsFile::open(out.string());
  const auto ref = SafetensorsFile::open(model + "/case0.safetensors");
  for (const char* name : {"vision_features", "image_embeds", "logits", "lm_last_row_attention", "generated"}) {
    INFO(name);
    REQUIRE(got->find(name) != nullptr);
    CHECK(got->find(name)->shape == ref->find(name)->shape);
  }
  const std::vector<float> a = floats(*got->find("logits")), b = floats(*ref->find("logits"));
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(double(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(double(b[i])));
  }
  CHECK(max_diff <= 1e-4 * max_ref);
  const TensorView* gen = got->find("generated");
  CHECK(std::memcmp(gen->data, ref->find("generated")->data, gen->nbytes) == 0);
}

TEST_CASE("cli: generate answers with a text-capable random-weight model", "[cli]") {
  const std::string args = "generate --model " +
                           shell_quote(std::string(PB_SOURCE_DIR) + "/configs/models/llava15-tiny-text.json") +
                           " --random-weights --tokenizer " + shell_quote(kGolden + "tokenizer/llama.model") +
                           " --image " + shell_quote(kGolden + "images/fruits.jpg") +
                           " --question 'What is in the image?' --max-new-tokens 4 --threads 1";
  const CliResult first = run_cli(args), second = run_cli(args);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(!first.out.empty());
  CHECK(first.out == second.out);  // seeded weights, greedy decoding: deterministic
}

}  // namespace pb::test
