// FitPrune (Ye et al., AAAI 2025, arXiv 2409.10197) at inference, as ywh187/FitPrune
// LLaVA_1.5/llava/model/language_model/modeling_llama.py does it: a recipe says how many visual tokens
// to delete inside each decoder layer; at such a layer, after attention, the visual tokens with the
// lowest (text->image sum) x (image->image mean) of the max-over-heads attention are dropped before
// o_proj. The layer's own KV cache keeps them; later layers never see them; positions stay original.
#include "pruners/fitprune.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"
#include "flops/flops.h"
#include "io/json_file.h"
#include "pruners/fitprune_recipe.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "flops/visual_tokens.h"
#include "spec/model_spec.h"

namespace pb {

FitpruneVisualMass fitprune_visual_mass(const at::Tensor& attention, int64_t image_begin, int64_t image_len) {
  PB_CHECK(attention.dim() == 3 && attention.size(1) == attention.size(2), "fitprune: attention must be [H, T, T]");
  const int64_t t = attention.size(1);
  PB_CHECK(image_begin >= 0 && image_len > 0 && image_begin + image_len <= t, "fitprune: image span out of range");
  const at::Tensor columns = attention.amax(0).narrow(1, image_begin, image_len);  // [T, v] fp32
  FitpruneVisualMass m;
  m.text_rows = t - image_begin - image_len;
  m.cross = columns.narrow(0, image_begin + image_len, m.text_rows).to(at::kCPU).to(at::kDouble).sum(0);
  m.self = columns.narrow(0, image_begin, image_len).to(at::kCPU).to(at::kDouble).sum(0) /
           static_cast<double>(image_len);
  return m;
}

at::Tensor fitprune_keep_visual(const at::Tensor& attention, int64_t image_begin, int64_t image_len, int64_t n_delete) {
  const FitpruneVisualMass m = fitprune_visual_mass(attention, image_begin, image_len);
  return top_k_indices(m.cross * m.self, image_len - std::min(n_delete, image_len));
}

namespace {

class FitpruneObserver : public PrefillObserver {
 public:
  FitpruneObserver(std::vector<int64_t> recipe, int64_t scale_reference)
      : recipe_(std::move(recipe)), scale_reference_(scale_reference), deletions_(recipe_) {}
  bool wants_attention(int64_t layer) const override { return recipe_.at(static_cast<size_t>(layer)) > 0; }
  at::Tensor after_attention(int64_t layer, const SequenceState& state, const at::Tensor& attention) override {
    if (layer == 0 && scale_reference_ > 0) {
      // LLaVA-NeXT: rescaled to this image's visual token count (LLaVA_NEXT/.../modeling_llama.py).
      for (size_t l = 0; l < recipe_.size(); ++l) deletions_[l] = recipe_[l] * state.image_len / scale_reference_;
    }
    const int64_t n = deletions_.at(static_cast<size_t>(layer));
    // The official code prunes only while visual tokens are left (`left_vtoken_num > 0`).
    if (n == 0 || state.image_len == 0) return {};
    const at::Tensor kept = fitprune_keep_visual(attention, state.image_begin, state.image_len, n);
    return rows_keeping_visual(state.hidden.size(0), state.image_begin, state.image_len, kept);
  }

 private:
  std::vector<int64_t> recipe_;
  int64_t scale_reference_;
  std::vector<int64_t> deletions_;  // this sample's counts
};

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("fitprune: {}: cannot read", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A schedule file (flops/schedule.h) as deletions: FitPrune only drops inside a layer, so every
// entry's in - after_attn is that layer's count and the next layer must start from after_attn.
FitpruneRecipe recipe_from_schedule(const nlohmann::json& j, const std::string& path, int64_t layers, int64_t n) {
  const std::vector<LayerTokens> s = parse_schedule(j, layers, n, path);
  FitpruneRecipe r;
  r.n_visual = n;
  r.source = "schedule " + path;
  for (size_t l = 0; l < s.size(); ++l) {
    const int64_t expected = l == 0 ? n : s[l - 1].after_attn;
    if (s[l].in != expected) {
      throw Error(fmt::format("fitprune: {}: entry {} starts at {} visual tokens, but FitPrune only drops inside "
                              "layers, so it must start where the previous layer's after_attn left off ({})",
                              path, l, s[l].in, expected));
    }
    r.delete_per_layer.push_back(s[l].in - s[l].after_attn);
  }
  return r;
}

class FitprunePruner : public Pruner {
 public:
  FitprunePruner(Budget budget, std::string recipe_path)
      : budget_(std::move(budget)), recipe_path_(std::move(recipe_path)) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = fitprune_info();
    return i;
  }

  nlohmann::json resolve(const LlavaConfig& cfg) override { return resolve_for_tokens(cfg, image_tokens_per_image(cfg)); }
  // LLaVA-NeXT: called again for every image with its real packed count `n`; the recipe is read once.
  nlohmann::json resolve_for_tokens(const LlavaConfig& cfg, int64_t n) override {
    const int64_t layers = cfg.text.num_hidden_layers;
    if (loaded_for_ != cfg.hash()) load_recipe(cfg);
    const FitpruneRecipe& recipe = recipe_;
    nlohmann::json source = source_;
    const std::string where = source.value("path", source.value("name", std::string()));
    if (static_cast<int64_t>(recipe.delete_per_layer.size()) != layers) {
      throw Error(fmt::format("fitprune: {}: field \"delete_per_layer\" has {} entries, but the model has {} decoder "
                              "layers",
                              where, recipe.delete_per_layer.size(), layers));
    }
    if (cfg.model_type == "llava_next" && recipe.scale_reference == 0) {
      throw Error(fmt::format("fitprune: {}: LLaVA-NeXT images differ in visual-token count, so the recipe needs a "
                              "\"scale_reference\" (the published llava_next_* recipes are written for 2880 and "
                              "rescaled per image)",
                              where));
    }
    if (recipe.scale_reference == 0 && recipe.n_visual != n) {
      throw Error(fmt::format("fitprune: {}: field \"n_visual\" is {}, but the model gives {} visual tokens per image",
                              where, recipe.n_visual, n));
    }
    const std::vector<int64_t> deletions = fitprune_deletions(recipe, n);
    const std::vector<LayerTokens> schedule = fitprune_schedule(deletions, n);
    kept_ = schedule.back().after_attn;
    observer_ = std::make_unique<FitpruneObserver>(recipe.delete_per_layer, recipe.scale_reference);
    const double full = llm_prefill_flops(cfg, 0, uniform_schedule(layers, n), FlopsConvention::kFitPrune);
    source["source"] = recipe.source;
    source["alpha"] = recipe.alpha ? nlohmann::json(*recipe.alpha) : nlohmann::json();
    source["budget"] = {{"fraction_removed", recipe.fraction_removed}, {"convention", recipe.convention}};
    const bool hashed = !recipe.model_config_hash.empty();
    source["model_config_hash"] = hashed ? nlohmann::json(recipe.model_config_hash) : nlohmann::json();
    source["model_config_hash_matches"] =
        hashed ? nlohmann::json(recipe.model_config_hash == cfg.hash()) : nlohmann::json();
    return {{"delete_per_layer", deletions},
            {"visual_tokens_per_layer", schedule_to_json(schedule)},
            {"kept", kept_},
            {"of", n},
            {"flops_removed_fitprune", 1.0 - llm_prefill_flops(cfg, 0, schedule, FlopsConvention::kFitPrune) / full},
            {"recipe", source}};
  }
  int64_t nominal_kept() const override { return kept_; }
  PrefillObserver* llm_observer() override { return observer_.get(); }

 private:
  // Reads recipe= / schedule:FILE or picks the published recipe for the model's nominal visual-token
  // count (576 for LLaVA-1.5, 2880 for LLaVA-NeXT: flops/visual_tokens.h).
  void load_recipe(const LlavaConfig& cfg) {
    const int64_t n = nominal_visual_tokens(cfg), layers = cfg.text.num_hidden_layers;
    if (!recipe_path_.empty() || budget_.kind == Budget::Kind::kSchedule) {
      const std::string& path = recipe_path_.empty() ? budget_.schedule_file : recipe_path_;
      const std::string bytes = file_bytes(path);
      const nlohmann::json j = parse_json_text(bytes, path);
      // schedule:FILE takes a recipe (a schedule with its provenance) or a plain schedule.
      const bool is_recipe = !recipe_path_.empty() || j.is_object();
      recipe_ = is_recipe ? parse_fitprune_recipe(j, path) : recipe_from_schedule(j, path, layers, n);
      source_ = {{"kind", is_recipe ? "file" : "schedule"}, {"path", path}, {"hash", hex16(fnv1a64(bytes))}};
    } else {
      const PublishedFitpruneRecipe& p = published_for(n, layers);
      recipe_ = p.recipe;
      // The shipped configs/fitprune/<stem>.json holds exactly these bytes (tests check it).
      source_ = {{"kind", "published"}, {"name", p.file_stem()}, {"hash", hex16(fnv1a64(fitprune_recipe_text(recipe_)))}};
    }
    loaded_for_ = cfg.hash();
  }

  const PublishedFitpruneRecipe& published_for(int64_t n, int64_t layers) const {
    if (budget_.kind != Budget::Kind::kFlops) {
      throw Error(fmt::format("fitprune: needs a recipe: --pruner fitprune:recipe=FILE (from `prune-bench calibrate`), "
                              "--budget schedule:FILE, or --budget flops:F for a published recipe{}",
                              budget_.kind == Budget::Kind::kDefault ? "" : fmt::format(" (got '{}')", budget_.text)));
    }
    std::string available;
    for (const PublishedFitpruneRecipe& p : published_fitprune_recipes()) {
      available += (available.empty() ? "" : ", ") + p.file_stem();
    }
    if (budget_.convention != "fitprune") {
      throw Error(fmt::format("fitprune: --budget {}: the published recipes were fitted under the fitprune FLOPs "
                              "convention; calibrate one for '{}' with `prune-bench calibrate --convention {}`",
                              budget_.text, budget_.convention, budget_.convention));
    }
    const PublishedFitpruneRecipe* p = find_published_fitprune_recipe(budget_.ratio, n, layers);
    if (p == nullptr) {
      throw Error(fmt::format("fitprune: --budget {}: no published recipe for this ratio on a model with {} visual "
                              "tokens and {} decoder layers (published: {}; llava15 = 576 tokens x 32 layers, "
                              "llava_hr = 1024 x 32, llava_next = 2880 nominal x 32); calibrate one with `prune-bench calibrate --pruner fitprune "
                              "--budget {}` and pass --pruner fitprune:recipe=FILE",
                              budget_.text, n, layers, available, budget_.text));
    }
    return *p;
  }

  Budget budget_;
  std::string recipe_path_;
  FitpruneRecipe recipe_;        // as read, for the model hashed in loaded_for_
  nlohmann::json source_;        // where recipe_ came from
  std::string loaded_for_;
  int64_t kept_ = 0;
  std::unique_ptr<FitpruneObserver> observer_;
};

}  // namespace

PrunerInfo fitprune_info() {
  return {"fitprune",
          "Delete per-layer recipe counts of visual tokens inside each LLM layer, lowest text x image "
          "max-head attention first",
          "Ye et al., Fit and Prune: Fast and Training-free Visual Token Pruning for Multi-modal Large Language "
          "Models, AAAI 2025 (arXiv 2409.10197)",
          "ywh187/FitPrune LLaVA_1.5/llava/model/language_model/modeling_llama.py (inference), "
          "LLaVA_1.5/llava/eval/statistical_analysis.py (recipe: prune-bench calibrate)",
          "original",
          {{"recipe", "",
            "recipe JSON from `prune-bench calibrate` or configs/fitprune/ (else --budget flops:F picks a "
            "published one)"}},
          AnyresHandling::kPackedSpan,
          "the whole packed span (newlines included) is the image; the llava_next recipes are "
          "rescaled per image to int(n_l * N / 2880) (LLaVA_NEXT/llava/model/language_model/modeling_llama.py)"};
}

std::unique_ptr<Pruner> make_fitprune(const PrunerParams& params, const Budget& budget) {
  const std::string recipe = string_param("fitprune", params, "recipe", "");
  if (params.count("recipe") > 0 && recipe.empty()) throw Error("fitprune: recipe= needs a file");
  if (!recipe.empty() && budget.kind != Budget::Kind::kDefault) {
    throw Error(fmt::format("fitprune: give either recipe= or --budget, not both (got --budget '{}')", budget.text));
  }
  if (recipe.empty() && (budget.kind == Budget::Kind::kTokens || budget.kind == Budget::Kind::kKeepRatio)) {
    throw Error(fmt::format("fitprune: --budget {}: FitPrune deletes per-layer recipe counts; use recipe=FILE, "
                            "--budget schedule:FILE or --budget flops:F",
                            budget.text));
  }
  return std::make_unique<FitprunePruner>(budget, recipe);
}

}  // namespace pb
