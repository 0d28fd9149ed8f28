// FitPrune recipes: the published LLaVA-1.5 figures (pruners.md §7.6), the shipped configs/fitprune
// files, strict recipe reading, and how `fitprune` resolves a budget.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <numeric>

#include "core/error.h"
#include "core/hash.h"
#include "flops/flops.h"
#include "io/model_config.h"
#include "pruners/fitprune_recipe.h"
#include "pruners/pruner.h"
#include "test_files.h"
#include "test_paths.h"

namespace pb::test {
namespace {

const std::string kConfigs = std::string(PB_SOURCE_DIR) + "/configs/";

LlavaConfig llava15_7b() { return load_llava_config(kConfigs + "models/llava-1.5-7b-hf.json"); }
LlavaConfig llava15_tiny() { return load_llava_config(data_path("golden/llava15-tiny")); }

const PublishedFitpruneRecipe& published(const std::string& stem) {
  for (const PublishedFitpruneRecipe& p : published_fitprune_recipes()) {
    if (p.file_stem() == stem) return p;
  }
  throw std::runtime_error("no published recipe " + stem);
}

int64_t total(const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), int64_t{0}); }

// 1 - recipe FLOPs / unpruned, fitprune convention, tokens dropped inside layers.
double fitprune_reduction(const LlavaConfig& cfg, const std::vector<int64_t>& deletions, int64_t n) {
  const auto layers = static_cast<int64_t>(deletions.size());
  const double full = llm_prefill_flops(cfg, 0, uniform_schedule(layers, n), FlopsConvention::kFitPrune);
  return 1.0 - llm_prefill_flops(cfg, 0, fitprune_schedule(deletions, n), FlopsConvention::kFitPrune) / full;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("fitprune: published LLaVA-1.5 recipes reproduce pruners.md §7.6", "[fitprune]") {
  const LlavaConfig cfg = llava15_7b();
  struct Figure {
    const char* stem;
    int64_t deleted, left;
    double reduction_percent;
  };
  for (const Figure& f : {Figure{"llava15_60", 449, 127, 59.7}, Figure{"llava15_90", 539, 37, 89.7},
                          Figure{"llava15_50", 403, 173, 49.7}}) {
    INFO(f.stem);
    const FitpruneRecipe& r = published(f.stem).recipe;
    CHECK(r.delete_per_layer.size() == 32);
    CHECK(total(r.delete_per_layer) == f.deleted);
    CHECK(fitprune_schedule(r.delete_per_layer, 576).back().after_attn == f.left);
    CHECK(std::round(1000.0 * fitprune_reduction(cfg, r.delete_per_layer, 576)) / 10.0 == Approx(f.reduction_percent));
  }
  // §1.3: the "60" recipe layer by layer, and the other ports' totals.
  CHECK(published("llava15_60").recipe.delete_per_layer ==
        std::vector<int64_t>{14, 33, 89, 36, 36, 20, 55, 21, 18, 4, 7, 5, 2, 5, 7, 4,
                             26, 5, 11, 24, 4, 18, 2, 1, 0, 0, 1, 0, 1, 0, 0, 0});
  CHECK(total(published("llava_next_40").recipe.delete_per_layer) == 1512);
  CHECK(total(published("llava_next_60").recipe.delete_per_layer) == 2096);
  CHECK(total(published("llava_hr_40").recipe.delete_per_layer) == 579);
  CHECK(total(published("llava_hr_60").recipe.delete_per_layer) == 773);
  // LLaVA-NeXT counts are for 2880 tokens, rescaled per image: int(n_l * N / 2880).
  const FitpruneRecipe& next = published("llava_next_60").recipe;
  CHECK(fitprune_deletions(next, 2880) == next.delete_per_layer);
  CHECK(fitprune_deletions(next, 2000)[1] == 313 * 2000 / 2880);  // 217
  CHECK(fitprune_deletions(next, 2000)[1] == 217);
}

TEST_CASE("fitprune: shipped configs/fitprune files are the published recipes byte for byte", "[fitprune]") {
  // PB_UPDATE_FITPRUNE_CONFIGS=1 rewrites them from the tables in pruners/fitprune_recipe.cpp.
  const bool update = std::getenv("PB_UPDATE_FITPRUNE_CONFIGS") != nullptr;
  CHECK(published_fitprune_recipes().size() == 17);
  for (const PublishedFitpruneRecipe& p : published_fitprune_recipes()) {
    INFO(p.file_stem());
    const std::string path = kConfigs + "fitprune/" + p.file_stem() + ".json";
    if (update) write_fitprune_recipe(path, p.recipe);
    CHECK(read_bytes(path) == fitprune_recipe_text(p.recipe));
    const FitpruneRecipe back = read_fitprune_recipe(path);
    CHECK(back.delete_per_layer == p.recipe.delete_per_layer);
    CHECK(back.n_visual == p.recipe.n_visual);
    CHECK(back.scale_reference == p.recipe.scale_reference);
    CHECK(back.fraction_removed == p.ratio_percent / 100.0);
  }
}

TEST_CASE("fitprune: recipe files are read strictly, errors name the file and the field", "[fitprune]") {
  TempDir dir;
  const nlohmann::json good = fitprune_recipe_to_json(published("llava15_60").recipe);
  const auto error_for = [&](const nlohmann::json& j) {
    const std::string path = write_bytes(dir.file("r.json"), j.dump());
    return error_of([&] { read_fitprune_recipe(path); });
  };
  CHECK(error_for(good).empty());
  struct Case {
    std::function<void(nlohmann::json&)> edit;
    std::string field, says;
  };
  const std::vector<Case> cases = {
      {[](nlohmann::json& j) { j.erase("alpha"); }, "alpha", "missing"},
      {[](nlohmann::json& j) { j["delete_per_layer"][3] = -1; }, "delete_per_layer[3]", ">= 0"},
      {[](nlohmann::json& j) { j["delete_per_layer"][0] = 1.5; }, "delete_per_layer[0]", "integer"},
      {[](nlohmann::json& j) { j["delete_per_layer"] = nlohmann::json::array(); }, "delete_per_layer", "non-empty"},
      {[](nlohmann::json& j) { j["n_visual"] = "576"; }, "n_visual", "integer"},
      {[](nlohmann::json& j) { j["alpha"] = 1.5; }, "alpha", "[0, 1]"},
      {[](nlohmann::json& j) { j["budget"]["fraction_removed"] = 1.0; }, "fraction_removed", "[0, 1)"},
      {[](nlohmann::json& j) { j["budget"]["convention"] = "flops"; }, "convention", "unknown FLOPs convention"},
      {[](nlohmann::json& j) { j["budget"]["extra"] = 1; }, "extra", "not a budget field"},
      {[](nlohmann::json& j) { j["head_aggregation"] = "mean"; }, "head_aggregation", "not one of"},
      {[](nlohmann::json& j) { j["fit_select"] = "best"; }, "fit_select", "not one of"},
      {[](nlohmann::json& j) { j["format"] = "fitprune"; }, "format", "prune-bench/fitprune-recipe"},
      {[](nlohmann::json& j) { j["format_version"] = 2; }, "format_version", "must be 1"},
      {[](nlohmann::json& j) { j["delete_scheme"] = j["delete_per_layer"]; }, "delete_scheme", "unknown field"},
      {[](nlohmann::json& j) { j["calibration"] = 3; }, "calibration", "object or null"},
  };
  for (const Case& c : cases) {
    INFO(c.field);
    nlohmann::json j = good;
    c.edit(j);
    const std::string message = error_for(j);
    CHECK_THAT(message, Catch::Contains(dir.file("r.json")) && Catch::Contains("\"" + c.field + "\"") &&
                            Catch::Contains(c.says));
  }
  write_bytes(dir.file("bad.json"), "{\"format\": ");
  CHECK_THAT(error_of([&] { read_fitprune_recipe(dir.file("bad.json")); }),
             Catch::Contains(dir.file("bad.json")) && Catch::Contains("invalid JSON"));
  CHECK_THAT(error_of([&] { read_fitprune_recipe(dir.file("absent.json")); }), Catch::Contains("absent.json"));
}

TEST_CASE("fitprune: budgets resolve to a recipe or are refused with the way out", "[fitprune]") {
  const LlavaConfig big = llava15_7b(), tiny = llava15_tiny();
  const auto resolve = [](const std::string& spec, const std::string& budget, const LlavaConfig& cfg) {
    auto p = make_pruner(spec, Budget::parse(budget));
    const nlohmann::json j = p->resolve(cfg);
    return std::make_pair(j, p->nominal_kept());
  };
  SECTION("flops:F picks the published LLaVA-1.5 recipe") {
    const auto [j, kept] = resolve("fitprune", "flops:0.6", big);
    CHECK(kept == 127);
    CHECK(j["delete_per_layer"] == published("llava15_60").recipe.delete_per_layer);
    CHECK(j["visual_tokens_per_layer"][0] == nlohmann::json({{"in", 576}, {"after_attn", 562}}));
    CHECK(j["visual_tokens_per_layer"][31] == 127);
    CHECK(j["flops_removed_fitprune"].get<double>() == Approx(0.597).margin(5e-4));
    CHECK(j["recipe"]["kind"] == "published");
    CHECK(j["recipe"]["name"] == "llava15_60");
    CHECK(j["recipe"]["hash"] == hex16(fnv1a64(read_bytes(kConfigs + "fitprune/llava15_60.json"))));
    CHECK(resolve("fitprune", "flops:0.55@fitprune", big).second == 152);
  }
  SECTION("recipe=FILE, with the file's hash") {
    const std::string path = kConfigs + "fitprune/llava15_90.json";
    const auto [j, kept] = resolve("fitprune:recipe=" + path, "", big);
    CHECK(kept == 37);
    CHECK(j["recipe"]["path"] == path);
    CHECK(j["recipe"]["hash"] == hex16(fnv1a64(read_bytes(path))));
  }
  SECTION("schedule:FILE takes a recipe or an in-layer schedule") {
    const auto [j, kept] = resolve("fitprune", "schedule:" + data_path("fitprune/tiny_recipe.json"), tiny);
    CHECK(kept == 276);
    CHECK(j["delete_per_layer"] == std::vector<int64_t>{100, 200, 0});
    TempDir dir;
    const std::string sched = write_bytes(
        dir.file("s.json"), R"([{"in": 576, "after_attn": 476}, {"in": 476, "after_attn": 276}, 276])");
    CHECK(resolve("fitprune", "schedule:" + sched, tiny).first["delete_per_layer"] ==
          std::vector<int64_t>{100, 200, 0});
    const std::string between = write_bytes(dir.file("b.json"), "[576, 500, 500]");
    CHECK_THAT(error_of([&] { resolve("fitprune", "schedule:" + between, tiny); }),
               Catch::Contains("entry 1") && Catch::Contains("only drops inside"));
  }
  SECTION("refusals") {
    CHECK_THAT(error_of([&] { resolve("fitprune", "flops:0.65", big); }),
               Catch::Contains("no published recipe") && Catch::Contains("prune-bench calibrate"));
    CHECK_THAT(error_of([&] { resolve("fitprune", "flops:0.6", tiny); }),
               Catch::Contains("3 decoder layers") && Catch::Contains("no published recipe"));
    CHECK_THAT(error_of([&] { resolve("fitprune", "flops:0.6@fastv", big); }),
               Catch::Contains("fitprune FLOPs convention"));
    CHECK_THAT(error_of([&] { resolve("fitprune", "", big); }), Catch::Contains("needs a recipe"));
    CHECK_THAT(error_of([&] { make_pruner("fitprune", Budget::parse("tokens:64")); }), Catch::Contains("recipe=FILE"));
    CHECK_THAT(error_of([&] { make_pruner("fitprune:recipe=x.json", Budget::parse("flops:0.6")); }),
               Catch::Contains("either recipe= or --budget"));
    const std::string path = kConfigs + "fitprune/llava15_60.json";
    CHECK_THAT(error_of([&] { resolve("fitprune:recipe=" + path, "", tiny); }),
               Catch::Contains(path) && Catch::Contains("\"delete_per_layer\" has 32 entries"));
    CHECK_THAT(error_of([&] { resolve("fitprune:recipe=" + kConfigs + "fitprune/llava_hr_60.json", "", big); }),
               Catch::Contains("\"n_visual\" is 1024"));
  }
}

}  // namespace pb::test
