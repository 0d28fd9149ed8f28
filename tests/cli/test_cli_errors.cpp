// Bad input through the real executable: every case must end in one `error: ...` line that names
// what is wrong and where, exit code 1, and never a crash (also under the sanitizer build).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace pb::test {
namespace {

const std::string kGolden = std::string(PB_TEST_DATA) + "/golden/";
const std::string kModel = kGolden + "llava15-tiny";
const std::string kCase = kModel + "/case0.safetensors";

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A copy of the golden tiny model whose weights file is replaced by `weights` bytes.
fs::path model_with_weights(const std::string& name, const std::string& weights) {
  const fs::path dir = temp_dir(name);
  fs::copy_file(kModel + "/config.json", dir / "config.json");
  write_bytes(dir / "model.safetensors", weights);
  return dir;
}

fs::path model_with_config(const std::string& name, const std::string& config) {
  const fs::path dir = temp_dir(name);
  fs::copy_file(kModel + "/model.safetensors", dir / "model.safetensors");
  write_bytes(dir / "config.json", config);
  return dir;
}

struct SplitFile {
  nlohmann::json header;
  std::string data;
};

SplitFile split_safetensors(const std::string& bytes) {
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return {nlohmann::json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}

std::string join_safetensors(const SplitFile& f) {
  std::string header = f.header.dump();
  while ((8 + header.size()) % 8 != 0) header += ' ';
  uint64_t n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + header + f.data;
}

// Rewrites the golden weights through pb::write_safetensors, dropping or reshaping one tensor.
std::string rewritten_weights(const std::string& drop, const std::string& reshape,
                              const std::vector<int64_t>& new_shape) {
  const auto file = SafetensorsFile::open(kModel + "/model.safetensors");
  std::vector<TensorWrite> writes;
  for (const TensorView& v : file->tensors()) {
    if (v.name == drop) continue;
    writes.push_back({v.name, v.dtype, v.name == reshape ? new_shape : v.shape, v.data});
  }
  const fs::path tmp = temp_dir("rewrite") / "w.safetensors";
  write_safetensors(tmp.string(), writes);
  return read_text(tmp);
}

std::string trace_args(const fs::path& model) {
  return "trace --model " + shell_quote(model.string()) + " --inputs " + shell_quote(kCase) + " --out " +
         shell_quote((temp_dir("trace_out") / "out.safetensors").string());
}

void require_clean_error(const CliResult& r, const std::string& must_mention) {
  INFO("stderr: " << r.err);
  REQUIRE(r.signal == 0);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(must_mention) != std::string::npos);
}

const std::string kNorm = "language_model.model.norm.weight";

}  // namespace

TEST_CASE("cli errors: broken checkpoints", "[cli]") {
  const std::string golden = read_text(kModel + "/model.safetensors");
  SECTION("truncated file") {
    const auto dir = model_with_weights("truncated", golden.substr(0, golden.size() / 2));
    require_clean_error(run_cli(trace_args(dir)), "model.safetensors");
  }
  SECTION("header length past the end") {
    std::string bytes = golden;
    const uint64_t n = bytes.size();
    std::memcpy(bytes.data(), &n, 8);
    require_clean_error(run_cli(trace_args(model_with_weights("header_len", bytes))), "model.safetensors");
  }
  SECTION("header length of a terabyte") {
    std::string bytes = golden;
    const uint64_t n = uint64_t{1} << 40;
    std::memcpy(bytes.data(), &n, 8);
    require_clean_error(run_cli(trace_args(model_with_weights("header_tb", bytes))), "model.safetensors");
  }
  SECTION("overlapping offsets") {
    SplitFile f = split_safetensors(golden);
    f.header["language_model.model.layers.0.post_attention_layernorm.weight"]["data_offsets"] =
        f.header["language_model.model.layers.0.input_layernorm.weight"]["data_offsets"];
    require_clean_error(run_cli(trace_args(model_with_weights("overlap", join_safetensors(f)))),
                        "model.safetensors");
  }
  SECTION("unknown dtype") {
    SplitFile f = split_safetensors(golden);
    f.header[kNorm]["dtype"] = "F7";
    require_clean_error(run_cli(trace_args(model_with_weights("dtype", join_safetensors(f)))), "F7");
  }
  SECTION("missing tensor") {
    const auto dir = model_with_weights("missing", rewritten_weights(kNorm, "", {}));
    require_clean_error(run_cli(trace_args(dir)), "language_model.norm.weight");
  }
  SECTION("wrong shape") {
    const auto dir = model_with_weights("shape", rewritten_weights("", kNorm, {2, 64}));
    require_clean_error(run_cli(trace_args(dir)), kNorm);
  }
}

TEST_CASE("cli errors: broken configs", "[cli]") {
  SECTION("invalid JSON") {
    require_clean_error(run_cli(trace_args(model_with_config("cfg_json", "{\"model_type\": \"llava\",,}"))),
                        "config.json");
  }
  SECTION("mistyped field") {
    nlohmann::json cfg = nlohmann::json::parse(read_text(kModel + "/config.json"));
    cfg["text_config"]["hidden_size"] = "big";
    require_clean_error(run_cli(trace_args(model_with_config("cfg_type", cfg.dump()))), "hidden_size");
  }
  SECTION("unknown model_type") {
    nlohmann::json cfg = nlohmann::json::parse(read_text(kModel + "/config.json"));
    cfg["model_type"] = "llava_unknown";
    require_clean_error(run_cli(trace_args(model_with_config("cfg_type2", cfg.dump()))), "llava_unknown");
  }
}

TEST_CASE("cli errors: broken images", "[cli]") {
  const fs::path dir = temp_dir("images");
  const std::string jpeg = read_text(kGolden + "images/fruits.jpg");
  write_bytes(dir / "truncated.jpg", jpeg.substr(0, 1000));
  write_bytes(dir / "garbage.jpg", std::string(4096, '\x5a'));
  const std::string png_out = shell_quote((dir / "out.png").string());
  for (const char* name : {"truncated.jpg", "garbage.jpg", "missing.jpg"}) {
    DYNAMIC_SECTION(name) {
      const std::string image = shell_quote((dir / name).string());
      require_clean_error(run_cli("preprocess --image " + image + " --mode pad --out " + png_out), name);
      require_clean_error(
          run_cli("generate --model " + shell_quote(std::string(PB_SOURCE_DIR) + "/configs/models/llava15-tiny-text.json") +
                  " --random-weights --tokenizer " + shell_quote(kGolden + "tokenizer/llama.model") +
                  " --image " + image + " --question hi"),
          name);
    }
  }
}

TEST_CASE("cli errors: command-line misuse exits 2", "[cli]") {
  CHECK(run_cli("").exit_code == 2);
  CHECK(run_cli("frobnicate").exit_code == 2);
  CHECK(run_cli("trace --model x").exit_code == 2);
  CHECK(run_cli("generate --model x --image y --question z --dtype fp8").exit_code == 2);
}

}  // namespace pb::test
