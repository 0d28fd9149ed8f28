// `prune-bench convert` through the executable: torch.save fixtures (tests/data/torch_bin) become
// safetensors with identical tensors; a checkpoint that would run code is one `error:` line, exit 1.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli_runner.h"
#include "io/checkpoint.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace pb::test {
namespace {

const std::string kBins = std::string(PB_TEST_DATA) + "/torch_bin/";

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// The checkpoint holds exactly the reference's tensors (tests/data/torch_bin/*.json), bit for bit.
void check_against(const Checkpoint& ckpt, const nlohmann::json& ref) {
  CHECK(ckpt.size() == ref.size());
  for (const auto& [name, want] : ref.items()) {
    INFO(name);
    const TensorView* t = ckpt.find(name);
    REQUIRE(t != nullptr);
    CHECK(dtype_name(t->dtype) == want["dtype"].get<std::string>());
    CHECK(t->shape == want["shape"].get<std::vector<int64_t>>());
    CHECK(std::string(static_cast<const char*>(t->data), t->nbytes) == unhex(want["hex"].get<std::string>()));
  }
}

}  // namespace

TEST_CASE("cli: convert turns a torch.save state dict into identical safetensors", "[cli][convert]") {
  const fs::path out = temp_dir("convert_one");
  const CliResult r =
      run_cli("convert --in " + shell_quote(kBins + "state_dict.bin") + " --out " + shell_quote(out.string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        kBins + "state_dict.bin -> " + (out / "state_dict.safetensors").string() + " (25 tensors, 343 bytes)\n");
  check_against(Checkpoint::open((out / "state_dict.safetensors").string()),
                nlohmann::json::parse(read_text(kBins + "state_dict.json")));
}

TEST_CASE("cli: convert turns a sharded folder into shards and an index", "[cli][convert]") {
  const fs::path out = temp_dir("convert_sharded");
  const CliResult r = run_cli("convert --in " + shell_quote(kBins + "sharded") + " --out " + shell_quote(out.string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("index: " + (out / "model.safetensors.index.json").string()) != std::string::npos);
  nlohmann::json ref = nlohmann::json::parse(read_text(kBins + "sharded/pytorch_model-00001-of-00002.json"));
  ref.update(nlohmann::json::parse(read_text(kBins + "sharded/pytorch_model-00002-of-00002.json")));
  check_against(Checkpoint::open(out.string()), ref);
}

TEST_CASE("cli: convert refuses a checkpoint that would run code, in one line", "[cli][convert]") {
  const std::string marker = "/tmp/prune-bench-pickle-was-executed";
  fs::remove(marker);
  const fs::path out = temp_dir("convert_malicious");
  const std::string bin = kBins + "malicious_os_system.bin";
  const CliResult r = run_cli("convert --in " + shell_quote(bin) + " --out " + shell_quote(out.string()));
  CHECK(r.exit_code == 1);
  CHECK(r.err == "error: refusing to unpickle posix.system in " + bin +
                     ": only tensors, storages, dicts and OrderedDicts are allowed\n");
  CHECK(r.out.empty());
  CHECK(fs::is_empty(out));
  CHECK_FALSE(fs::exists(marker));

  const CliResult legacy =
      run_cli("convert --in " + shell_quote(kBins + "legacy.bin") + " --out " + shell_quote(out.string()));
  CHECK(legacy.exit_code == 1);
  CHECK(legacy.err.rfind("error: " + kBins + "legacy.bin: legacy torch.save format", 0) == 0);

  const CliResult missing = run_cli("convert --out " + shell_quote(out.string()));
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("--in") != std::string::npos);
}

}  // namespace pb::test
