// VisionZip on hand-built attention / keys / rows with known answers, and its budget split.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <vector>

#include "pruners/pruner.h"
#include "pruner_test_util.h"
#include "pruners/visionzip.h"

namespace pb::test {
namespace {

// [rows, cols] fp32 from row-major values.
at::Tensor matrix(const std::vector<double>& v, int64_t cols) {
  return at::tensor(v, at::kDouble).to(at::kFloat).view({-1, cols});
}

// The 7-token example: CLS + 6 patches, 2 heads. CLS attends most to token 2 (sum over heads);
// keys send token 3 to target token 1 and tokens 5, 6 to target token 4.
struct Example {
  at::Tensor attention, tokens, keys;
};
Example seven_tokens() {
  Example e;
  e.attention = at::zeros({2, 7, 7}, at::kFloat);
  e.attention[0][0] = at::tensor({0.1, 0.1, 0.5, 0.1, 0.1, 0.05, 0.05}, at::kFloat);
  e.attention[1][0] = at::tensor({0.2, 0.2, 0.3, 0.1, 0.0, 0.1, 0.1}, at::kFloat);
  // Other rows favour token 6 strongly: only the CLS row may matter.
  e.attention.narrow(1, 1, 6).select(2, 6).fill_(1.0);
  e.tokens = at::stack({at::arange(7, at::kFloat), at::arange(7, at::kFloat) * 10}, 1);  // token i = (i, 10 i)
  // [7, H=2, hd=2]: head 0 and head 1 differ; their mean is the metric written in the comment.
  const at::Tensor mean = matrix({5.0, 5.0,    // 0 CLS (dominant, unused)
                                  1.0, 0.0,    // 1 target A
                                  3.0, 3.0,    // 2 dominant
                                  1.0, 0.1,    // 3 -> A
                                  0.0, 1.0,    // 4 target B
                                  0.1, 1.0,    // 5 -> B
                                  0.0, 2.0},   // 6 -> B (norm does not matter)
                                 2);
  const at::Tensor offset = at::tensor({0.5, -0.25}, at::kFloat);
  e.keys = at::stack({mean + offset, mean - offset}, 1);  // head mean = `mean`
  return e;
}

}  // namespace

TEST_CASE("pruners: visionzip: dominant = CLS + top summed CLS attention, contextual = target + mean", "[pruners]") {
  const Example e = seven_tokens();
  const VisionZipResult r = visionzip_compress(e.attention, e.tokens, e.keys, /*dominant=*/2, /*contextual=*/2);
  CHECK(at::equal(r.dominant, longs({0, 2})));           // CLS sums: token 2 = 0.8 beats token 1 = 0.3
  CHECK(at::equal(r.remaining, longs({1, 3, 4, 5, 6})));
  CHECK(at::equal(r.targets, longs({0, 2})));            // step = 5 // 2 = 2: remaining tokens 1 and 4
  CHECK(at::equal(r.assigned, longs({0, 1, 1})));        // tokens 3, 5, 6
  // Rows: CLS, token 2, then token 1 + token 3 and token 4 + mean(token 5, token 6).
  const at::Tensor expected = matrix({0.0, 0.0, 2.0, 20.0, 4.0, 40.0, 9.5, 95.0}, 2);
  CHECK(at::allclose(r.features, expected));
}

TEST_CASE("pruners: visionzip: a contextual token is target + group mean, not a mass-preserving average",
          "[pruners]") {
  // What the official sum does to feature mass: each contextual row = target + mean(members), so
  // the rows sum to sum(targets) + sum(group means), not to the merged tokens' sum or mean.
  const Example e = seven_tokens();
  const VisionZipResult r = visionzip_compress(e.attention, e.tokens, e.keys, 2, 2);
  const at::Tensor contextual = r.features.narrow(0, 2, 2);
  const at::Tensor t = e.tokens;
  CHECK(at::allclose(contextual[1], t[4] + (t[5] + t[6]) / 2));
  CHECK_FALSE(at::allclose(contextual[1], (t[4] + t[5] + t[6]) / 3));  // not the group's average
  CHECK_FALSE(at::allclose(contextual[1], t[4] + t[5] + t[6]));         // nor its sum
  CHECK(at::allclose(contextual.sum(0), t[1] + t[4] + t[3] + (t[5] + t[6]) / 2));
  // A target nobody joins stays itself (counts clamp to 1 over a zero sum).
  const VisionZipResult lone = visionzip_compress(e.attention, e.tokens, e.keys, 2, 5);
  CHECK(at::equal(lone.targets, longs({0, 1, 2, 3, 4})));
  CHECK(at::allclose(lone.features.narrow(0, 2, 5), t.index_select(0, longs({1, 3, 4, 5, 6}))));
}

TEST_CASE("pruners: visionzip: 64 = 54 dominant (CLS included) + 10 contextual at targets 0, 52, ..., 468",
          "[pruners]") {
  // pruners.md §7.9 on CLIP-L/336: 577 tokens, 523 remain after the dominant 54, step 523 // 10 = 52.
  const LlavaConfig cfg = clip_config(336, 24);
  auto pruner = make_pruner("visionzip", Budget::parse("tokens:64"));
  const nlohmann::json j = pruner->resolve(cfg);
  CHECK(j.at("dominant") == 54);
  CHECK(j.at("contextual") == 10);
  CHECK(pruner->nominal_kept() == 64);
  CHECK(pruner->vision_attention_layers() == std::set<int64_t>{22});
  CHECK(pruner->vision_qk_layers() == std::set<int64_t>{22});
  for (const auto& [tokens, dominant, contextual] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{128, 108, 20}, {192, 162, 30}}) {
    auto p = make_pruner("visionzip", Budget::parse("tokens:" + std::to_string(tokens)));
    const nlohmann::json jj = p->resolve(cfg);
    CHECK(jj.at("dominant") == dominant);
    CHECK(jj.at("contextual") == contextual);
  }
  auto custom = make_pruner("visionzip:contextual=0", Budget::parse("tokens:64"));
  CHECK(custom->resolve(cfg).at("dominant") == 64);

  // Attention: the CLS row favours patches 100..152 (tokens 101..153), so the dominant set is known.
  const int64_t t = 577;
  at::Tensor attention = at::zeros({1, t, t}, at::kFloat);
  attention[0][0].fill_(0.001);
  attention[0][0].narrow(0, 101, 53).fill_(0.01);
  const at::Tensor tokens = at::randn({t, 8}, at::kFloat);
  const at::Tensor keys = at::randn({t, 2, 4}, at::kFloat);
  const VisionZipResult r = visionzip_compress(attention, tokens, keys, 54, 10);
  std::vector<int64_t> dom = {0};
  for (int64_t i = 101; i < 154; ++i) dom.push_back(i);
  CHECK(at::equal(r.dominant, longs(dom)));
  CHECK(r.remaining.size(0) == 523);
  CHECK(at::equal(r.targets, at::arange(0, 469, 52, at::kLong)));
  CHECK(r.targets[9].item<int64_t>() == 468);
  CHECK(r.features.size(0) == 64);
  CHECK(at::equal(r.features.narrow(0, 0, 54), tokens.index_select(0, longs(dom))));
}

TEST_CASE("pruners: visionzip: rows record their own patch, CLS the smallest patch index left", "[pruners]") {
  // A 2x2 grid (28 px / 14), 3 tower layers, feature layer -2: attention and keys of layer 1.
  const LlavaConfig cfg = clip_config(28, 3);
  auto pruner = make_pruner("visionzip:contextual=1", Budget::parse("tokens:3"));
  pruner->resolve(cfg);
  at::Tensor attention = at::zeros({1, 5, 5}, at::kFloat);
  attention[0][0] = at::tensor({0.2, 0.5, 0.1, 0.1, 0.1}, at::kFloat);  // patch 0 (token 1) dominant
  const std::vector<at::Tensor> attentions = {at::Tensor(), attention};
  const at::Tensor tokens = at::arange(10, at::kFloat).view({5, 2});
  const at::Tensor keys = matrix({1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.1}, 2);
  std::vector<std::pair<at::Tensor, at::Tensor>> qk(3);
  qk[1] = {keys, keys};  // q unused
  const at::Tensor features = tokens.narrow(0, 1, 4);
  VisionStageInput input{features, attentions, false};
  input.tokens = &tokens;
  input.qk = &qk;
  const VisionStageOutput out = pruner->reduce_before_projector(input);
  // Rows: CLS, token 1 (patch 0), then target token 2 (patch 1) with tokens 3, 4 -> 3 + mean.
  // CLS records the smallest patch index no other row uses: 2.
  CHECK(at::equal(out.kept, longs({2, 0, 1})));
  const at::Tensor expected = at::stack({tokens[0], tokens[1], tokens[2] + (tokens[3] + tokens[4]) / 2});
  CHECK(at::allclose(out.features, expected));
}

}  // namespace pb::test
