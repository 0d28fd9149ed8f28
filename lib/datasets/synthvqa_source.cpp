// The `synthvqa:` dataset spec: SynthVQA generated on first use (synth/synth_writer.h), then read by
// the official-format loader it is written for.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "core/embedded_defaults.h"
#include "core/error.h"
#include "datasets/formats.h"
#include "synth/sample.h"
#include "synth/synth_writer.h"

namespace pb::detail {

namespace {

int64_t positive_int(const SpecArgs& args, const std::string& key, int64_t fallback) {
  const std::string* v = args.find(key);
  if (v == nullptr) return fallback;
  size_t used = 0;
  int64_t n = -1;
  try {
    n = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v->size() || n < 0 || (key == "n" && n == 0)) {
    throw Error(fmt::format("dataset spec '{}': {}={} is not a {} integer", args.spec, key, *v,
                            key == "n" ? "positive" : "non-negative"));
  }
  return n;
}

}  // namespace

Dataset load_synthvqa(const SpecArgs& args) {
  namespace fs = std::filesystem;
  synth::SplitRequest request;
  request.split = args.at("split");
  if (!synth::is_split_name(request.split)) {
    throw Error(fmt::format("dataset spec '{}': split={} must be train, val or test", args.spec, request.split));
  }
  request.n = positive_int(args, "n", kEmbeddedDatasetQuestions);
  request.seed = static_cast<uint64_t>(positive_int(args, "seed", 0));
  const std::string format = args.find("format") != nullptr ? *args.find("format") : "vqav2";
  const std::string root = args.find("dir") != nullptr ? *args.find("dir") : embedded_dataset_root();
  const fs::path folder = fs::path(root) / fmt::format("{}-n{}-seed{}", request.split, request.n, request.seed);
  request.out_dir = folder.string();
  if (!synth::split_is_complete(request)) {
    // Written beside the target and renamed into place, so concurrent first uses (sweep shards) and
    // interrupted ones never leave a half-written split behind.
    synth::SplitRequest tmp = request;
    tmp.out_dir = folder.string() + fmt::format(".tmp-{}", ::getpid());
    synth::write_split(tmp);
    std::error_code ec;
    if (!synth::split_is_complete(request)) {
      fs::remove_all(folder, ec);
      fs::rename(tmp.out_dir, folder, ec);
    }
    fs::remove_all(tmp.out_dir, ec);
    if (!synth::split_is_complete(request)) {
      throw Error(fmt::format("dataset spec '{}': could not write SynthVQA into {}", args.spec, folder.string()));
    }
  }
  return load_dataset(synth::synth_dataset_spec(folder.string(), request.split, format));
}

}  // namespace pb::detail
