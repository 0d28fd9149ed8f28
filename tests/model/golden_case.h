// Reading golden reference tensors (tests/data/golden) for model parity tests.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "models/torch_tensor.h"
#include "test_paths.h"

namespace pb::test {

inline std::string golden_path(const std::string& relative) {
  return std::string(PB_TEST_DATA) + "/golden/" + relative;
}

// A golden JSON file (cases.json, manifests).
inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) throw std::runtime_error("cannot read " + path);
  return nlohmann::json::parse(in);
}

class GoldenCase {
 public:
  explicit GoldenCase(const std::string& path) : file_(SafetensorsFile::open(path)) {}
  bool has(const std::string& name) const { return file_->find(name) != nullptr; }
  at::Tensor get(const std::string& name) const {
    const TensorView* view = file_->find(name);
    if (view == nullptr) throw std::runtime_error("golden tensor missing: " + name);
    return tensor_from_view(*view, to_scalar_type(view->dtype)).clone();
  }
  std::vector<int64_t> ids(const std::string& name) const {
    const at::Tensor t = get(name).to(at::kLong).contiguous();
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  }

 private:
  std::shared_ptr<SafetensorsFile> file_;
};

// max |a - b| relative to max |reference| (the "within 1e-4 x max|reference|").
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}
inline double max_abs(const at::Tensor& a) { return a.to(at::kDouble).abs().max().item<double>(); }

}  // namespace pb::test
