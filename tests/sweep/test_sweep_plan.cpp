// expand_sweep: the points a configuration gives, in the order they run, and its refusals.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "sweep/sweep_plan.h"

namespace pb {
namespace {

nlohmann::json base_config() {
  return nlohmann::json::parse(R"({
    "name": "grid",
    "run": {"protocol": "lmms-eval", "limit": 8, "max_new_tokens": 3, "threads": 1},
    "models": [{"name": "m1", "path": "a/config.json", "random_weights": true, "seed": 3},
               {"name": "m2", "path": "b"}],
    "datasets": [{"name": "gqa", "spec": "gqa:questions=q.json,images=i"},
                 {"name": "vqa", "spec": "vqav2:questions=q,annotations=a,images=i"}],
    "pruners": [{"name": "none", "spec": "none", "budgets": [""]},
                {"name": "fastv-K2", "spec": "fastv:K=2"},
                "random"],
    "budgets": ["tokens:64", {"name": "keep25", "budget": "keep:0.25"}]
  })");
}

std::vector<std::string> ids(const SweepPlan& plan) {
  std::vector<std::string> out;
  for (const SweepPoint& p : plan.points) out.push_back(p.id);
  return out;
}

}  // namespace

TEST_CASE("sweep plan: product with a pruner's own budget list, options per point", "[sweep]") {
  const SweepPlan plan = expand_sweep(base_config(), "grid.json");
  // 2 models x 2 datasets x (none once + 2 pruners x 2 budgets) = 2 x 2 x 5 = 20, models outermost.
  REQUIRE(plan.points.size() == 20);
  CHECK(ids(plan)[0] == "m1_gqa_none_default");
  CHECK(ids(plan)[1] == "m1_gqa_fastv-K2_tokens-64");
  CHECK(ids(plan)[2] == "m1_gqa_fastv-K2_keep25");
  CHECK(ids(plan)[3] == "m1_gqa_random_tokens-64");
  CHECK(ids(plan)[4] == "m1_gqa_random_keep25");
  CHECK(ids(plan)[5] == "m1_vqa_none_default");
  CHECK(ids(plan)[10] == "m2_gqa_none_default");
  const RunOptions& o = plan.points[2].options;
  CHECK(o.model == "a/config.json");
  CHECK(o.random_weights);
  CHECK(o.weights_seed == 3);
  CHECK(o.dataset == "gqa:questions=q.json,images=i");
  CHECK(o.pruner == "fastv:K=2");
  CHECK(o.budget == "keep:0.25");
  CHECK(o.protocol == "lmms-eval");
  CHECK(o.limit == 8);
  CHECK(o.max_new_tokens == 3);
  CHECK(o.threads == 1);
  CHECK(plan.points[0].options.budget.empty());
  CHECK(plan.points[0].labels == nlohmann::json{{"model", "m1"}, {"dataset", "gqa"}, {"pruner", "none"}, {"budget", "default"}});
  CHECK(plan.points[10].options.random_weights == false);
  // The plan hash identifies the points: equal for the same config, different for another.
  CHECK(expand_sweep(base_config(), "x").hash == plan.hash);
  nlohmann::json other = base_config();
  other["run"]["limit"] = 9;
  CHECK(expand_sweep(other, "x").hash != plan.hash);
}

TEST_CASE("sweep plan: zip pairs values index by index, the rest is a product", "[sweep]") {
  nlohmann::json c = base_config();
  c["pruners"] = nlohmann::json::array({"fastv:K=2", "random"});
  c["zip"] = nlohmann::json::array({nlohmann::json::array({"pruners", "budgets"})});
  const SweepPlan plan = expand_sweep(c, "zip.json");
  // 2 models x 2 datasets x 2 zipped (pruner, budget) pairs.
  CHECK(ids(plan) == std::vector<std::string>{
                         "m1_gqa_fastv-K=2_tokens-64", "m1_gqa_random_keep25", "m1_vqa_fastv-K=2_tokens-64",
                         "m1_vqa_random_keep25", "m2_gqa_fastv-K=2_tokens-64", "m2_gqa_random_keep25",
                         "m2_vqa_fastv-K=2_tokens-64", "m2_vqa_random_keep25"});
  // Zipping models with datasets: m1 with gqa, m2 with vqa.
  nlohmann::json md = base_config();
  md["pruners"] = nlohmann::json::array({"none"});
  md["budgets"] = nlohmann::json::array({""});
  md["zip"] = nlohmann::json::array({nlohmann::json::array({"datasets", "models"})});
  CHECK(ids(expand_sweep(md, "zip.json")) == std::vector<std::string>{"m1_gqa_none_default", "m2_vqa_none_default"});
  // Different lengths cannot be zipped.
  nlohmann::json bad = base_config();
  bad["pruners"] = nlohmann::json::array({"none"});
  bad["zip"] = nlohmann::json::array({nlohmann::json::array({"pruners", "budgets"})});
  CHECK_THROWS_WITH(expand_sweep(bad, "bad.json"), Catch::Contains("cannot zip pruners (1 values) with budgets (2 values)"));
}

TEST_CASE("sweep plan: exclude removes matching points, include adds them, models stay together", "[sweep]") {
  nlohmann::json c = base_config();
  c["exclude"] = nlohmann::json::parse(R"([{"pruner": "random", "budget": "keep25"}, {"model": "m2", "dataset": "vqa"}])");
  c["include"] = nlohmann::json::parse(R"([
      {"model": "m1", "dataset": "vqa", "pruner": "random", "budget": "tokens:8"},
      {"model": "m1", "dataset": "gqa", "pruner": "fastv-K2", "budget": "tokens:64"}])");
  const SweepPlan plan = expand_sweep(c, "incl.json");
  const std::vector<std::string> got = ids(plan);
  // m1: 2 datasets x 4 (none, fastv x2, random x1) = 8, plus the included random tokens:8 point (no
  // budget of the axis has that name, so the text is the budget; the second include repeats a grid
  // point and is dropped); m2: gqa only, 4 points. The include lands with m1's points.
  REQUIRE(got.size() == 8 + 1 + 4);
  CHECK(std::count(got.begin(), got.end(), "m1_vqa_random_tokens-8") == 1);
  CHECK(std::count(got.begin(), got.end(), "m1_gqa_random_keep25") == 0);
  CHECK(std::count(got.begin(), got.end(), "m2_vqa_none_default") == 0);
  const auto first_m2 = std::find_if(got.begin(), got.end(), [](const std::string& s) { return s.rfind("m2", 0) == 0; });
  CHECK(std::all_of(first_m2, got.end(), [](const std::string& s) { return s.rfind("m2", 0) == 0; }));
  CHECK(std::distance(got.begin(), first_m2) == 9);
}

TEST_CASE("sweep plan: shards are contiguous chunks of the ordered points", "[sweep]") {
  const SweepPlan plan = expand_sweep(base_config(), "grid.json");
  size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    const std::vector<SweepPoint> part = shard_points(plan.points, i, 3);
    CHECK(part.size() == (i < 2 ? 7u : 6u));  // ceil(20 / 3) = 7
    CHECK(part.front().id == plan.points[total].id);
    total += part.size();
  }
  CHECK(total == plan.points.size());
  CHECK(shard_points(plan.points, 4, 5).size() == 4);
}

TEST_CASE("sweep plan: refusals name the file and the member", "[sweep]") {
  auto error_of = [](const nlohmann::json& c) {
    try {
      expand_sweep(c, "s.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  nlohmann::json c = base_config();
  c["budget"] = "x";
  CHECK(error_of(c) == "s.json: unknown key 'budget' (known: budgets, datasets, description, exclude, include, "
                       "models, name, pruners, run, zip)");
  c = base_config();
  c["models"][1]["name"] = "m1";
  CHECK(error_of(c) == "s.json: \"models\"[1]: name 'm1' used twice");
  c = base_config();
  c.erase("datasets");
  CHECK(error_of(c) == "s.json: missing \"datasets\"");
  c = base_config();
  c["include"] = nlohmann::json::parse(R"([{"model": "m9", "dataset": "gqa", "pruner": "none"}])");
  CHECK(error_of(c) == "s.json: \"include\"[0]: no model named 'm9'");
  c = base_config();
  c["exclude"] = nlohmann::json::parse(R"([{"model": "m1"}, {"model": "m2"}])");
  CHECK(error_of(c) == "s.json: the sweep has no points (everything excluded?)");
  c = base_config();
  c["datasets"][1]["name"] = "g q a";
  c["datasets"][0]["name"] = "g-q-a";
  CHECK(error_of(c).find("share the folder name 'm1_g-q-a_none_default'") != std::string::npos);
  c = base_config();
  c["run"]["limit"] = -1;
  CHECK(error_of(c) == "s.json: \"run\": \"limit\" must be a non-negative integer");
}

}  // namespace pb
