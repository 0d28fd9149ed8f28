// FitPrune: the inference selection and the calibration deletion rule on hand-built numbers
// (pruners.md §7.15), fit(α) against a lockstep transcription of statistical_analysis.py, and
// calibration on the text-capable random-weight tiny model.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "golden_case.h"
#include "io/model_config.h"
#include "pipeline/model_inputs.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/fitprune.h"
#include "pruners/fitprune_calibrate.h"
#include "pruners/fitprune_recipe.h"
#include "test_files.h"
#include "test_paths.h"

namespace pb::test {
namespace {

std::vector<int64_t> ints(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// [2, 6, 6]: row/column 0 is the system prompt, 1..3 the image (tokens t0..t2), 4..5 text.
// Both heads: image rows give self = [0.6, 0.6, 0.05] / 3. Text rows: head 0 gives t0 0.5 + 0.5 and
// t2 0.5 + 0.5, head 1 gives t1 0.35 + 0.35 and t2 the same. Max over heads: cross = [1.0, 0.7, 1.0],
// scores cross x self = [0.2, 0.14, 0.0167]: t2 goes first, then t1. (The head mean would rank
// t0 below t1; cross alone would drop t1 first; self alone t2 then t0.)
at::Tensor hand_attention() {
  at::Tensor a = at::zeros({2, 6, 6}, at::kFloat);
  const float self_rows[3][3] = {{0.3f, 0, 0}, {0.2f, 0.3f, 0}, {0.1f, 0.3f, 0.05f}};
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) a[h][1 + i][1 + j] = self_rows[i][j];
    }
  }
  for (int row : {4, 5}) {
    a[0][row][1] = 0.5f;
    a[0][row][3] = 0.5f;
    a[1][row][2] = 0.35f;
    a[1][row][3] = 0.5f;
  }
  return a;
}

class LayerAttention : public PrefillObserver {
 public:
  bool wants_attention(int64_t layer) const override { return layer < 2; }
  void after_layer(int64_t layer, SequenceState&, const at::Tensor& attention) override {
    if (layer < 2) layers.push_back(attention);
  }
  std::vector<at::Tensor> layers;  // [H, T_l, T_l] of layers 0 and 1
};

}  // namespace

TEST_CASE("fitprune: inference drops the lowest cross x self of the max-over-heads attention", "[fitprune]") {
  const at::Tensor a = hand_attention();
  const FitpruneVisualMass m = fitprune_visual_mass(a, 1, 3);
  CHECK(m.text_rows == 2);
  CHECK(m.cross[0].item<double>() == Approx(1.0));
  CHECK(m.cross[1].item<double>() == Approx(0.7));
  CHECK(m.self[2].item<double>() == Approx(0.05 / 3));
  CHECK(ints(fitprune_keep_visual(a, 1, 3, 0)) == std::vector<int64_t>{0, 1, 2});
  CHECK(ints(fitprune_keep_visual(a, 1, 3, 1)) == std::vector<int64_t>{0, 1});
  CHECK(ints(fitprune_keep_visual(a, 1, 3, 2)) == std::vector<int64_t>{0});
  CHECK(ints(fitprune_keep_visual(a, 1, 3, 7)).empty());
  // Ties: equal scores keep the lower index (pruners/select.h).
  const at::Tensor flat = at::full({1, 6, 6}, 0.1f);
  CHECK(ints(fitprune_keep_visual(flat, 1, 3, 1)) == std::vector<int64_t>{0, 1});
}

TEST_CASE("fitprune: on the golden tiny model each layer drops what its own attention ranks lowest", "[fitprune]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  auto pruner = make_pruner("fitprune", Budget::parse("schedule:" + data_path("fitprune/tiny_recipe.json")));
  pruner->resolve(model->config());
  LayerAttention attention;
  Session session;
  const PrunedPrefill out = run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ref.ids("input_ids"),
                                               session, false, 1, &attention);
  REQUIRE(out.kept.size() == 2);
  CHECK(out.kept[0].first == "kept_layer0_mid");
  CHECK(out.kept[1].first == "kept_layer1_mid");
  const int64_t begin = out.prompt.image_begin;
  const at::Tensor kept0 = fitprune_keep_visual(attention.layers.at(0), begin, 576, 100);
  CHECK(at::equal(out.kept[0].second, kept0));
  const at::Tensor kept1 = kept0.index_select(0, fitprune_keep_visual(attention.layers.at(1), begin, 476, 200));
  CHECK(at::equal(out.kept[1].second, kept1));
  // Inside-layer drops: the layer's attention ran at the old count, o_proj and the MLP at the new one.
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{576, 476, 276});
  CHECK(session.visual_tokens_after_attn == std::vector<int64_t>{476, 276, 276});
  // Original positions: the kept rows carry their positions in the unpruned prompt.
  CHECK(session.final_state.positions.max().item<int64_t>() == out.prompt.embeds.size(0) - 1);
}

TEST_CASE("fitprune: calibration deletes the intersection of the cross and self threshold sets", "[fitprune]") {
  // Masses 0.1 0.4 0.2 0.3 (sum 1): removing the 0, 1, 2, 3, 4 smallest leaves 1.0 0.9 0.7 0.4 0.
  const std::vector<double> mass = {0.1, 0.4, 0.2, 0.3};
  CHECK(fitprune_ascending(mass) == std::vector<int64_t>{0, 2, 3, 1});
  // Floor 0.6 (α 0.4 of reference 1): the largest k whose remainder stays >= 0.6 is 2.
  CHECK(fitprune_official_count(mass, 0.6) == 2);
  CHECK(fitprune_largest_count(mass, 0.6) == 2);
  CHECK(fitprune_official_count(mass, 0.7) == 2);  // 0.7 >= 0.7 still holds
  CHECK(fitprune_official_count(mass, 0.95) == 0);  // the loop breaks at i = 2: max(i - 1, 0)
  CHECK(fitprune_official_count(mass, 1.5) == 0);   // breaks at i = 0
  CHECK(fitprune_largest_count(mass, 1.5) == 0);
  // Floor 0.25: even 3 deletions leave 0.4, so `for i in range(4)` never breaks.
  CHECK(!fitprune_official_count(mass, 0.25).has_value());
  CHECK(fitprune_largest_count(mass, 0.25) == 3);
  CHECK(fitprune_largest_count(mass, 0.0) == 4);
  // Intersection: the 2 lowest cross {0, 2} and the 2 lowest self {1, 2} share token 2.
  const std::vector<double> self = {0.3, 0.1, 0.2, 0.4};
  CHECK(fitprune_intersection(mass, 2, self, 2) == std::vector<int64_t>{2});
  CHECK(fitprune_intersection(mass, 3, self, 3) == std::vector<int64_t>{0, 2});
  CHECK(fitprune_intersection(mass, 0, self, 4).empty());
  CHECK(fitprune_intersection(mass, 9, self, 9) == std::vector<int64_t>{0, 1, 2, 3});  // Python slicing
  // Ties sort by index.
  CHECK(fitprune_ascending({0.2, 0.1, 0.2, 0.1}) == std::vector<int64_t>{1, 3, 0, 2});

  SampleFit fit;
  const std::vector<int64_t> gone = fitprune_fit_layer(fit, FitReuse{}, NeverBreak::kReuse, 0, mass, self, 0.6, 0.6);
  CHECK(gone == std::vector<int64_t>{2});
  CHECK(fit.visual_in == std::vector<int64_t>{4});
  CHECK(fit.cross_count == std::vector<int64_t>{2});
  CHECK(fit.deleted == std::vector<int64_t>{1});
}

namespace {

// Synthetic per-layer masses that depend on (sample, layer, visual tokens left) alone, with one
// dominant token at the `dominant` (sample, layer) pairs, where the script's count loop never breaks.
struct Synthetic {
  int64_t samples = 4, layers = 6, n_visual = 40, d = 64, m = 172;
  double fraction = 0.5;
  std::set<std::pair<int64_t, int64_t>> dominant;

  std::vector<double> mass(int64_t s, int64_t l, int64_t v, int which) const {
    std::vector<double> out(static_cast<size_t>(v));
    uint64_t h = fnv1a64(fmt::format("{}/{}/{}/{}", s, l, v, which));
    for (double& x : out) {
      h = h * 6364136223846793005ull + 1442695040888963407ull;
      x = static_cast<double>((h >> 33) % 1000 + 1) / 1000.0;
    }
    if (v > 0 && dominant.count({s, l}) > 0) out[0] = 10.0 * static_cast<double>(v);
    return out;
  }
  double reference(int64_t s, int64_t l, int which) const {
    const std::vector<double> full = mass(s, l, n_visual, which);
    return std::accumulate(full.begin(), full.end(), 0.0);
  }
  int64_t pre(int64_t v) const { return 3 * v * d * d + 2 * v * v * d; }   // QKV, QK^T and AV
  int64_t post(int64_t v) const { return v * d * d + 3 * v * d * m; }      // o_proj + FFN
};

struct Official {
  bool crashed = false, reached = false;
  int64_t stop = -1;
  std::vector<int64_t> scheme;
  static Official crash() {
    Official o;
    o.crashed = true;
    return o;
  }
};

// statistical_analysis.py fit_model, transcribed: layers in lockstep over samples, Python ints for
// the FLOPs, one del_num_cross / del_num_self variable for the whole fit.
Official official_fit(const Synthetic& syn, double alpha, NeverBreak rule) {
  const int64_t n = syn.samples, L = syn.layers;
  const int64_t origin = L * (syn.pre(syn.n_visual) + syn.post(syn.n_visual));
  std::vector<int64_t> v(static_cast<size_t>(n), syn.n_visual), scheme(static_cast<size_t>(L), 0);
  std::optional<int64_t> var_cross, var_self;
  int64_t already = 0;
  Official out;
  const auto count = [&](const std::vector<double>& mass, double floor, std::optional<int64_t>& var) {
    if (rule == NeverBreak::kLargest) return std::optional<int64_t>(fitprune_largest_count(mass, floor));
    const std::optional<int64_t> k = fitprune_official_count(mass, floor);
    if (k) var = k;
    return var;  // unset: UnboundLocalError
  };
  for (int64_t l = 0; l < L && !out.reached; ++l) {
    int64_t forecast = 0;
    for (const int64_t vs : v) {
      already += syn.pre(vs);
      forecast += syn.post(vs) + (L - 1 - l) * (syn.pre(vs) + syn.post(vs));
    }
    if (static_cast<double>(already + forecast) / static_cast<double>(n) <=
        static_cast<double>(origin) * (1 - syn.fraction)) {
      out.reached = true;
      out.stop = l;
      break;
    }
    for (int64_t s = 0; s < n; ++s) {
      int64_t& vs = v[static_cast<size_t>(s)];
      const std::vector<double> cross = syn.mass(s, l, vs, 0), self = syn.mass(s, l, vs, 1);
      const double rc = syn.reference(s, l, 0), rs = syn.reference(s, l, 1);
      const std::optional<int64_t> nc = count(cross, rc - rc * alpha, var_cross);
      if (!nc) return Official::crash();
      const std::optional<int64_t> ns = count(self, rs - rs * alpha, var_self);
      if (!ns) return Official::crash();
      const auto gone = static_cast<int64_t>(fitprune_intersection(cross, *nc, self, *ns).size());
      scheme[static_cast<size_t>(l)] += gone;
      vs -= gone;
      already += syn.post(vs);
    }
  }
  for (int64_t& x : scheme) x /= n;
  out.scheme = scheme;
  return out;
}

// The same fit the prune-bench way: each sample on its own through every layer.
Official prune_bench_fit(const Synthetic& syn, double alpha, NeverBreak rule, int& passes) {
  const FitLayerCost cost = [&](size_t, int64_t in, int64_t after) {
    return static_cast<double>(syn.pre(in) + syn.post(after));
  };
  const FitSampleRun run = [&](size_t sample, const FitReuse& reuse) {
    const auto s = static_cast<int64_t>(sample);
    SampleFit fit;
    int64_t v = syn.n_visual;
    for (int64_t l = 0; l < syn.layers; ++l) {
      const double rc = syn.reference(s, l, 0), rs = syn.reference(s, l, 1);
      v -= static_cast<int64_t>(fitprune_fit_layer(fit, reuse, rule, l, syn.mass(s, l, v, 0), syn.mass(s, l, v, 1),
                                                   rc - rc * alpha, rs - rs * alpha)
                                    .size());
    }
    return fit;
  };
  try {
    const AlphaTrial t =
        fitprune_fit_alpha(alpha, static_cast<size_t>(syn.samples), syn.layers, rule, syn.fraction, cost, run);
    passes = std::max(passes, t.passes);
    return Official{false, t.reached, t.stop_layer, t.scheme};
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("UnboundLocalError") && Catch::Contains("--never-break largest"));
    return Official::crash();
  }
}

}  // namespace

TEST_CASE("fitprune: per-sample fits give the script's lockstep result, reused counts included", "[fitprune]") {
  Synthetic syn;
  SECTION("reused counts from the previous sample and, for sample 0, from the last sample's previous layer") {
    syn.dominant = {{0, 2}, {1, 1}, {3, 0}, {0, 4}, {2, 3}};
    int passes = 1;
    int reached = 0;
    for (const NeverBreak rule : {NeverBreak::kReuse, NeverBreak::kLargest}) {
      for (const double alpha : {0.05, 0.2, 0.35, 0.5, 0.65, 0.8}) {
        INFO(never_break_name(rule) << " alpha " << alpha);
        const Official expected = official_fit(syn, alpha, rule);
        const Official got = prune_bench_fit(syn, alpha, rule, passes);
        CHECK(got.crashed == expected.crashed);
        CHECK(got.reached == expected.reached);
        CHECK(got.stop == expected.stop);
        CHECK(got.scheme == expected.scheme);
        reached += expected.reached ? 1 : 0;
      }
    }
    CHECK(passes >= 2);   // sample 0 needed the last sample's count at least once
    CHECK(reached > 0);
    CHECK(reached < 12);  // both outcomes exercised
  }
  SECTION("a count never set at the first evaluation is the script's crash") {
    syn.dominant = {{0, 0}};
    int passes = 1;
    const Official got = prune_bench_fit(syn, 0.5, NeverBreak::kReuse, passes);
    CHECK(official_fit(syn, 0.5, NeverBreak::kReuse).crashed);
    CHECK(got.crashed);
    CHECK(!prune_bench_fit(syn, 0.5, NeverBreak::kLargest, passes).crashed);
  }
}

namespace {

std::vector<CalibrationPrompt> tiny_prompts(const LlavaModelImpl& model, int n) {
  const SentencePieceTokenizer tokenizer = SentencePieceTokenizer::load(data_path("golden/tokenizer/llama.model"));
  const char* images[] = {"fruits.jpg", "messi5.jpg", "baboon.jpg", "HappyFish.jpg", "left01.jpg"};
  std::vector<CalibrationPrompt> prompts;
  for (int i = 0; i < n; ++i) {
    const at::Tensor pixels = load_pixel_values(data_path(std::string("golden/images/") + images[i % 5]),
                                                ImageMode::kPad, model.config());
    const std::vector<int64_t> ids = prompt_ids(
        tokenizer, PromptTemplate::kVicunaV1,
        fmt::format("What is shown number {}?\nAnswer the question using a single word or phrase.", i));
    prompts.push_back({std::to_string(i), model.splice(ids, model.encode_image(pixels).image_embeds)});
  }
  return prompts;
}

}  // namespace

TEST_CASE("fitprune: calibration on the tiny model is deterministic and meets its budget", "[fitprune]") {
  c10::InferenceMode guard;
  const LlavaConfig cfg = load_llava_config(std::string(PB_SOURCE_DIR) + "/configs/models/llava15-tiny-text.json");
  const LlavaModel model(LlavaModelImpl::random(cfg, ModelOptions{}, 0));
  const std::vector<CalibrationPrompt> prompts = tiny_prompts(*model, 4);
  FitpruneCalibrationOptions options;
  options.fraction_removed = 0.5;

  const FitpruneCalibration a = calibrate_fitprune(*model, prompts, options);
  const FitpruneCalibration b = calibrate_fitprune(*model, prompts, options);
  REQUIRE(a.trials.size() == 7);  // 1 -> 0.0078 in halvings
  CHECK(a.scheme == b.scheme);
  CHECK(a.alpha == b.alpha);  // bitwise
  CHECK(a.alpha == a.trials.back().alpha);  // official: the last α evaluated
  CHECK(a.scheme.size() == 3);

  options.fit_select = FitSelect::kSmallestReaching;
  const FitpruneCalibration c = calibrate_fitprune(*model, prompts, options);
  const AlphaTrial* smallest = nullptr;
  for (const AlphaTrial& t : c.trials) {
    if (t.reached && (smallest == nullptr || t.alpha < smallest->alpha)) smallest = &t;
  }
  REQUIRE(smallest != nullptr);
  CHECK(c.alpha == smallest->alpha);
  const auto layers = static_cast<int64_t>(c.scheme.size());
  const double full = llm_prefill_flops(cfg, 0, uniform_schedule(layers, 576), FlopsConvention::kFitPrune);
  const double removed =
      1.0 - llm_prefill_flops(cfg, 0, fitprune_schedule(c.scheme, 576), FlopsConvention::kFitPrune) / full;
  INFO("recipe removes " << removed << " with " << c.scheme[0] << ", " << c.scheme[1] << ", " << c.scheme[2]);
  CHECK(removed >= 0.5 - 0.01);
  CHECK(removed <= 0.5 + 0.01);

  options.never_break = NeverBreak::kLargest;
  const FitpruneCalibration d = calibrate_fitprune(*model, prompts, options);
  CHECK(d.trials.size() == 7);
}

}  // namespace pb::test
