// Schedule parsing and validation, and the convention registry: every bad input is a pb::Error that
// names the file and the entry.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "flops/flops.h"
#include "flops_test_util.h"

using Catch::Matchers::Contains;
using nlohmann::json;

namespace pb::test {
namespace {

constexpr const char* kSource = "sched/x.json";

std::vector<LayerTokens> parse(const std::string& text, int64_t layers = 3, int64_t max_visual = 576) {
  return parse_schedule(json::parse(text), layers, max_visual, kSource);
}

// Parsing `text` fails with a message naming the file and holding every fragment.
void expect_error(const std::string& text, const std::vector<std::string>& fragments) {
  try {
    parse(text);
    FAIL("accepted: " << text);
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK_THAT(msg, Contains(kSource));
    for (const std::string& f : fragments) CHECK_THAT(msg, Contains(f));
  }
}

}  // namespace

TEST_CASE("flops: schedule integers and in-layer objects parse", "[flops]") {
  const auto s = parse(R"([576, {"in": 576, "after_attn": 300}, 288])");
  REQUIRE(s.size() == 3);
  CHECK(s[0] == LayerTokens{576, 576});
  CHECK(s[1] == LayerTokens{576, 300});
  CHECK(s[2] == LayerTokens{288, 288});
  CHECK(schedule_to_json(s) == json::parse(R"([576, {"after_attn": 300, "in": 576}, 288])"));
  CHECK(parse(schedule_to_json(s).dump()) == s);  // round trip
  CHECK(uniform_schedule(2, 7) == std::vector<LayerTokens>{{7, 7}, {7, 7}});
  CHECK(parse("[0, 0, 0]") == uniform_schedule(3, 0));
  CHECK_THROWS_AS(uniform_schedule(2, -1), Error);
}

TEST_CASE("flops: schedule errors name the file and the entry", "[flops]") {
  expect_error(R"({"layers": [1, 2, 3]})", {"JSON array", "object"});
  expect_error("[576, 576]", {"2 entries", "3 decoder layers"});
  expect_error("[576, 576, 576, 576]", {"4 entries", "3 decoder layers"});
  expect_error("[576, -1, -1]", {"entry 1", ">= 0"});
  expect_error(R"([576, {"in": 100, "after_attn": 200}, 100])", {"entry 1", "after_attn 200 exceeds in 100"});
  expect_error(R"([576, {"in": 100, "after_attn": -2}, 0])", {"entry 1", ">= 0"});
  expect_error("[576, 577, 577]", {"entry 1", "577", "576"});  // above the model's image tokens
  expect_error("[577, 577, 577]", {"entry 0", "577"});
  expect_error("[576, 12.5, 3]", {"entry 1", "integer"});
  expect_error(R"([576, "288", 3])", {"entry 1", "\"288\""});
  expect_error("[576, true, 3]", {"entry 1"});
  expect_error("[576, null, 3]", {"entry 1"});
  expect_error("[576, [288], 3]", {"entry 1"});
  expect_error(R"([576, {"in": 288}, 3])", {"entry 1", "missing \"after_attn\""});
  expect_error(R"([576, {"in": 288, "after": 100}, 3])", {"entry 1", "unknown key \"after\""});
  expect_error(R"([576, {"in": 288.0, "after_attn": 100}, 3])", {"entry 1", "\"in\"", "integer"});
  expect_error(R"([576, 288, {"in": 300, "after_attn": 100}])", {"entry 2", "300", "288"});  // tokens came back
  expect_error(R"([{"in": 576, "after_attn": 100}, 200, 100])", {"entry 1", "200", "100"});
}

TEST_CASE("flops: schedule cap is the given maximum", "[flops]") {
  CHECK(parse("[2928, 2880, 100]", 3, 2928)[0].in == 2928);
  CHECK_THROWS_AS(parse("[2929, 2880, 100]", 3, 2928), Error);
}

TEST_CASE("flops: convention registry and names", "[flops]") {
  const auto all = all_flops_conventions();
  REQUIRE(all.size() == 3);
  CHECK(std::string(flops_convention_name(all[0])) == "exact");
  CHECK(std::string(flops_convention_name(all[1])) == "fastv");
  CHECK(std::string(flops_convention_name(all[2])) == "fitprune");
  for (FlopsConvention c : all) {
    CHECK(flops_convention_from_name(flops_convention_name(c)) == c);
    CHECK(std::string(flops_convention_description(c)).size() > 20);
    CHECK(std::string(flops_convention_source(c)).size() > 10);
  }
  CHECK(flops_per_multiply_add(FlopsConvention::kExact) == 2);
  CHECK(flops_per_multiply_add(FlopsConvention::kFastV) == 1);
  CHECK(flops_per_multiply_add(FlopsConvention::kFitPrune) == 1);
  CHECK_FALSE(flops_convention_counts_text(FlopsConvention::kFitPrune));
  CHECK_THAT(flops_convention_source(FlopsConvention::kFitPrune), Contains("statistical_analysis.py"));
  try {
    flops_convention_from_name("FastV");
    FAIL("accepted FastV");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Contains("'FastV'") && Contains("exact, fastv, fitprune"));
  }
}

}  // namespace pb::test
