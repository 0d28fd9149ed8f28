#include "pruners/fitprune_recipe.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "flops/flops.h"
#include "io/atomic_file.h"
#include "io/json_file.h"

namespace pb {

namespace {

constexpr const char* kFormat = "prune-bench/fitprune-recipe";
constexpr int kFormatVersion = 1;

const std::set<std::string> kKeys = {"format", "format_version", "delete_per_layer", "n_visual", "scale_reference",
                                     "alpha", "budget", "head_aggregation", "fit_select", "never_break",
                                     "model_config_hash", "calibration", "prune_bench_version", "time_seconds",
                                     "source", "search"};

class Reader {
 public:
  Reader(const nlohmann::json& j, std::string source) : j_(j), source_(std::move(source)) {}

  const nlohmann::json& at(const char* key) const {
    if (!j_.contains(key)) throw Error(fmt::format("{}: missing field \"{}\"", source_, key));
    return j_.at(key);
  }
  [[noreturn]] void fail(const char* key, const std::string& what) const {
    throw Error(fmt::format("{}: field \"{}\" {}", source_, key, what));
  }
  int64_t count(const char* key, const nlohmann::json& v) const {
    // nlohmann: booleans and floats are not number_integer, so 1.5 and true are rejected.
    if (!v.is_number_integer()) fail(key, fmt::format("must be an integer, got {}", v.dump()));
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      fail(key, fmt::format("= {} is out of range", v.dump()));
    }
    const auto n = v.get<int64_t>();
    if (n < 0) fail(key, fmt::format("must be >= 0, got {}", n));
    return n;
  }
  std::string text(const char* key, bool nullable) const {
    const nlohmann::json& v = at(key);
    if (nullable && v.is_null()) return "";
    if (!v.is_string()) fail(key, fmt::format("must be a string{}, got {}", nullable ? " or null" : "", v.dump()));
    return v.get<std::string>();
  }
  std::string one_of(const char* key, const std::set<std::string>& allowed, bool nullable) const {
    const std::string s = text(key, nullable);
    if (!(nullable && at(key).is_null()) && allowed.count(s) == 0) {
      std::string names;
      for (const std::string& a : allowed) names += (names.empty() ? "" : ", ") + a;
      fail(key, fmt::format("= \"{}\" is not one of: {}", s, names));
    }
    return s;
  }
  std::optional<double> number(const char* key, const nlohmann::json& v, bool nullable) const {
    if (nullable && v.is_null()) return std::nullopt;
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      fail(key, fmt::format("must be a number{}, got {}", nullable ? " or null" : "", v.dump()));
    }
    return v.get<double>();
  }
  const std::string& source() const { return source_; }

 private:
  const nlohmann::json& j_;
  std::string source_;
};

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }
template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

PublishedFitpruneRecipe published(const std::string& family, int ratio, std::vector<int64_t> deletions) {
  FitpruneRecipe r;
  r.delete_per_layer = std::move(deletions);
  r.fraction_removed = ratio / 100.0;
  if (family == "llava15") {
    r.n_visual = 576;
    r.source = fmt::format("ywh187/FitPrune LLaVA_1.5/llava/model/language_model/modeling_llama.py: delete_scheme "
                           "for reduction_ratio == {}",
                           ratio);
  } else if (family == "llava_next") {
    r.n_visual = 2880;
    r.scale_reference = 2880;
    r.source = fmt::format("ywh187/FitPrune LLaVA_NEXT/llava/model/language_model/modeling_llama.py: delete_scheme "
                           "for reduction_ratio == {}, written for 2880 tokens and rescaled per image to "
                           "int(n_l * N / 2880)",
                           ratio);
  } else {
    r.n_visual = 1024;
    r.source = fmt::format("ywh187/FitPrune LLaVA_HR/llava_hr/model/language_model/modeling_llama.py: "
                           "delete_manner for reduction_ratio == {}",
                           ratio);
  }
  return {family, ratio, std::move(r)};
}

}  // namespace

FitpruneRecipe parse_fitprune_recipe(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(fmt::format("{}: a FitPrune recipe is a JSON object, got {}", source, j.type_name()));
  for (const auto& item : j.items()) {
    if (kKeys.count(item.key()) == 0) throw Error(fmt::format("{}: unknown field \"{}\"", source, item.key()));
  }
  const Reader r(j, source);
  if (r.text("format", false) != kFormat) r.fail("format", fmt::format("must be \"{}\"", kFormat));
  if (r.count("format_version", r.at("format_version")) != kFormatVersion) {
    r.fail("format_version", fmt::format("must be {} (this prune-bench reads version {})", kFormatVersion,
                                         kFormatVersion));
  }
  FitpruneRecipe out;
  const nlohmann::json& deletions = r.at("delete_per_layer");
  if (!deletions.is_array() || deletions.empty()) {
    r.fail("delete_per_layer", "must be a non-empty array with one count per decoder layer");
  }
  for (size_t i = 0; i < deletions.size(); ++i) {
    out.delete_per_layer.push_back(r.count(fmt::format("delete_per_layer[{}]", i).c_str(), deletions[i]));
  }
  out.n_visual = r.count("n_visual", r.at("n_visual"));
  if (out.n_visual == 0) r.fail("n_visual", "must be > 0");
  const nlohmann::json& scale = r.at("scale_reference");
  out.scale_reference = scale.is_null() ? 0 : r.count("scale_reference", scale);
  out.alpha = r.number("alpha", r.at("alpha"), true);
  if (out.alpha && !(*out.alpha >= 0 && *out.alpha <= 1)) r.fail("alpha", "must be in [0, 1]");

  const nlohmann::json& budget = r.at("budget");
  if (!budget.is_object()) r.fail("budget", "must be {\"fraction_removed\": F, \"convention\": NAME}");
  const Reader b(budget, source + ": budget");
  for (const auto& item : budget.items()) {
    if (item.key() != "fraction_removed" && item.key() != "convention") {
      b.fail(item.key().c_str(), "is not a budget field (fraction_removed, convention)");
    }
  }
  out.fraction_removed = *b.number("fraction_removed", b.at("fraction_removed"), false);
  if (!(out.fraction_removed >= 0 && out.fraction_removed < 1)) b.fail("fraction_removed", "must be in [0, 1)");
  out.convention = b.text("convention", false);
  try {
    flops_convention_from_name(out.convention);
  } catch (const Error& e) {
    b.fail("convention", e.what());
  }

  out.head_aggregation = r.one_of("head_aggregation", {"max"}, false);
  out.fit_select = r.one_of("fit_select", {"official", "smallest-reaching"}, true);
  out.never_break = r.one_of("never_break", {"reuse", "largest"}, true);
  out.model_config_hash = r.text("model_config_hash", true);
  out.calibration = r.at("calibration");
  if (!out.calibration.is_null() && !out.calibration.is_object()) r.fail("calibration", "must be an object or null");
  out.prune_bench_version = r.text("prune_bench_version", true);
  out.time_seconds = r.number("time_seconds", r.at("time_seconds"), true);
  out.source = r.text("source", false);
  out.search = r.at("search");
  if (!out.search.is_null() && !out.search.is_array()) r.fail("search", "must be an array or null");
  return out;
}

FitpruneRecipe read_fitprune_recipe(const std::string& path) {
  return parse_fitprune_recipe(read_json_file(path), path);
}

nlohmann::json fitprune_recipe_to_json(const FitpruneRecipe& r) {
  return {{"format", kFormat},
          {"format_version", kFormatVersion},
          {"delete_per_layer", r.delete_per_layer},
          {"n_visual", r.n_visual},
          {"scale_reference", r.scale_reference > 0 ? nlohmann::json(r.scale_reference) : nlohmann::json()},
          {"alpha", or_null(r.alpha)},
          {"budget", {{"fraction_removed", r.fraction_removed}, {"convention", r.convention}}},
          {"head_aggregation", r.head_aggregation},
          {"fit_select", or_null(r.fit_select)},
          {"never_break", or_null(r.never_break)},
          {"model_config_hash", or_null(r.model_config_hash)},
          {"calibration", r.calibration},
          {"prune_bench_version", or_null(r.prune_bench_version)},
          {"time_seconds", or_null(r.time_seconds)},
          {"source", r.source},
          {"search", r.search}};
}

std::string fitprune_recipe_text(const FitpruneRecipe& recipe) {
  return fitprune_recipe_to_json(recipe).dump(2) + "\n";
}

void write_fitprune_recipe(const std::string& path, const FitpruneRecipe& recipe) {
  write_file_atomic(path, fitprune_recipe_text(recipe));
}

std::vector<int64_t> fitprune_deletions(const FitpruneRecipe& recipe, int64_t n_visual) {
  std::vector<int64_t> out = recipe.delete_per_layer;
  if (recipe.scale_reference > 0) {
    // int(n_l * N / 2880) in LLaVA_NEXT/.../modeling_llama.py: the exact quotient of two integers,
    // truncated; integer division gives the same value without float rounding.
    for (int64_t& n : out) n = n * n_visual / recipe.scale_reference;
  }
  return out;
}

std::vector<LayerTokens> fitprune_schedule(const std::vector<int64_t>& deletions, int64_t n_visual) {
  std::vector<LayerTokens> out;
  int64_t v = n_visual;
  for (const int64_t d : deletions) {
    const int64_t after = std::max<int64_t>(v - d, 0);
    out.push_back({v, after});
    v = after;
  }
  return out;
}

const std::vector<PublishedFitpruneRecipe>& published_fitprune_recipes() {
  // The dict literals of the official inference code, layers 0..31 (pruners.md §1.3).
  static const std::vector<PublishedFitpruneRecipe> recipes = {
      published("llava15", 0, std::vector<int64_t>(32, 0)),
      published("llava15", 10, {0, 0, 1, 2, 1, 0, 1, 4, 5, 5, 11, 4, 2, 2, 0, 0,
                                1, 1, 2, 4, 2, 10, 1, 1, 1, 2, 1, 1, 0, 1, 0, 0}),
      published("llava15", 20, {0, 0, 3, 3, 1, 1, 4, 16, 14, 15, 24, 4, 2, 3, 2, 0,
                                6, 0, 5, 13, 4, 19, 2, 1, 1, 1, 1, 1, 2, 1, 0, 0}),
      published("llava15", 30, {0, 0, 7, 6, 4, 5, 16, 40, 24, 21, 24, 4, 2, 3, 4, 0,
                                16, 0, 11, 26, 6, 32, 3, 1, 0, 1, 2, 2, 4, 0, 0, 0}),
      published("llava15", 40, {0, 1, 21, 13, 14, 11, 41, 53, 29, 15, 14, 5, 1, 4, 5, 1,
                                26, 1, 13, 28, 6, 27, 2, 1, 0, 0, 1, 1, 2, 0, 0, 0}),
      published("llava15", 50, {3, 7, 49, 24, 29, 17, 59, 41, 26, 8, 10, 6, 2, 5, 7, 2,
                                30, 3, 13, 27, 5, 23, 2, 1, 0, 0, 1, 1, 2, 0, 0, 0}),
      published("llava15", 55, {6, 17, 69, 31, 34, 19, 59, 30, 23, 6, 8, 7, 2, 5, 8, 2,
                                29, 4, 12, 25, 4, 19, 2, 1, 0, 0, 1, 0, 1, 0, 0, 0}),
      published("llava15", 60, {14, 33, 89, 36, 36, 20, 55, 21, 18, 4, 7, 5, 2, 5, 7, 4,
                                26, 5, 11, 24, 4, 18, 2, 1, 0, 0, 1, 0, 1, 0, 0, 0}),
      published("llava15", 70, {48, 79, 118, 41, 33, 17, 36, 9, 9, 2, 3, 2, 1, 3, 4, 8,
                                18, 7, 8, 20, 4, 13, 2, 1, 0, 0, 1, 0, 1, 0, 0, 0}),
      published("llava15", 80, {128, 127, 118, 35, 26, 8, 13, 3, 2, 1, 0, 0, 0, 2, 1, 8,
                                7, 8, 5, 11, 2, 6, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0}),
      published("llava15", 90, {262, 153, 80, 19, 13, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                1, 2, 1, 2, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}),
      published("llava_next", 0, std::vector<int64_t>(32, 0)),
      published("llava_next", 40, {7, 73, 162, 124, 119, 148, 131, 151, 105, 26, 30, 17, 5, 19, 44, 10,
                                   73, 60, 67, 61, 32, 39, 0, 3, 1, 5, 0, 0, 0, 0, 0, 0}),
      published("llava_next", 60, {98, 313, 279, 218, 201, 221, 167, 132, 63, 12, 11, 5, 1, 8, 26, 13,
                                   83, 57, 56, 58, 24, 42, 0, 2, 1, 5, 0, 0, 0, 0, 0, 0}),
      published("llava_hr", 0, std::vector<int64_t>(32, 0)),
      published("llava_hr", 40, {3, 0, 91, 69, 34, 49, 70, 35, 1, 12, 31, 11, 0, 3, 2, 0,
                                 1, 0, 1, 2, 8, 86, 0, 29, 0, 10, 1, 5, 0, 8, 17, 0}),
      published("llava_hr", 60, {42, 1, 207, 120, 64, 73, 76, 24, 1, 5, 18, 5, 0, 0, 1, 1,
                                 5, 0, 2, 4, 16, 78, 1, 13, 0, 6, 0, 2, 0, 3, 5, 0}),
  };
  return recipes;
}

const PublishedFitpruneRecipe* find_published_fitprune_recipe(double fraction_removed, int64_t n_visual,
                                                              int64_t layers) {
  for (const PublishedFitpruneRecipe& p : published_fitprune_recipes()) {
    const FitpruneRecipe& r = p.recipe;
    // LLaVA-NeXT's recipes (rescaled per image) are found by their nominal 2880 tokens.
    if (r.n_visual == n_visual && static_cast<int64_t>(r.delete_per_layer.size()) == layers &&
        std::fabs(fraction_removed * 100.0 - p.ratio_percent) < 1e-9) {
      return &p;
    }
  }
  return nullptr;
}

}  // namespace pb
