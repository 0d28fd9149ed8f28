// The synthvqa: spec generates SynthVQA on first use, reuses it afterwards, and loads it through the
// official-format loaders.
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/error.h"
#include "datasets/dataset.h"
#include "test_files.h"

namespace pb::test {

TEST_CASE("datasets: synthvqa: generates once, then reuses the split", "[datasets]") {
  TempDir dir;
  const std::string spec = "synthvqa:split=val,n=12,seed=4,dir=" + dir.path();
  const Dataset first = load_dataset(spec);
  CHECK(first.samples.size() == 12);
  CHECK(first.source_format == "synthvqa");
  CHECK(first.kind == DatasetKind::kVqav2);
  // The generated files stay recorded beside the spec's own keys (the VQAv2 submission needs questions=).
  CHECK(first.spec_values.at("split") == "val");
  CHECK(first.spec_values.at("questions").find("val-n12-seed4") != std::string::npos);
  const std::filesystem::path manifest = std::filesystem::path(dir.path()) / "val-n12-seed4" / "manifest.tsv";
  REQUIRE(std::filesystem::exists(manifest));
  const auto written = std::filesystem::last_write_time(manifest);
  const Dataset again = load_dataset(spec);
  CHECK(std::filesystem::last_write_time(manifest) == written);  // not regenerated
  CHECK(again.samples.size() == 12);
  CHECK(again.samples[3].question == first.samples[3].question);
  // The other formats hold their question types: 2 spatial and 2 reading questions of 12.
  CHECK(load_dataset(spec + ",format=gqa").samples.size() == 2);
  const Dataset reading = load_dataset(spec + ",format=textvqa");
  CHECK(reading.kind == DatasetKind::kTextvqa);
  CHECK(reading.samples.size() == 2);
  // Nothing but the split folder is left behind (no temporary folders).
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("datasets: synthvqa: bad specs are one-line errors", "[datasets]") {
  CHECK_THROWS_WITH(load_dataset("synthvqa:split=dev"), Catch::Contains("split=dev must be train, val or test"));
  CHECK_THROWS_WITH(load_dataset("synthvqa:split=val,n=0"), Catch::Contains("n=0 is not a positive integer"));
  CHECK_THROWS_WITH(load_dataset("synthvqa:split=val,count=3"), Catch::Contains("unknown key 'count'"));
  CHECK_THROWS_WITH(load_dataset("synthvqa:n=3"), Catch::Contains("missing required key split="));
}

}  // namespace pb::test
