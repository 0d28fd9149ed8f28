// Reads tests/data/image/fixtures.json (made by tests/data/image/make_fixtures.py with PIL).
#pragma once

#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "image_test_util.h"

namespace pb::test {

inline const nlohmann::json& image_fixtures() {
  static const nlohmann::json fixtures = [] {
    std::ifstream f(data_path("image/fixtures.json"));
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
  }();
  return fixtures;
}

}  // namespace pb::test
