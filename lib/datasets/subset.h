// Seeded, stratified subsets of a dataset for fast sweeps and CI runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace pb {

// The stratum of a sample, e.g. "answer_type=yes/no" (VQAv2), "structural=verify" (GQA),
// "ocr=answerable" / "ocr=not-answerable" (TextVQA: an answer given by at least 3 annotators appears
// among the OCR tokens, as one token or a run of consecutive tokens, ignoring case). Unscored samples
// get "unscored", plus "/category=<c>" when a LLaVA question file gave a category.
std::string subset_stratum(const Sample& sample, DatasetKind kind);

// `n` samples, allocated to strata in proportion to their size (largest remainders, ties to the
// stratum named first), drawn uniformly within each stratum by a partial Fisher-Yates shuffle driven
// by std::mt19937_64(seed) alone (no std:: distributions, whose output differs between standard
// libraries). Returns indices into dataset.samples in ascending order; same inputs, same output on
// every platform. n >= size returns every index.
std::vector<size_t> stratified_subset(const Dataset& dataset, size_t n, uint64_t seed);

}  // namespace pb
