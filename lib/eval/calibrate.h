// `prune-bench calibrate`: fit a FitPrune recipe on dataset samples (pruners/fitprune_calibrate.h)
// and write it as JSON (pruners/fitprune_recipe.h), with everything needed to trace it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pipeline/model_loader.h"
#include "pruners/fitprune_recipe.h"

namespace pb {

struct CalibrateOptions {
  std::string pruner = "fitprune";  // the one method with a calibration step
  ModelSource model;
  std::string tokenizer;            // default: tokenizer.model beside the model
  std::string dataset;              // dataset spec (datasets/dataset.h)
  std::string protocol = "llava15"; // prompt template, image mode and question text of the samples
  int64_t samples = 0;              // calibration samples: the first N in file order ...
  std::optional<uint64_t> subset_seed;  // ... or a seeded stratified subset of N (datasets/subset.h)
  std::string budget;               // flops:F[@convention]
  std::string convention;           // overrides the budget's default convention; "" = the budget's
  std::string fit_select = "official";
  std::string never_break = "reuse";
  std::string out;                  // recipe file
  bool quiet = false;               // no progress lines on stderr
  std::string command_line;         // as typed, for the record
};

// Loads everything, fits, writes `out` atomically and returns the recipe. pb::Error for another
// method, a budget that is not flops:F, too few samples, and anything the steps below report.
FitpruneRecipe run_calibration(const CalibrateOptions& options);

}  // namespace pb
