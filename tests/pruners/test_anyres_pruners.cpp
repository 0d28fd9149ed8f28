// Pruning methods on LLaVA-NeXT (docs/llava_next.md, "Pruning methods on NeXT"): the handling each
// registered method declares, FitPrune's per-image rescaling, and on the golden tiny NeXT model the
// packed image span under G-Prune (base and grid apart, newlines kept, original positions), FoPru
// (per tile, newlines kept, contiguous) and FitPrune (recipe rescaled to the real count).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "flops/visual_tokens.h"
#include "golden_case.h"
#include "pipeline/model_inputs.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/fitprune_recipe.h"
#include "pruners/fopru.h"
#include "pruners/gprune.h"
#include "pruners/pruner.h"
#include "pruners/select.h"
#include "test_files.h"
#include "error_text.h"
#include "test_paths.h"

namespace pb::test {
namespace {

const std::string kConfigs = std::string(PB_SOURCE_DIR) + "/configs/";

std::vector<int64_t> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).to(at::kLong).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

const at::Tensor& kept_stage(const PrunedPrefill& p, const std::string& name) {
  for (const auto& [stage, kept] : p.kept) {
    if (stage == name) return kept;
  }
  FAIL("no stage " << name);
  static const at::Tensor none;
  return none;
}

// The golden tiny NeXT model and messi5.jpg (548x342: a 2x2 grid whose rows are unpadded, 2046
// packed tokens), with a prompt that has text on both sides of the image.
struct NextSample {
  LlavaModel model{LlavaModelImpl::load(golden_path("llava-next-tiny"), ModelOptions{})};
  AnyresPixels pixels = load_anyres_pixels(golden_path("images/messi5.jpg"), model->config());
  std::vector<int64_t> ids = {1, 11, 12, 13, kOriginalImagePlaceholder, 14, 15, 16, 17};
  AnyresFeatures unpruned = model->encode_anyres(pixels.tiles, pixels.width, pixels.height, pixels.layout);
};

}  // namespace

TEST_CASE("anyres: every registered method declares how it treats a LLaVA-NeXT image", "[pruners][llava_next]") {
  using H = AnyresHandling;
  // The table of docs/llava_next.md.
  const std::map<std::string, H> expected = {
      {"none", H::kPackedSpan},       {"fastv", H::kPackedSpan},     {"fitprune", H::kPackedSpan},
      {"pdrop", H::kPackedSpan},      {"dart", H::kPackedSpan},      {"vtw", H::kPackedSpan},
      {"fopru", H::kPerTile},         {"random", H::kPerTile},       {"gprune", H::kBaseAndGrid},
      {"sparsevlm", H::kRefused},     {"visionzip", H::kRefused},    {"fastervlm", H::kRefused},
      {"prumerge_plus", H::kRefused}, {"tome", H::kRefused},         {"pool", H::kRefused},
  };
  REQUIRE(pruner_registry().size() == expected.size());
  const LlavaConfig next = load_llava_config(kConfigs + "models/llava-next-tiny-text.json");
  for (const PrunerEntry& e : pruner_registry()) {
    INFO(e.info.name);
    REQUIRE(expected.count(e.info.name) == 1);
    CHECK(e.info.anyres == expected.at(e.info.name));
    CHECK_FALSE(e.info.anyres_note.empty());
    if (e.info.anyres == H::kRefused) {
      // A refused method fails at run level with its reason, and so does the pipeline.
      std::unique_ptr<Pruner> p;
      try {
        p = make_pruner(e.info.name, Budget::parse("tokens:64"));
      } catch (const Error&) {
        p = make_pruner(e.info.name, Budget::parse(""));
      }
      const std::string what = error_of([&] { p->resolve_anyres(next); });
      CHECK_THAT(what, Catch::Contains("--pruner " + e.info.name + ": not available on LLaVA-NeXT models: " +
                                       e.info.anyres_note));
      CHECK(what.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("anyres: budgets with no per-tile or base-and-grid reading are refused in one line", "[pruners][llava_next]") {
  const LlavaConfig next = load_llava_config(kConfigs + "models/llava-next-tiny-text.json");
  CHECK_THAT(error_of([&] { make_pruner("gprune", Budget::parse("tokens:300"))->resolve_anyres(next); }),
             Catch::Contains("gprune: --budget tokens:300 has no LLaVA-NeXT reading") && Catch::Contains("keep:R"));
  CHECK_THAT(error_of([&] { make_pruner("fopru", Budget::parse("tokens:144"))->resolve_anyres(next); }),
             Catch::Contains("fopru: --budget tokens:144 has no LLaVA-NeXT reading") && Catch::Contains("keep:R"));
  CHECK_THAT(error_of([&] { make_pruner("random", Budget::parse("tokens:144"))->resolve_anyres(next); }),
             Catch::Contains("random: --budget tokens:144 has no LLaVA-NeXT reading"));
  // The same methods with a ratio resolve, per tile / for the base tile.
  const nlohmann::json fopru = make_pruner("fopru", Budget::parse("keep:0.25"))->resolve_anyres(next);
  CHECK(fopru["kept"] == 144);
  CHECK(fopru["anyres"]["handling"] == "per-tile");
  const nlohmann::json gprune = make_pruner("gprune", Budget::parse("keep:0.5"))->resolve_anyres(next);
  CHECK(gprune["kept"] == 288);
  CHECK(gprune["anyres"]["handling"] == "base-and-grid");
  // A packed-span method is recorded for the nominal 5 x 576 = 2880.
  const nlohmann::json fastv = make_pruner("fastv", Budget::parse("keep:0.25"))->resolve_anyres(next);
  CHECK(fastv["of"] == 2880);
  CHECK(fastv["kept"] == 720);
}

TEST_CASE("anyres: fitprune picks the published NeXT recipe and rescales it to int(n_l * N / 2880)",
          "[pruners][fitprune][llava_next]") {
  const LlavaConfig v16 = load_llava_config(golden_path("configs/llava-v1.6-vicuna-7b-hf.json"));
  auto p = make_pruner("fitprune", Budget::parse("flops:0.6"));
  const nlohmann::json nominal = p->resolve_anyres(v16);
  CHECK(nominal["recipe"]["name"] == "llava_next_60");
  CHECK(nominal["of"] == 2880);
  const std::vector<int64_t> recipe = nominal["delete_per_layer"];
  CHECK(recipe == std::vector<int64_t>{98, 313, 279, 218, 201, 221, 167, 132, 63, 12, 11, 5, 1, 8, 26, 13,
                                       83, 57, 56, 58, 24, 42, 0, 2, 1, 5, 0, 0, 0, 0, 0, 0});
  for (const int64_t n : {2830, 2046, 1026}) {
    INFO(n);
    const nlohmann::json j = p->resolve_for_tokens(v16, n);
    const std::vector<int64_t> got = j["delete_per_layer"];
    int64_t left = n;
    for (size_t l = 0; l < recipe.size(); ++l) {
      // Python's int(n_l * N / 2880): true division in double, truncated.
      CHECK(got[l] == static_cast<int64_t>(static_cast<double>(recipe[l]) * static_cast<double>(n) / 2880.0));
      left -= got[l];
    }
    CHECK(j["kept"] == left);
    CHECK(j["of"] == n);
  }
  CHECK(p->resolve_for_tokens(v16, 2830)["delete_per_layer"][1] == 307);  // int(313 * 2830 / 2880) = int(307.57)

  // A recipe without scale_reference cannot follow the per-image count.
  const std::string unscaled = kConfigs + "fitprune/llava15_60.json";
  CHECK_THAT(error_of([&] { make_pruner("fitprune:recipe=" + unscaled, Budget{})->resolve_anyres(v16); }),
             Catch::Contains(unscaled) && Catch::Contains("needs a \"scale_reference\""));
}

TEST_CASE("anyres: gprune prunes the base tile and the grid apart, keeps every newline and the original positions",
          "[pruners][gprune][llava_next]") {
  c10::InferenceMode guard;
  NextSample s;
  const std::vector<int64_t>& source = s.unpruned.source;
  const auto n = static_cast<int64_t>(source.size());
  REQUIRE(n == 2046);
  const int64_t rows = s.unpruned.grid_rows, cols = s.unpruned.grid_cols;
  auto pruner = make_pruner("gprune", Budget::parse("keep:0.5"));
  pruner->resolve_anyres(s.model->config());
  Session session;
  const PrunedPrefill out = run_anyres_prefill(*s.model, *pruner, "messi", s.pixels, s.ids, session, false, 0);
  CHECK(out.image_tokens == n);
  const std::vector<int64_t> kept = to_vector(kept_stage(out, "kept_projector"));
  REQUIRE(std::is_sorted(kept.begin(), kept.end()));

  // Expected: two graphs, one on the 576 base rows, one on the grid rows without the newlines.
  std::vector<int64_t> base, grid, newlines;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t src = source[static_cast<size_t>(r)];
    (src < 0 ? newlines : src < 576 ? base : grid).push_back(r);
  }
  REQUIRE(static_cast<int64_t>(newlines.size()) == rows);
  REQUIRE(static_cast<int64_t>(grid.size()) == rows * cols);
  auto top = [&](const std::vector<int64_t>& part, int64_t k) {
    const at::Tensor index = at::tensor(part, at::kLong);
    const GpruneScores g = gprune_scores(s.unpruned.image_embeds.index_select(0, index), 0.5, 0.03, 5);
    return to_vector(index.index_select(0, top_k_indices(g.importance, k)));
  };
  std::vector<int64_t> want = top(base, 288);  // int(0.5 * 576)
  const std::vector<int64_t> grid_kept = top(grid, static_cast<int64_t>(0.5 * static_cast<double>(rows * cols)));
  want.insert(want.end(), grid_kept.begin(), grid_kept.end());
  want.insert(want.end(), newlines.begin(), newlines.end());
  std::sort(want.begin(), want.end());
  CHECK(kept == want);
  // Every newline survives; the span the LLM sees (and the FLOPs count) is exactly the kept rows.
  for (const int64_t r : newlines) CHECK(std::binary_search(kept.begin(), kept.end(), r));
  CHECK(out.prompt.image_len == static_cast<int64_t>(kept.size()));
  CHECK(session.visual_tokens_per_layer.front() == static_cast<int64_t>(kept.size()));
  CHECK(static_cast<int64_t>(kept.size()) == 288 + (rows * cols) / 2 + rows);

  // RoPE positions: kept rows keep their packed positions; the text continues after the unpruned span.
  REQUIRE(out.prompt.positions.defined());
  const std::vector<int64_t> pos = to_vector(out.prompt.positions);
  const int64_t begin = out.prompt.image_begin;
  REQUIRE(begin == 4);
  for (int64_t i = 0; i < begin; ++i) CHECK(pos[static_cast<size_t>(i)] == i);
  for (size_t i = 0; i < kept.size(); ++i) CHECK(pos[static_cast<size_t>(begin) + i] == begin + kept[i]);
  CHECK(pos[static_cast<size_t>(begin) + kept.size()] == begin + n);
  CHECK(pos.back() == static_cast<int64_t>(s.ids.size()) - 2 + n);
  CHECK(session.next_position == static_cast<int64_t>(s.ids.size()) - 1 + n);
}

TEST_CASE("anyres: fopru selects inside each tile; pruned rows leave the packed span, newlines stay",
          "[pruners][fopru][llava_next]") {
  c10::InferenceMode guard;
  NextSample s;
  auto pruner = make_pruner("fopru", Budget::parse("keep:0.25"));
  pruner->resolve_anyres(s.model->config());
  const std::set<int64_t> layers = pruner->vision_attention_layers();
  REQUIRE(layers.size() == 1);
  const AnyresFeatures with_attention =
      s.model->encode_anyres(s.pixels.tiles, s.pixels.width, s.pixels.height, s.pixels.layout, layers);
  const at::Tensor& attention = with_attention.vision_attentions.at(static_cast<size_t>(*layers.begin()));
  REQUIRE(attention.size(0) == 5);  // [tiles, H, 1+P, 1+P]
  std::set<int64_t> kept_patches;  // tile * 576 + patch
  for (int64_t t = 0; t < 5; ++t) {
    const at::Tensor k = fopru_select(fopru_significance(attention[t]).scores, FopruStrategy::kRank, 144, 24);
    for (const int64_t p : to_vector(k)) kept_patches.insert(t * 576 + p);
  }
  std::vector<int64_t> want;
  int64_t base_kept = 0;
  for (size_t r = 0; r < s.unpruned.source.size(); ++r) {
    const int64_t src = s.unpruned.source[r];
    if (src < 0 || kept_patches.count(src) > 0) want.push_back(static_cast<int64_t>(r));
    base_kept += src >= 0 && src < 576 && kept_patches.count(src) > 0 ? 1 : 0;
  }
  CHECK(base_kept == 144);  // the base tile is never unpadded: exactly its 144

  Session session;
  const PrunedPrefill out = run_anyres_prefill(*s.model, *pruner, "messi", s.pixels, s.ids, session, false, 0);
  const std::vector<int64_t> kept = to_vector(kept_stage(out, "kept_vision"));
  CHECK(kept == want);
  int64_t newlines = 0;
  for (const int64_t r : kept) newlines += s.unpruned.source[static_cast<size_t>(r)] < 0 ? 1 : 0;
  CHECK(newlines == s.unpruned.grid_rows);
  // The kept rows are the unpruned packed rows themselves (the projector is row-wise), contiguous.
  CHECK(at::equal(out.image.image_embeds, s.unpruned.image_embeds.index_select(0, at::tensor(kept, at::kLong))));
  CHECK_FALSE(out.prompt.positions.defined());
  CHECK(out.prompt.image_len == static_cast<int64_t>(kept.size()));
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>(3, static_cast<int64_t>(kept.size())));
  CHECK(out.image_tokens == 2046);
}

TEST_CASE("anyres: random draws per tile from the sample's stream, the same draw for the same key",
          "[pruners][llava_next]") {
  c10::InferenceMode guard;
  NextSample s;
  auto pruner = make_pruner("random", Budget::parse("keep:0.25"));
  pruner->resolve_anyres(s.model->config());
  auto kept_for = [&](const std::string& key) {
    Session session;
    return to_vector(kept_stage(run_anyres_prefill(*s.model, *pruner, key, s.pixels, s.ids, session, false, 0),
                                "kept_vision"));
  };
  const std::vector<int64_t> a = kept_for("q1"), again = kept_for("q1"), other = kept_for("q2");
  CHECK(a == again);
  CHECK(a != other);
  int64_t base = 0, newlines = 0;
  for (const int64_t r : a) {
    const int64_t src = s.unpruned.source[static_cast<size_t>(r)];
    base += src >= 0 && src < 576 ? 1 : 0;
    newlines += src < 0 ? 1 : 0;
  }
  CHECK(base == 144);  // keep:0.25 of the base tile's 576
  CHECK(newlines == s.unpruned.grid_rows);
}

TEST_CASE("anyres: fitprune deletes its rescaled counts from the real packed span inside the LLM",
          "[pruners][fitprune][llava_next]") {
  c10::InferenceMode guard;
  NextSample s;
  TempDir dir;
  FitpruneRecipe r;
  r.delete_per_layer = {98, 313, 279};  // the first three layers of llava_next_60
  r.n_visual = 2880;
  r.scale_reference = 2880;
  r.fraction_removed = 0.6;
  r.source = "test: llava_next_60 layers 0-2";
  write_fitprune_recipe(dir.file("r.json"), r);
  auto pruner = make_pruner("fitprune:recipe=" + dir.file("r.json"), Budget{});
  CHECK(pruner->resolve_anyres(s.model->config())["of"] == 2880);
  Session session;
  const PrunedPrefill out = run_anyres_prefill(*s.model, *pruner, "messi", s.pixels, s.ids, session, false, 0);
  // N = 2046: int(98 * 2046 / 2880) = 69, int(313 * 2046 / 2880) = 222, int(279 * 2046 / 2880) = 198.
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{2046, 1977, 1755});
  CHECK(session.visual_tokens_after_attn == std::vector<int64_t>{1977, 1755, 1557});
  CHECK(out.prompt.image_len == 2046);
  // Recorded as indices into the unpruned packed span: newline rows can go too, as in the official code.
  const std::vector<int64_t> last = to_vector(kept_stage(out, "kept_layer2_mid"));
  CHECK(last.size() == 1557);
  CHECK(last.back() < 2046);
  CHECK(to_vector(kept_stage(out, "kept_layer0_mid")).size() == 1977);
}

TEST_CASE("anyres: the pipeline refuses a refused method with its one-line reason", "[pruners][llava_next]") {
  c10::InferenceMode guard;
  NextSample s;
  auto pruner = make_pruner("visionzip", Budget::parse("tokens:64"));
  Session session;
  CHECK_THAT(error_of([&] { run_anyres_prefill(*s.model, *pruner, "k", s.pixels, s.ids, session, false, 0); }),
             Catch::Contains("--pruner visionzip: not available on LLaVA-NeXT models"));
}

}  // namespace pb::test
