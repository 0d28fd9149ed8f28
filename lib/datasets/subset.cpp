// Strata and seeded proportional subsets; the algorithm is described in subset.h and docs/datasets.md.
#include "datasets/subset.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "datasets/text_case.h"

namespace pb {
namespace {

std::string meta_string(const nlohmann::json& meta, const char* key) {
  if (!meta.is_object()) return "";
  const auto it = meta.find(key);
  return it != meta.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin < s.size()) {
    const size_t end = std::min(s.find(' ', begin), s.size());
    if (end > begin) out.push_back(s.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

// An answer that earns full VQA credit (given by >= 3 annotators, or by all when fewer answered)
// can be read off the OCR tokens as one token or a run of consecutive tokens.
bool ocr_answerable(const Sample& s) {
  std::map<std::string, size_t> counts;
  for (const std::string& a : s.answers) ++counts[python_lower(a)];
  const size_t needed = std::min<size_t>(3, s.answers.size());
  std::vector<std::string> tokens;
  for (const std::string& t : s.ocr_tokens) tokens.push_back(python_lower(t));
  for (const auto& [answer, count] : counts) {
    const std::vector<std::string> run = words(answer);
    if (count < needed || run.empty() || run.size() > tokens.size()) continue;
    for (size_t i = 0; i + run.size() <= tokens.size(); ++i) {
      if (std::equal(run.begin(), run.end(), tokens.begin() + static_cast<std::ptrdiff_t>(i))) return true;
    }
  }
  return false;
}

// Uniform in [0, range) from raw engine output, rejecting the values that would bias the modulo.
uint64_t uniform_below(std::mt19937_64& engine, uint64_t range) {
  const uint64_t threshold = (0 - range) % range;  // 2^64 mod range
  uint64_t x = engine();
  while (x < threshold) x = engine();
  return x % range;
}

}  // namespace

std::string subset_stratum(const Sample& sample, DatasetKind kind) {
  const std::string category = meta_string(sample.meta, "category");
  if (!sample.scored()) return category.empty() ? "unscored" : "unscored/category=" + category;
  switch (kind) {
    case DatasetKind::kVqav2: {
      const std::string type = meta_string(sample.meta, "answer_type");
      return "answer_type=" + (type.empty() ? std::string("unknown") : type);
    }
    case DatasetKind::kGqa: {
      std::string type;
      if (sample.meta.is_object() && sample.meta.contains("types")) {
        type = meta_string(sample.meta["types"], "structural");
      }
      return "structural=" + (type.empty() ? std::string("unknown") : type);
    }
    case DatasetKind::kTextvqa:
      if (!sample.meta.is_object() || !sample.meta.contains("ocr_source")) {
        return category.empty() ? "ocr=unknown" : "category=" + category;
      }
      return ocr_answerable(sample) ? "ocr=answerable" : "ocr=not-answerable";
  }
  return "unknown";
}

std::vector<size_t> stratified_subset(const Dataset& dataset, size_t n, uint64_t seed) {
  const size_t total = dataset.samples.size();
  std::vector<size_t> out;
  if (n >= total) {
    out.resize(total);
    std::iota(out.begin(), out.end(), size_t{0});
    return out;
  }
  std::map<std::string, std::vector<size_t>> strata;  // sorted by name: the allocation and draw order
  for (size_t i = 0; i < total; ++i) strata[subset_stratum(dataset.samples[i], dataset.kind)].push_back(i);

  struct Quota {
    std::vector<size_t>* members;
    size_t count;
    size_t remainder;  // of n * size / total, the fractional part times total
  };
  std::vector<Quota> quotas;
  size_t allocated = 0;
  for (auto& entry : strata) {
    std::vector<size_t>& members = entry.second;
    const uint64_t scaled = static_cast<uint64_t>(n) * members.size();
    quotas.push_back({&members, static_cast<size_t>(scaled / total), static_cast<size_t>(scaled % total)});
    allocated += quotas.back().count;
  }
  std::vector<Quota*> by_remainder;
  for (Quota& q : quotas) by_remainder.push_back(&q);
  // Stable: among equal remainders the stratum named first wins.
  std::stable_sort(by_remainder.begin(), by_remainder.end(),
                   [](const Quota* a, const Quota* b) { return a->remainder > b->remainder; });
  for (size_t k = 0; allocated < n; ++k, ++allocated) ++by_remainder[k]->count;

  std::mt19937_64 engine(seed);
  for (Quota& q : quotas) {
    std::vector<size_t>& m = *q.members;
    for (size_t i = 0; i < q.count; ++i) {
      const size_t j = i + static_cast<size_t>(uniform_below(engine, m.size() - i));
      std::swap(m[i], m[j]);
      out.push_back(m[i]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pb
