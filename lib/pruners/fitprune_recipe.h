// FitPrune recipes: how many visual tokens to delete inside each decoder layer, with where the numbers
// came from. The official code prints a recipe and hard-codes one Python dict per reduction ratio
// (ywh187/FitPrune LLaVA_1.5/llava/model/language_model/modeling_llama.py); prune-bench stores recipes
// as JSON files (docs/pruners.md, "fitprune") and carries the published ones as data.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flops/schedule.h"

namespace pb {

struct FitpruneRecipe {
  std::vector<int64_t> delete_per_layer;  // [L] visual tokens deleted inside layer l, after its attention
  int64_t n_visual = 0;                   // visual tokens the counts are for
  // LLaVA-NeXT's recipes are written for a nominal 2880 tokens and each entry is rescaled per image to
  // int(n_l * N / 2880) (LLaVA_NEXT/.../modeling_llama.py); 0 = used as written.
  int64_t scale_reference = 0;
  std::optional<double> alpha;            // the α the counts were fitted with (unknown for published ones)
  double fraction_removed = 0;            // the FLOPs budget it was fitted for
  std::string convention = "fitprune";    // under this FLOPs convention (flops/flops.h)
  std::string head_aggregation = "max";   // the only aggregation FitPrune uses (pruners.md §0.5)
  std::string fit_select;                 // "official" | "smallest-reaching"; "" = unknown
  std::string never_break;                // "reuse" | "largest"; "" = unknown
  std::string model_config_hash;          // LlavaConfig::hash() of the calibration model; "" = unknown
  nlohmann::json calibration;             // dataset, protocol, sample keys, model...; null = unknown
  std::string prune_bench_version;        // version + commit that wrote it; "" = not written by a fit
  std::optional<double> time_seconds;     // wall time of the calibration
  std::string source;                     // one line: who produced the numbers
  nlohmann::json search;                  // the α search, one entry per fit; null = unknown
};

// Strict reading: every key known and present (nullable ones may be null), with its type, counts >= 0
// and one count per layer. pb::Error naming `source` and the field.
FitpruneRecipe parse_fitprune_recipe(const nlohmann::json& j, const std::string& source);
FitpruneRecipe read_fitprune_recipe(const std::string& path);  // + unreadable file / invalid JSON
nlohmann::json fitprune_recipe_to_json(const FitpruneRecipe& recipe);
// The bytes write_fitprune_recipe writes (2-space JSON + newline), so a file's hash is reproducible.
std::string fitprune_recipe_text(const FitpruneRecipe& recipe);
void write_fitprune_recipe(const std::string& path, const FitpruneRecipe& recipe);  // atomic

// The recipe's deletions for an image of `n_visual` tokens: rescaled when scale_reference is set.
std::vector<int64_t> fitprune_deletions(const FitpruneRecipe& recipe, int64_t n_visual);
// Visual tokens per layer when `deletions` are applied to `n_visual` tokens: {in, after_attn}, never
// below zero (the official code stops deleting once no visual token is left).
std::vector<LayerTokens> fitprune_schedule(const std::vector<int64_t>& deletions, int64_t n_visual);

// One of the recipes hard-coded in the official code.
struct PublishedFitpruneRecipe {
  std::string family;  // "llava15" | "llava_next" | "llava_hr": file stem prefix (configs/fitprune/)
  int ratio_percent;   // the code's reduction_ratio
  FitpruneRecipe recipe;
  std::string file_stem() const { return family + "_" + std::to_string(ratio_percent); }
};
const std::vector<PublishedFitpruneRecipe>& published_fitprune_recipes();
// The published recipe for `fraction_removed` written for `n_visual` tokens (LLaVA-NeXT: the nominal 2880,
// rescaled per image) and `layers` decoder layers, or nullptr.
const PublishedFitpruneRecipe* find_published_fitprune_recipe(double fraction_removed, int64_t n_visual,
                                                              int64_t layers);

}  // namespace pb
