// Budgets and the shared selection rules (ties, ordering).
#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "pruners/budget.h"
#include "pruners/pruner.h"
#include "pruners/select.h"

namespace pb::test {

TEST_CASE("pruners: top-k breaks ties by lower index and returns ascending indices", "[pruners]") {
  const at::Tensor scores = at::tensor({0.5, 0.9, 0.5, 0.1, 0.9, 0.5}, at::kDouble);
  CHECK(at::equal(top_k_indices(scores, 2), at::tensor({1, 4}, at::kLong)));
  CHECK(at::equal(top_k_indices(scores, 3), at::tensor({0, 1, 4}, at::kLong)));  // 0.5 at 0 beats 2 and 5
  CHECK(at::equal(top_k_indices(scores, 4), at::tensor({0, 1, 2, 4}, at::kLong)));
  CHECK(top_k_indices(scores, 0).numel() == 0);
  const at::Tensor with_nan = at::tensor({NAN, 1.0, 2.0}, at::kDouble);
  CHECK(at::equal(top_k_indices(with_nan, 2), at::tensor({1, 2}, at::kLong)));
}

TEST_CASE("pruners: rows kept around a pruned visual span", "[pruners]") {
  const at::Tensor rows = rows_keeping_visual(10, 3, 5, at::tensor({0, 4}, at::kLong));
  CHECK(at::equal(rows, at::tensor({0, 1, 2, 3, 7, 8, 9}, at::kLong)));
}

TEST_CASE("pruners: budgets parse and resolve", "[pruners]") {
  CHECK(Budget::parse("tokens:192").keep_count(576) == 192);
  CHECK(Budget::parse("keep:0.333").keep_count(576) == 192);  // round(191.8)
  CHECK(Budget::parse("keep:1").keep_count(576) == 576);
  const Budget f = Budget::parse("flops:0.6@fitprune");
  CHECK(f.kind == Budget::Kind::kFlops);
  CHECK(f.ratio == Approx(0.6));
  CHECK(f.convention == "fitprune");
  CHECK(Budget::parse("flops:0.5").convention == "fitprune");
  CHECK(Budget::parse("").kind == Budget::Kind::kDefault);
  for (const char* bad : {"tokens:0", "tokens:1.5", "keep:0", "keep:1.5", "flops:1", "frobs:3", "tokens:x", "schedule:"}) {
    INFO(bad);
    CHECK_THROWS_AS(Budget::parse(bad), Error);
  }
}

TEST_CASE("pruners: specs with unknown methods or parameters are errors", "[pruners]") {
  CHECK_THROWS_WITH(make_pruner("fastvv", Budget::parse("")), Catch::Contains("available: none, random, fastv"));
  CHECK_THROWS_WITH(make_pruner("fastv:q=1", Budget::parse("")), Catch::Contains("unknown parameter 'q'"));
  CHECK_THROWS_WITH(make_pruner("fastv:k=two", Budget::parse("")), Catch::Contains("not an integer"));
  CHECK_THROWS_WITH(make_pruner("random", Budget::parse("")), Catch::Contains("needs --budget"));
  CHECK_THROWS_WITH(make_pruner("none", Budget::parse("tokens:3")), Catch::Contains("takes no budget"));
  CHECK_NOTHROW(make_pruner("fastv:k=3,r=0.75", Budget::parse("")));
}

}  // namespace pb::test
