#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include <torch/serialize.h>

#include "io/json_file.h"
#include "pipeline/model_loader.h"
#include "test_files.h"
#include "synth/sample.h"
#include "train/batched_forward.h"
#include "train/patch_heads.h"
#include "train/symbol_tokens.h"
#include "train/synth_batches.h"
#include "train/train_synth.h"
#include "test_paths.h"

namespace pb::test {
namespace {

// A narrow model of the SynthVQA architecture, so the tests train in seconds.
std::string synth_config() { return data_path("train/narrow_synth_config.json"); }
std::string synth_tokenizer() { return std::string(PB_SOURCE_DIR) + "/models/synthvqa-tiny/tokenizer.model"; }

// Quiet fp32 training of the narrow model in `work_dir`, without evaluation; tests set the schedule.
TrainSynthOptions quiet_options(const std::string& work_dir) {
  TrainSynthOptions o;
  o.config = synth_config();
  o.tokenizer = synth_tokenizer();
  o.work_dir = work_dir;
  o.eval_samples = 0;
  o.quiet = true;
  o.precision = "fp32";
  return o;
}

// 16 steps of 2 samples at a rate that lowers the loss by more than a nat, logged every 4 steps.
TrainSynthOptions sixteen_steps(const std::string& work_dir) {
  TrainSynthOptions o = quiet_options(work_dir);
  o.steps = 16;
  o.batch = 2;
  o.lr = 3e-3;
  o.warmup = 4;
  o.log_every = 4;
  return o;
}

// `o` as four steps at a negligible learning rate from `init_from` in a new work folder: they measure
// where such a run starts.
TrainSynthOptions four_steps_from(TrainSynthOptions o, const std::string& work_dir, const std::string& init_from) {
  o.work_dir = work_dir;
  o.export_dir.clear();
  o.init_from = init_from;
  o.steps = 4;
  o.lr = 1e-8;
  o.checkpoint_every = 4;
  return o;
}

// The first SynthVQA val sample (a colour question, one turn) as a batch for `model`.
TrainingBatch first_val_batch(const LlavaConfig& cfg, const LlavaModelImpl& model) {
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  return collate({make_synth_example(tok, cfg, "val", 0, 0)}, cfg.vision.image_size, model.image_tokens());
}

}  // namespace

TEST_CASE("train: the batched training forward equals the inference prefill, row by row", "[train]") {
  c10::InferenceMode guard;
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto model = LlavaModelImpl::random(cfg, ModelOptions{}, 3);
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  // Samples 0 and 5 (colour, reading) as conversations of 1 and 3 turns: different lengths, so
  // row 0 is padded.
  std::vector<SynthExample> examples = {make_synth_example(tok, cfg, "val", 0, 0),
                                        make_synth_example(tok, cfg, "val", 0, 5, 3)};
  const TrainingBatch batch = collate(examples, cfg.vision.image_size, model->image_tokens());
  const at::Tensor logits = batched_logits(*model, batch);  // [2, L, V]
  for (size_t i = 0; i < examples.size(); ++i) {
    const SynthExample& e = examples[i];
    const std::vector<int64_t>& ids = e.ids;
    const at::Tensor pixels = batch.pixels[static_cast<int64_t>(i)];
    Session session;
    const at::Tensor ref = model->prefill(model->splice(ids, model->encode_image(pixels).image_embeds), session, nullptr, true, 1);
    const at::Tensor got = logits[static_cast<int64_t>(i)].narrow(0, 0, ref.size(0));
    INFO("row " << i << " max|diff| " << (got - ref).abs().max().item<double>() << " max|ref| " << ref.abs().max().item<double>());
    CHECK((got - ref).abs().max().item<double>() <= 1e-4 * ref.abs().max().item<double>());
  }
  // Targets: every turn's answer tokens and EOS, each predicted from the position before it; the
  // conversation starts with exactly the evaluation prompt.
  const int64_t image_tokens = model->image_tokens();
  const SynthExample& e = examples[1];
  REQUIRE(std::equal(e.prompt_ids.begin(), e.prompt_ids.end(), e.ids.begin()));
  const auto prompt_len = static_cast<int64_t>(e.prompt_ids.size());
  const at::Tensor row = batch.targets[1];
  const int64_t targets = std::count(e.is_target.begin(), e.is_target.end(), 1);
  CHECK(row.ne(-100).sum().item<int64_t>() == targets);
  CHECK(std::count(e.ids.begin(), e.ids.end(), 2) == 3);  // three turns, each ends with EOS
  CHECK(e.is_target[static_cast<size_t>(prompt_len)] == 1);
  CHECK(row[prompt_len - 1 + image_tokens - 1].item<int64_t>() == e.ids[static_cast<size_t>(prompt_len)]);
  // Each target names its turn: answers 0, 1, 2 in order, each ending at its EOS.
  const at::Tensor answer_of = batch.answer_of[1].masked_select(row.ne(-100));
  CHECK(answer_of.min().item<int64_t>() == 0);
  CHECK(answer_of.max().item<int64_t>() == 2);
  CHECK((answer_of.narrow(0, 1, answer_of.size(0) - 1) - answer_of.narrow(0, 0, answer_of.size(0) - 1)).ge(0).all().item<bool>());
  CHECK(row.masked_select(row.ne(-100)).eq(2).sum().item<int64_t>() == 3);
}

TEST_CASE("train: a few optimiser steps lower the loss, and a stopped and resumed run ends bit for bit where an uninterrupted one does", "[train]") {
  TempDir dir;
  TrainSynthOptions o = sixteen_steps(dir.file("work"));
  o.checkpoint_every = 8;
  const TrainSynthResult full = train_synth(o);
  INFO("first " << full.first_loss << " last " << full.last_loss);
  CHECK(full.last_loss < full.first_loss - 1.0);  // more than a nat lower after 16 steps

  // The same 16 steps as 8, a stop, and a resumed 8 land on the same weights and loss.
  TrainSynthOptions half = o;
  half.work_dir = dir.file("resumed");
  half.stop_after = 8;
  const TrainSynthResult first = train_synth(half);
  CHECK(first.steps_done == 8);
  const TrainSynthResult second = train_synth(half);
  CHECK(second.steps_done == 16);
  CHECK(second.last_loss == full.last_loss);
  const TrainSynthResult done = train_synth(half);  // finished: nothing left to do
  CHECK(done.steps_done == 16);
}

TEST_CASE("train: resuming with the other precision is refused unless allowed, and an allowed switch is recorded", "[train]") {
  TempDir dir;
  TrainSynthOptions o = quiet_options(dir.file("work"));
  o.steps = 4;
  o.stop_after = 2;
  o.batch = 1;
  o.turns = 1;
  o.checkpoint_every = 2;
  REQUIRE(train_synth(o).steps_done == 2);

  TrainSynthOptions other = o;
  other.precision = "bf16";
  CHECK_THROWS_WITH(train_synth(other), Catch::Matchers::Contains("other settings") &&
                                            Catch::Matchers::Contains("--allow-precision-change"));
  TrainSynthOptions other_lr = other;  // anything else changed is refused even with the flag
  other_lr.lr = o.lr * 2;
  other_lr.allow_precision_change = true;
  CHECK_THROWS_WITH(train_synth(other_lr), !Catch::Matchers::Contains("--allow-precision-change"));

  other.allow_precision_change = true;
  CHECK(train_synth(other).steps_done == 4);
  const nlohmann::json state = read_json_file(dir.file("work") + "/checkpoint/state.json");
  CHECK(state["key"]["precision"] == "bf16");
  CHECK(state["precision_history"] == nlohmann::json::parse(
                                          R"([{"from_step":0,"precision":"fp32"},{"from_step":2,"precision":"bf16"}])"));
}

TEST_CASE("train: --init-from starts from a checkpoint's weights with a fresh schedule, and is part of the resume key", "[train]") {
  TempDir dir;
  TrainSynthOptions o = sixteen_steps(dir.file("trained"));
  o.checkpoint_every = 16;
  const TrainSynthResult trained = train_synth(o);
  REQUIRE(trained.last_loss < trained.first_loss - 1.0);

  // It starts near the trained loss, not at the random model's.
  const TrainSynthOptions next = four_steps_from(o, dir.file("next"), dir.file("trained") + "/checkpoint");
  const TrainSynthResult continued = train_synth(next);
  INFO("random start " << trained.first_loss << ", trained " << trained.last_loss << ", continued " << continued.first_loss);
  CHECK(continued.first_loss < trained.first_loss - 0.5);
  const nlohmann::json state = read_json_file(dir.file("next") + "/checkpoint/state.json");
  CHECK(state["key"].contains("init_from"));
  CHECK(!read_json_file(dir.file("trained") + "/checkpoint/state.json")["key"].contains("init_from"));

  TrainSynthOptions forgot = next;  // resuming it without --init-from is another trajectory
  forgot.init_from.clear();
  forgot.steps = 8;
  CHECK_THROWS_WITH(train_synth(forgot), Catch::Matchers::Contains("other settings"));
}

TEST_CASE("train: --init-from an exported model, which has no training-only heads, starts from its weights with fresh heads", "[train]") {
  TempDir dir;
  TrainSynthOptions o = sixteen_steps(dir.file("trained"));
  o.patch_loss_weight = 1;  // so the run has patch heads, which an export leaves behind
  o.export_dir = dir.file("exported");
  const TrainSynthResult trained = train_synth(o);
  REQUIRE(trained.last_loss < trained.first_loss - 1.0);
  REQUIRE_FALSE(std::filesystem::exists(dir.file("exported") + "/patch_heads.pt"));

  const TrainSynthResult continued = train_synth(four_steps_from(o, dir.file("next"), dir.file("exported")));
  INFO("random start " << trained.first_loss << ", trained " << trained.last_loss << ", continued " << continued.first_loss);
  CHECK(continued.first_loss < trained.first_loss - 0.5);
  CHECK(std::filesystem::exists(dir.file("next") + "/checkpoint/patch_heads.pt"));
}

TEST_CASE("train: --center-image-embeds moves the first full batch's mean projector output into the bias", "[train]") {
  TempDir dir;
  TrainSynthOptions o = quiet_options(dir.file("centred"));
  o.steps = 1;
  o.batch = 2;
  o.turns = 1;
  o.lr = 1e-20;  // the step itself must not move the weights measurably
  o.warmup = 1;
  o.log_every = 1;
  o.checkpoint_every = 1;
  o.center_image_embeds = true;
  train_synth(o);
  TrainSynthOptions plain = o;
  plain.work_dir = dir.file("plain");
  plain.center_image_embeds = false;
  train_synth(plain);

  // The same first batch through each saved model: the centred one's mean image embedding is ~0.
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  std::vector<SynthExample> examples;
  for (int64_t i = 0; i < o.batch; ++i) examples.push_back(make_synth_example(tok, cfg, "train", o.seed, i, o.turns));
  auto mean_norm = [&](const std::string& work) {
    c10::InferenceMode guard;
    const auto model = LlavaModelImpl::load(work + "/checkpoint", ModelOptions{});
    const TrainingBatch batch = collate(examples, cfg.vision.image_size, model->image_tokens());
    return model->project(batched_vision_features(*model, batch).flatten(0, 1)).mean(0).norm().item<double>();
  };
  const double centred = mean_norm(dir.file("centred")), before = mean_norm(dir.file("plain"));
  INFO("mean image embedding norm: centred " << centred << ", plain " << before);
  CHECK(before > 0.01);
  CHECK(centred < 1e-4 * before);
  CHECK(read_json_file(dir.file("centred") + "/checkpoint/state.json")["key"]["center_image_embeds"] == true);
}

TEST_CASE("train: the loss reaches every trained parameter, the vision tower's included", "[train]") {
  const LlavaConfig cfg = load_llava_config(synth_config());
  auto model = LlavaModelImpl::random(cfg, ModelOptions{}, 3);
  for (at::Tensor& p : model->parameters()) p.set_requires_grad(true);
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  std::vector<SynthExample> examples = {make_synth_example(tok, cfg, "train", 0, 0, 4),
                                        make_synth_example(tok, cfg, "train", 0, 1, 4)};
  const TrainingBatch batch = collate(examples, cfg.vision.image_size, model->image_tokens());
  batch_loss(*model, batch).loss.backward();
  int64_t with_gradient = 0;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    // The one CLIP layer past the feature layer exists only for its q/k probe (PruMerge+): LLaVA
    // never runs it, so nothing flows back to it.
    const bool probe_only = name.find("encoder.layers." + std::to_string(cfg.vision.num_hidden_layers - 1) + ".") !=
                            std::string::npos;
    const at::Tensor grad = item.value().grad();
    INFO(name);
    if (probe_only) {
      CHECK((!grad.defined() || grad.abs().max().item<double>() == 0.0));
      continue;
    }
    REQUIRE(grad.defined());
    CHECK(grad.abs().max().item<double>() > 0.0);
    ++with_gradient;
  }
  CHECK(with_gradient > 20);
}

TEST_CASE("train: the symbolic stage trains the language model alone and lowers its loss; the alignment stage trains tower and projector alone", "[train]") {
  TempDir dir;
  TrainSynthOptions o = sixteen_steps(dir.file("symbolic"));
  o.symbolic_steps = 12;
  o.align_steps = 4;
  o.steps = 20;
  o.checkpoint_every = 100;
  auto checkpoint = [&] {
    c10::InferenceMode guard;
    std::map<std::string, at::Tensor> weights;
    const auto model = LlavaModelImpl::load(o.work_dir + "/checkpoint", ModelOptions{});  // owns the mapped file
    for (const auto& item : model->named_parameters()) {
      weights[item.key()] = item.value().clone();
    }
    return weights;
  };
  // Which weights moved between two checkpoints: {vision tower, projector, language model}.
  auto moved = [](const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
    std::array<bool, 3> out{false, false, false};
    for (const auto& [name, w] : a) {
      const size_t part = name.rfind("vision_tower.", 0) == 0 ? 0 : name.rfind("multi_modal_projector.", 0) == 0 ? 1 : 2;
      if (!at::equal(w, b.at(name))) out[part] = true;
    }
    return out;
  };
  o.stop_after = 4;
  train_synth(o);
  const auto first = checkpoint();
  o.stop_after = 8;
  train_synth(o);
  const auto symbolic = checkpoint();
  o.stop_after = 4;
  train_synth(o);
  const auto aligned = checkpoint();
  CHECK(moved(first, symbolic) == std::array<bool, 3>{false, false, true});
  CHECK(moved(symbolic, aligned) == std::array<bool, 3>{true, true, false});
  o.stop_after = 0;
  train_synth(o);  // full steps: everything moves
  CHECK(moved(aligned, checkpoint()) == std::array<bool, 3>{true, true, true});

  // The log: three windows of symbolic steps with falling answer loss, then alignment steps whose
  // loss falls too, then full steps that also carry the alignment loss.
  std::vector<nlohmann::json> entries;
  std::ifstream log(o.work_dir + "/train_log.jsonl");
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("stage")) entries.push_back(j);
  }
  REQUIRE(entries.size() == 5);
  CHECK(entries[0]["stage"] == "symbolic");
  CHECK(entries[2]["stage"] == "symbolic");
  CHECK(entries[3]["stage"] == "align");
  CHECK(entries[4]["stage"] == "full");
  CHECK(entries[2]["loss"].get<double>() < entries[0]["loss"].get<double>() - 1.0);
  CHECK(entries[0].contains("answer_accuracy"));
  CHECK(entries[4].contains("align_loss"));
  const auto key = read_json_file(o.work_dir + "/checkpoint/state.json")["key"];
  CHECK(key["symbolic_steps"] == 12);
  CHECK(key["align_steps"] == 4);
}

TEST_CASE("train: symbolic tokens sum a patch's label, slot, centre, row and column embeddings, colour and shape tied to their words", "[train]") {
  c10::InferenceMode guard;
  const std::vector<int64_t> colour_words = {10, 11, 12, 13, 14, 15}, shape_words = {20, 21, 22, 23, 24};
  const SymbolTokens symbols(8, 2, 5, colour_words, shape_words);
  const at::Tensor words = at::randn({30, 8});  // [V, D]
  at::Tensor labels = at::zeros({1, kPatchLabelRows, 4}, at::kLong);  // a 2x2 grid
  labels[0][kLabelColour][3] = 2;     // patch 3 (row 1, column 1): a green (Colour 1) ...
  labels[0][kLabelShape][3] = 3;      // ... triangle (Shape 2) ...
  labels[0][kLabelCentre][3] = 1;     // ... whose centre it holds
  labels[0][kLabelCharacter][1] = 4;  // patch 1 (row 0, column 1): the sign's second character
  labels[0][kLabelSlot][1] = 2;
  const at::Tensor out = symbols->forward(labels, words);  // [1, 4, 8]
  auto table = [&](const char* name) { return symbols->named_parameters()[name]; };
  const at::Tensor empty = table("character")[0] + table("slot")[0];
  const at::Tensor background = table("colour")[0] + table("shape")[0];
  CHECK(at::allclose(out[0][0], background + empty + table("centre")[0] + table("row")[0] + table("column")[0]));
  CHECK(at::allclose(out[0][1], background + table("character")[4] + table("slot")[2] + table("centre")[0] + table("row")[0] +
                                    table("column")[1]));
  CHECK(at::allclose(out[0][3], words[11] + words[22] + empty + table("centre")[1] + table("row")[1] + table("column")[1]));
  // Zero-initialised tables: a token starts as its words alone, and a background token as nothing.
  const SymbolTokens zeroed(8, 2, 5, colour_words, shape_words, /*zero_init=*/true);
  const at::Tensor start = zeroed->forward(labels, words);
  CHECK(at::equal(start[0][3], words[11] + words[22]));
  CHECK(start[0][0].abs().max().item<double>() == 0.0);
}

TEST_CASE("train: hidden keys take image tokens out of every query's view", "[train]") {
  c10::InferenceMode guard;
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto model = LlavaModelImpl::random(cfg, ModelOptions{}, 3);
  TrainingBatch batch = first_val_batch(cfg, *model);
  const int64_t p = model->image_tokens(), first = batch.image_pos, after = first + p;
  const at::Tensor image = at::randn({1, p, cfg.text.hidden_size});  // [1, P, D]
  batch.hidden_keys = at::zeros(batch.targets.sizes(), at::kBool);
  batch.hidden_keys.narrow(1, first, p / 2).fill_(true);  // the first half of the image
  at::Tensor changed = image.clone();
  changed.narrow(1, 0, p / 2).add_(1.0);                  // content that only hidden tokens carry
  const at::Tensor a = batched_logits(*model, batch, image), b = batched_logits(*model, batch, changed);
  const at::Tensor text_after = a.narrow(1, after, a.size(1) - after) - b.narrow(1, after, b.size(1) - after);
  CHECK(text_after.abs().max().item<double>() == 0.0);  // no text position sees the hidden half
  at::Tensor visible = image.clone();
  visible.narrow(1, p / 2, p / 2).add_(1.0);  // the visible half does reach the text
  const at::Tensor c = batched_logits(*model, batch, visible);
  CHECK((a.narrow(1, after, a.size(1) - after) - c.narrow(1, after, c.size(1) - after)).abs().max().item<double>() > 1e-3);
}

TEST_CASE("train: --question-types draws the training stream from those types only, in turn", "[train]") {
  const std::vector<int64_t> slots = question_type_slots({"reading", "colour"});
  REQUIRE(slots == std::vector<int64_t>{5, 0});
  std::vector<int64_t> seen;
  for (int64_t k = 0; k < 6; ++k) {
    const int64_t index = typed_stream_index(slots, k);
    seen.push_back(index);
    CHECK(synth::question_type_name(synth::make_sample("train", 0, index).question.type) == std::string(k % 2 == 0 ? "reading" : "colour"));
  }
  CHECK(seen == std::vector<int64_t>{5, 0, 11, 6, 17, 12});  // every sample of those types, none twice
  CHECK(typed_stream_index({}, 7) == 7);
  CHECK_THROWS_WITH(question_type_slots({"color"}), Catch::Contains("unknown type 'color'"));
  // A type named twice comes twice per round, with distinct samples: reading's 0th, 1st, 2nd, ...
  const std::vector<int64_t> weighted = question_type_slots({"reading", "count", "reading"});
  std::vector<int64_t> drawn;
  for (int64_t k = 0; k < 6; ++k) drawn.push_back(typed_stream_index(weighted, k));
  CHECK(drawn == std::vector<int64_t>{5, 2, 11, 17, 8, 23});
}

TEST_CASE("train: a log window ends with its stage", "[train]") {
  TempDir dir;
  TrainSynthOptions o = quiet_options(dir.file("stages"));
  o.steps = 3;
  o.symbolic_steps = 1;
  o.align_steps = 1;
  o.batch = 1;
  o.turns = 1;
  o.log_every = 10;  // longer than the run: only stage ends and the last step close a window
  train_synth(o);
  std::vector<std::pair<int64_t, std::string>> windows;
  std::ifstream log(o.work_dir + "/train_log.jsonl");
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("stage")) windows.emplace_back(j["step"].get<int64_t>(), j["stage"].get<std::string>());
  }
  CHECK(windows == std::vector<std::pair<int64_t, std::string>>{{1, "symbolic"}, {2, "align"}, {3, "full"}});
}

TEST_CASE("train: --init-parts vision takes the tower from --init-from and starts projector and LLM fresh", "[train]") {
  TempDir dir;
  TrainSynthOptions source = sixteen_steps(dir.file("source"));
  source.steps = 2;
  train_synth(source);
  TrainSynthOptions o = quiet_options(dir.file("vision-only"));
  o.init_from = source.work_dir + "/checkpoint";
  o.init_parts = "vision";
  o.steps = 1;
  o.batch = 1;
  o.turns = 1;
  o.lr = 1e-20;  // the one step must not move the weights measurably
  o.warmup = 1;
  train_synth(o);
  c10::InferenceMode guard;
  const auto trained = LlavaModelImpl::load(source.work_dir + "/checkpoint", ModelOptions{});
  const auto started = LlavaModelImpl::load(o.work_dir + "/checkpoint", ModelOptions{});
  const auto fresh = LlavaModelImpl::random(load_llava_config(synth_config()), ModelOptions{}, o.seed);
  auto from_trained = trained->named_parameters(), from_fresh = fresh->named_parameters();
  int64_t tower = 0, rest = 0;
  for (const auto& item : started->named_parameters()) {
    const bool in_tower = item.key().rfind("vision_tower.", 0) == 0;
    const at::Tensor& want = in_tower ? from_trained[item.key()] : from_fresh[item.key()];
    INFO(item.key());
    CHECK(at::allclose(item.value(), want, 0.0, 1e-12));
    (in_tower ? tower : rest) += 1;
  }
  CHECK(tower > 10);
  CHECK(rest > 10);
  // The trained run did move the language model: its weights are not the fresh ones.
  CHECK_FALSE(at::equal(from_trained["language_model.embed_tokens.weight"], from_fresh["language_model.embed_tokens.weight"]));
  CHECK(read_json_file(o.work_dir + "/checkpoint/state.json")["key"]["init_parts"] == "vision");
}

TEST_CASE("train: a run that goes on from a curriculum checkpoint starts from its symbol tables", "[train]") {
  TempDir dir;
  TrainSynthOptions source = sixteen_steps(dir.file("source"));
  source.steps = 2;
  source.symbolic_steps = 2;
  train_synth(source);
  TrainSynthOptions o = quiet_options(dir.file("next"));
  o.init_from = source.work_dir + "/checkpoint";
  o.steps = 1;
  o.symbolic_steps = 1;
  o.batch = 1;
  o.turns = 1;
  o.lr = 1e-20;  // the one step must not move the weights measurably
  o.warmup = 1;
  train_synth(o);
  const LlavaConfig cfg = load_llava_config(synth_config());
  auto tables = [&](const std::string& file) {
    SymbolTokens symbols(cfg.text.hidden_size, cfg.vision.image_size / cfg.vision.patch_size, 99);
    torch::load(symbols, file);
    return symbols->named_parameters()["colour"].clone();
  };
  const at::Tensor trained = tables(source.work_dir + "/checkpoint/symbol_tokens.pt");
  const at::Tensor started = tables(o.work_dir + "/checkpoint/symbol_tokens.pt");
  const SymbolTokens fresh(cfg.text.hidden_size, cfg.vision.image_size / cfg.vision.patch_size, o.seed + 2);
  CHECK(at::allclose(started, trained, 0.0, 1e-12));
  CHECK_FALSE(at::allclose(fresh->named_parameters()["colour"], trained, 0.0, 1e-12));  // the source did train them
}


TEST_CASE("train: a question names objects (or the sign) by words whose last token attention supervision finds", "[train]") {
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  for (int64_t index = 0; index < 6; ++index) {  // one sample of each type (kQuestionTypes order)
    const synth::Sample s = synth::make_sample("val", 0, index);
    const SynthExample e = make_synth_example(tok, cfg, "val", 0, index, 1);
    const std::vector<Mention> mentions = question_mentions(s.question, e.patch_labels);
    REQUIRE(e.focus.size() == mentions.size());
    REQUIRE(!mentions.empty());
    const auto p = static_cast<int64_t>(mentions[0].patches.size());
    const auto image = std::find(e.ids.begin(), e.ids.end(), -200) - e.ids.begin();  // the image marker
    for (size_t k = 0; k < mentions.size(); ++k) {
      const Mention& m = mentions[k];
      CHECK(e.focus[k].patches == m.patches);
      // The mention's token is the one that completes its words in the text after the image.
      auto text_until = [&](int64_t last) {
        std::vector<int32_t> ids;
        for (int64_t j = image + 1; j <= last; ++j) ids.push_back(static_cast<int32_t>(e.ids[static_cast<size_t>(j)]));
        return tok.decode(ids);
      };
      CHECK_THAT(text_until(e.focus[k].token), Catch::Contains(m.words));
      CHECK_THAT(text_until(e.focus[k].token - 1), !Catch::Contains(m.words));
      int64_t on = 0;
      for (int64_t i = 0; i < p; ++i) {
        const int64_t colour = e.patch_labels[static_cast<size_t>(kLabelColour * p + i)];
        const int64_t shape = e.patch_labels[static_cast<size_t>(kLabelShape * p + i)];
        const int64_t character = e.patch_labels[static_cast<size_t>(kLabelCharacter * p + i)];
        bool want = false;
        if (m.words == "sign") {
          want = character > 0;
        } else {
          const synth::Question::Referent& r = s.question.referents[k];
          want = shape > 0 && (!r.shape || shape == 1 + static_cast<int64_t>(*r.shape)) &&
                 (!r.colour || colour == 1 + static_cast<int64_t>(*r.colour));
        }
        CHECK((m.patches[static_cast<size_t>(i)] != 0) == want);
        on += want ? 1 : 0;
      }
      if (s.question.type != synth::QuestionType::kExists) CHECK(on > 0);  // what is asked about is visible
    }
  }
  // The words are found as whole words of the question, in its own tokens.
  const std::vector<int64_t> ids = [&] {
    std::vector<int64_t> out;
    for (int32_t id : tok.encode("USER: How many red objects are there? ASSISTANT:")) out.push_back(id);
    return out;
  }();
  const int64_t at = mention_token(tok, ids, 0, static_cast<int64_t>(ids.size()), "How many red objects are there?", "red");
  CHECK(tok.decode({static_cast<int32_t>(ids[static_cast<size_t>(at)])}).find("red") != std::string::npos);
  CHECK_THROWS_WITH(mention_token(tok, ids, 0, static_cast<int64_t>(ids.size()), "How many red objects are there?", "blue"),
                    Catch::Contains("'blue' is not in the question"));
  CHECK_THROWS_WITH(mention_token(tok, ids, 0, static_cast<int64_t>(ids.size()), "What color is the star?", "star"),
                    Catch::Contains("is not in its tokens"));
  // "Is there a red star?" answered "no" names nothing in the image: an empty focus.
  synth::Question absent;
  absent.referents = {{synth::Shape::kStar, synth::Colour::kRed}};
  std::vector<int64_t> labels(static_cast<size_t>(kPatchLabelRows * 4), 0);
  labels[static_cast<size_t>(kLabelShape * 4 + 1)] = 1 + static_cast<int64_t>(synth::Shape::kStar);
  labels[static_cast<size_t>(kLabelColour * 4 + 1)] = 1 + static_cast<int64_t>(synth::Colour::kBlue);
  CHECK(question_mentions(absent, labels)[0].patches == std::vector<uint8_t>(4, 0));
  CHECK(question_mentions(absent, labels)[0].words == "red star");
  absent.referents[0].colour = synth::Colour::kBlue;
  CHECK(question_mentions(absent, labels)[0].patches == std::vector<uint8_t>{0, 1, 0, 0});
}

TEST_CASE("train: attention supervision is -log of the attention mass a mention puts on what it names, and routing that of the answer on the mention", "[train]") {
  c10::InferenceMode guard;
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto model = LlavaModelImpl::random(cfg, ModelOptions{}, 3);
  TrainingBatch batch = first_val_batch(cfg, *model);
  const int64_t p = model->image_tokens(), first = batch.image_pos;
  REQUIRE(batch.focus.size(1) == 1);  // a colour question names one object
  const at::Tensor focus = batch.focus[0][0];  // [P]
  REQUIRE(focus.any().item<bool>());
  CHECK(batch.focus_query[0][0].item<int64_t>() > first + p);
  const AttentionSupervision mentions{0};
  const AttentionSupervision routes{0, 1};
  auto heads = [&](int64_t n) {
    AttentionSupervision s = routes;
    s.heads = n;
    return s;
  };
  const BatchLoss open = batch_loss(*model, batch, {}, mentions);
  REQUIRE(open.attention_loss.defined());
  CHECK(open.focused_mentions == 1);
  CHECK(open.focus_mass > 0.0);
  CHECK(open.focus_mass < 1.0);
  CHECK(open.attention_loss.item<double>() == Approx(-std::log(open.focus_mass + 1e-6)).epsilon(1e-4));
  // Hiding the other image patches gives the focus more of the mention's attention (layer 0 reads the
  // embeddings, which no mask changes, so only the softmax's denominator shrinks).
  batch.hidden_keys = at::zeros(batch.targets.sizes(), at::kBool);
  batch.hidden_keys.narrow(1, first, p).copy_(~focus.unsqueeze(0));
  const BatchLoss only = batch_loss(*model, batch, {}, mentions);
  CHECK(only.focus_mass > 5 * open.focus_mass);
  // Everything after the mention is invisible to it: hiding it changes nothing.
  const int64_t query = batch.focus_query[0][0].item<int64_t>();
  batch.hidden_keys.zero_();
  batch.hidden_keys.narrow(1, query + 1, batch.targets.size(1) - query - 1).fill_(true);
  CHECK(batch_loss(*model, batch, {}, mentions).focus_mass == Approx(open.focus_mass).epsilon(1e-5));
  // Hiding the focus patches leaves no mass on them: -log(1e-6).
  batch.hidden_keys.zero_();
  batch.hidden_keys.narrow(1, first, p).copy_(focus.unsqueeze(0));
  const BatchLoss none = batch_loss(*model, batch, {}, mentions);
  CHECK(none.focus_mass == 0.0);
  CHECK(none.attention_loss.item<double>() == Approx(-std::log(1e-6)).epsilon(1e-4));
  // Off by default.
  CHECK_FALSE(batch_loss(*model, batch).attention_loss.defined());
  // Answers are also counted per question type: one colour answer (kQuestionTypes[0]).
  const BatchLoss typed = batch_loss(*model, batch);
  CHECK(typed.answers_by_type == std::vector<int64_t>{1});
  CHECK(typed.correct_answers_by_type == std::vector<int64_t>{typed.correct_answers});
  CHECK_FALSE(batch_loss(*model, batch, {}, mentions).route_loss.defined());

  // Routing: the position that predicts the answer, one layer later, attends to the mention's token.
  batch.hidden_keys = at::Tensor();
  const BatchLoss routed = batch_loss(*model, batch, {}, routes);
  REQUIRE(routed.route_loss.defined());
  CHECK(routed.routed_answers == 1);
  CHECK(routed.route_mass > 0.0);
  CHECK(routed.route_loss.item<double>() == Approx(-std::log(routed.route_mass + 1e-6)).epsilon(1e-4));
  CHECK(routed.focus_mass == Approx(open.focus_mass).epsilon(1e-6));  // the mention loss is unchanged
  // --supervised-heads: the mean over the first heads only; the two heads' masses average to the whole's.
  const BatchLoss first_head = batch_loss(*model, batch, {}, heads(1));
  CHECK(std::abs(first_head.focus_mass - open.focus_mass) > 1e-6);
  CHECK(batch_loss(*model, batch, {}, heads(2)).focus_mass == Approx(open.focus_mass).epsilon(1e-6));
  CHECK_THROWS_WITH(batch_loss(*model, batch, {}, heads(3)), Catch::Contains("--supervised-heads 3"));
  batch.hidden_keys = at::zeros(batch.targets.sizes(), at::kBool);
  batch.hidden_keys[0][query] = true;  // the mention's token out of view
  CHECK(batch_loss(*model, batch, {}, routes).route_mass == 0.0);
}


TEST_CASE("train: count mentions aim at their objects' centres, reading answers at the sign slots they spell", "[train]") {
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  const auto p = cfg.vision.image_size / cfg.vision.patch_size * (cfg.vision.image_size / cfg.vision.patch_size);
  // Sample 2 of val is a count question: one counted mention, one centre patch per counted object.
  const synth::Sample count = synth::make_sample("val", 0, 2);
  REQUIRE(count.question.type == synth::QuestionType::kCount);
  const SynthExample counted = make_synth_example(tok, cfg, "val", 0, 2, 1);
  REQUIRE(counted.focus.size() == 1);
  CHECK(!counted.focus[0].centres.empty());
  int64_t centres = 0;
  for (int64_t i = 0; i < p; ++i) {
    if (counted.focus[0].centres[static_cast<size_t>(i)] == 0) continue;
    ++centres;
    CHECK(counted.patch_labels[static_cast<size_t>(kLabelCentre * p + i)] == 1);
    CHECK(counted.focus[0].patches[static_cast<size_t>(i)] == 1);  // a centre of a matching object
  }
  CHECK(std::to_string(centres) == count.question.answer);
  // Other questions' mentions are not counted.
  const SynthExample colour = make_synth_example(tok, cfg, "val", 0, 0, 1);
  CHECK(colour.focus[0].centres.empty());
  // Routing aims at the position that predicts the count's digit, not the bare "▁" before it; a colour
  // answer's first token already says something.
  const int64_t answer_at = static_cast<int64_t>(counted.prompt_ids.size());
  REQUIRE(tok.id_to_piece(static_cast<int32_t>(counted.ids[static_cast<size_t>(answer_at)])) == "\u2581");
  REQUIRE(counted.routed_tokens.size() == 1);
  CHECK(counted.routed_tokens[0] == answer_at + 1);
  CHECK(tok.decode({static_cast<int32_t>(counted.ids[static_cast<size_t>(answer_at + 1)])}) == count.question.answer);
  CHECK(colour.routed_tokens == std::vector<int64_t>{static_cast<int64_t>(colour.prompt_ids.size())});
  const TrainingBatch routed = collate({counted, colour}, cfg.vision.image_size, p);
  CHECK(routed.targets[0][routed.route_query[0][0].item<int64_t>()].item<int64_t>() == counted.ids[static_cast<size_t>(answer_at + 1)]);
  CHECK(routed.targets[1][routed.route_query[1][0].item<int64_t>()].item<int64_t>() == colour.ids[colour.prompt_ids.size()]);

  // Reading: each answer token that spells characters aims at the slots of those characters.
  std::vector<int64_t> labels(static_cast<size_t>(kPatchLabelRows * 4), 0);
  for (int64_t i = 0; i < 3; ++i) labels[static_cast<size_t>(kLabelSlot * 4 + i)] = i + 1;  // slots 1, 2, 3; patch 3 off the sign
  auto encoded = [&](const std::string& text) {
    std::vector<int64_t> ids;
    for (int32_t id : tok.encode(text)) ids.push_back(id);
    return ids;
  };
  auto masks = [&](const std::string& text) {
    const std::vector<int64_t> ids = encoded(text);
    std::vector<std::pair<int64_t, std::vector<uint8_t>>> out;
    for (const SynthExample::Focus& f : reading_focus(tok, ids, 0, static_cast<int64_t>(ids.size()), labels)) {
      out.emplace_back(f.token, f.patches);
    }
    return out;
  };
  // "7gk" is "▁", "7", "g", "k": the bare "▁" spells nothing.
  REQUIRE(encoded("7gk").size() == 4);
  using Masks = std::vector<std::pair<int64_t, std::vector<uint8_t>>>;
  CHECK(masks("7gk") == Masks{{1, {1, 0, 0, 0}}, {2, {0, 1, 0, 0}}, {3, {0, 0, 1, 0}}});
  // "a" is one piece "▁a"; "pp" is "▁p", "p".
  REQUIRE(encoded("a").size() == 1);
  CHECK(masks("a") == Masks{{0, {1, 0, 0, 0}}});
  REQUIRE(encoded("pp").size() == 2);
  CHECK(masks("pp") == Masks{{0, {1, 0, 0, 0}}, {1, {0, 1, 0, 0}}});

  // In a training conversation: sample 5 is a reading question; its targets sit where the batch says.
  const SynthExample reading = make_synth_example(tok, cfg, "val", 0, 5, 1);
  const synth::Sample sign = synth::make_sample("val", 0, 5);
  REQUIRE(sign.question.type == synth::QuestionType::kReading);
  REQUIRE(!reading.reading.empty());
  std::string spelled;
  for (const SynthExample::Focus& f : reading.reading) {
    CHECK(reading.is_target[static_cast<size_t>(f.token)] == 1);
    std::string piece = tok.decode({static_cast<int32_t>(reading.ids[static_cast<size_t>(f.token)])});
    piece.erase(std::remove(piece.begin(), piece.end(), ' '), piece.end());
    spelled += piece;
    CHECK(std::count(f.patches.begin(), f.patches.end(), 1) > 0);  // every character is on a patch
  }
  CHECK(spelled == sign.question.answer);
  const TrainingBatch batch = collate({reading}, cfg.vision.image_size, p);
  REQUIRE(batch.read_query.size(1) == static_cast<int64_t>(reading.reading.size()));
  for (size_t k = 0; k < reading.reading.size(); ++k) {
    const int64_t at = batch.read_query[0][static_cast<int64_t>(k)].item<int64_t>();
    CHECK(batch.targets[0][at].item<int64_t>() == reading.ids[static_cast<size_t>(reading.reading[k].token)]);
  }
}

TEST_CASE("train: count supervision spreads a mention over centres and BOS; reading supervision is -log of the mass on the slots", "[train]") {
  c10::InferenceMode guard;
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto model = LlavaModelImpl::random(cfg, ModelOptions{}, 3);
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  const int64_t p = model->image_tokens();
  TrainingBatch batch = collate({make_synth_example(tok, cfg, "val", 0, 2)}, cfg.vision.image_size, p);  // a count question
  const int64_t first = batch.image_pos;
  const at::Tensor centres = batch.focus_centres[0][0];  // [P]
  const auto k = centres.sum().item<int64_t>();
  REQUIRE(k > 0);
  AttentionSupervision s{0};
  const BatchLoss mass = batch_loss(*model, batch, {}, s);
  CHECK(mass.focused_mentions == 1);  // without count supervision, the mass target as for any mention
  CHECK(mass.counted_mentions == 0);
  s.count_centres = true;
  const BatchLoss open = batch_loss(*model, batch, {}, s);
  CHECK(open.focused_mentions == 0);
  REQUIRE(open.counted_mentions == 1);
  CHECK(open.count_mass > 0.0);
  CHECK(open.count_mass < 1.0);
  // An even spread over k + 1 keys is the best there is: the loss is at least log(k + 1).
  CHECK(open.count_loss.item<double>() > std::log(static_cast<double>(k + 1)));
  // Per head: the mean of each head's cross-entropy, at least the mean's (-log is convex), and above it
  // once the heads differ (the second head's queries scaled 40x, so its attention is peaked where the
  // first's is near even; measured 0.06 apart); with one supervised head the two are the same.
  AttentionSupervision per_head = s;
  per_head.count_per_head = true;
  CHECK(batch_loss(*model, batch, {}, per_head).count_loss.item<double>() >= open.count_loss.item<double>() - 1e-6);
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (name.find("language_model") == std::string::npos || name.find("layers.0.self_attn.q_proj.weight") == std::string::npos) continue;
    const int64_t head_dim = cfg.text.hidden_size / cfg.text.num_attention_heads;
    item.value().narrow(0, head_dim, head_dim).mul_(40.0);
  }
  const BatchLoss mean_of_peaked = batch_loss(*model, batch, {}, s);
  CHECK(batch_loss(*model, batch, {}, per_head).count_loss.item<double>() > mean_of_peaked.count_loss.item<double>() + 0.02);
  s.heads = per_head.heads = 1;
  CHECK(batch_loss(*model, batch, {}, per_head).count_loss.item<double>() ==
        Approx(batch_loss(*model, batch, {}, s).count_loss.item<double>()).epsilon(1e-6));
  s.heads = 0;
  // With only the centres and BOS in view, all the mass is on them.
  batch.hidden_keys = at::ones(batch.targets.sizes(), at::kBool);
  batch.hidden_keys[0][0] = false;
  batch.hidden_keys[0].narrow(0, first, p).copy_(~centres);
  const BatchLoss only = batch_loss(*model, batch, {}, s);
  CHECK(only.count_mass == Approx(1.0).epsilon(1e-5));
  CHECK(only.count_loss.item<double>() >= std::log(static_cast<double>(k + 1)) - 1e-4);
  // With BOS alone in view: k keys at 1e-6 and one at 1.
  batch.hidden_keys[0].narrow(0, first, p).fill_(true);
  const BatchLoss bos = batch_loss(*model, batch, {}, s);
  CHECK(bos.count_loss.item<double>() == Approx(-static_cast<double>(k) * std::log(1e-6) / static_cast<double>(k + 1)).epsilon(1e-4));

  // Reading supervision on a reading question (sample 5), at the test model's last layer.
  batch = collate({make_synth_example(tok, cfg, "val", 0, 5)}, cfg.vision.image_size, p);
  AttentionSupervision r;
  CHECK_FALSE(batch_loss(*model, batch, {}, r).read_loss.defined());  // off by default
  r.read_layer = 1;
  const BatchLoss read = batch_loss(*model, batch, {}, r);
  REQUIRE(read.read_loss.defined());
  CHECK(read.read_positions == batch.read_query.size(1));
  CHECK(read.read_mass > 0.0);
  CHECK(read.read_mass < 1.0);
  CHECK(read.read_loss.item<double>() > -std::log(read.read_mass + 1e-6) - 1e-4);  // mean of -log >= -log of the mean
  // Hiding every sign patch leaves no mass: -log(1e-6) at every position.
  batch.hidden_keys = at::zeros(batch.targets.sizes(), at::kBool);
  batch.hidden_keys[0].narrow(0, first, p).copy_(batch.read_focus[0].any(0));
  const BatchLoss hidden = batch_loss(*model, batch, {}, r);
  CHECK(hidden.read_mass == 0.0);
  CHECK(hidden.read_loss.item<double>() == Approx(-std::log(1e-6)).epsilon(1e-4));
}

TEST_CASE("train: split routing sends a spatial question's two mentions through the two halves of the heads", "[train]") {
  c10::InferenceMode guard;
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto model = LlavaModelImpl::random(cfg, ModelOptions{}, 3);
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  REQUIRE(synth::make_sample("val", 0, 4).question.type == synth::QuestionType::kSpatial);
  TrainingBatch batch = collate({make_synth_example(tok, cfg, "val", 0, 4)}, cfg.vision.image_size, model->image_tokens());
  REQUIRE(batch.focus_query.size(1) == 2);
  AttentionSupervision s{0, 1};
  const BatchLoss joint = batch_loss(*model, batch, {}, s);
  s.split_routing = true;
  const BatchLoss split = batch_loss(*model, batch, {}, s);
  REQUIRE(split.route_loss.defined());
  CHECK(split.routed_answers == 1);
  // Each half's mass is on its own mention only, so the mean of the two is below the joint mass (on both).
  CHECK(split.route_mass < joint.route_mass);
  CHECK(split.focus_mass == Approx(joint.focus_mass).epsilon(1e-6));  // the mentions' own loss is unchanged
  // The second mention out of view: its half has no mass left (-log 1e-6), the joint target still has the first.
  batch.hidden_keys = at::zeros(batch.targets.sizes(), at::kBool);
  batch.hidden_keys[0][batch.focus_query[0][1].item<int64_t>()] = true;
  const BatchLoss blind = batch_loss(*model, batch, {}, s);
  CHECK(blind.route_loss.item<double>() > -0.5 * std::log(1e-6));
  s.split_routing = false;
  CHECK(batch_loss(*model, batch, {}, s).route_loss.item<double>() < -0.5 * std::log(1e-6));
  // A one-mention question is routed by all heads either way.
  TrainingBatch colour = first_val_batch(cfg, *model);
  const BatchLoss one = batch_loss(*model, colour, {}, s);
  s.split_routing = true;
  CHECK(batch_loss(*model, colour, {}, s).route_mass == Approx(one.route_mass).epsilon(1e-6));
}

TEST_CASE("train: supervision options that need another, or a layer the model lacks, are refused", "[train]") {
  TempDir dir;
  auto refused = [&](const std::function<void(TrainSynthOptions&)>& set) {
    TrainSynthOptions o = quiet_options(dir.file("refused"));
    o.steps = 1;
    set(o);
    return o;
  };
  CHECK_THROWS_WITH(train_synth(refused([](TrainSynthOptions& o) { o.count_supervision = 1; })),
                    Catch::Contains("--count-supervision needs --attention-supervision"));
  CHECK_THROWS_WITH(train_synth(refused([](TrainSynthOptions& o) {
                      o.attention_supervision = 1;
                      o.split_routing = true;
                    })),
                    Catch::Contains("--split-routing needs --route-supervision"));
  // The test model has 2 decoder layers: reading at layer 2, or routing after layer 1, is past them.
  CHECK_THROWS_WITH(train_synth(refused([](TrainSynthOptions& o) { o.read_supervision = 1; })),
                    Catch::Contains("--read-layer 2 is past the model's 2 decoder layers"));
  CHECK_THROWS_WITH(train_synth(refused([](TrainSynthOptions& o) {
                      o.attention_supervision = 1;
                      o.route_supervision = 1;
                      o.supervised_layer = 1;
                    })),
                    Catch::Contains("--supervised-layer 1 with --route-supervision: routing in layer 2 is past the model's 2 decoder layers"));
  CHECK_THROWS_WITH(train_synth(refused([](TrainSynthOptions& o) {
                      o.caption_supervision = 1;
                      o.caption_layer = 2;
                    })),
                    Catch::Contains("--caption-layer 2 is past the model's 2 decoder layers"));
  CHECK_THROWS_WITH(train_synth(refused([](TrainSynthOptions& o) {
                      o.relation_offset = 1;
                      o.relation_readout_layer = 2;
                    })),
                    Catch::Contains("--relation-readout-layer 2 is past the model's 2 decoder layers"));
}

TEST_CASE("train: caption supervision reads each sign-character patch's residual through lm_head as the token that spells it", "[train]") {
  c10::InferenceMode guard;
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  const auto p = cfg.vision.image_size / cfg.vision.patch_size * (cfg.vision.image_size / cfg.vision.patch_size);
  // Four patches: "G" first on the sign, "7" second, "7" first, and one off the sign.
  const std::string chars = synth::kSignCharacters;
  const auto class_of = [&](char c) { return static_cast<int64_t>(chars.find(c)) + 1; };
  std::vector<int64_t> labels(static_cast<size_t>(kPatchLabelRows * 4), 0);
  const int64_t characters[] = {class_of('G'), class_of('7'), class_of('7'), 0};
  const int64_t slots[] = {1, 2, 1, 0};
  for (int64_t i = 0; i < 4; ++i) {
    labels[static_cast<size_t>(kLabelCharacter * 4 + i)] = characters[i];
    labels[static_cast<size_t>(kLabelSlot * 4 + i)] = slots[i];
  }
  // An answer starting with "g" starts "▁g"; a later "7" is "7", and a first "7" too (after a bare "▁").
  CHECK(caption_tokens(tok, labels) ==
        std::vector<int64_t>{tok.piece_to_id("\u2581g"), tok.piece_to_id("7"), tok.piece_to_id("7"), -100});
  REQUIRE(tok.encode("g") == std::vector<int32_t>{tok.piece_to_id("\u2581g")});
  REQUIRE(tok.encode("7gk").at(1) == tok.piece_to_id("7"));

  // A reading sample: every patch with a character and a slot is a target.
  const auto model = LlavaModelImpl::random(cfg, ModelOptions{}, 3);
  const SynthExample reading = make_synth_example(tok, cfg, "val", 0, 5, 1);
  const TrainingBatch batch = collate({reading}, cfg.vision.image_size, p);
  const int64_t targets = batch.caption_targets.ne(-100).sum().item<int64_t>();
  REQUIRE(targets > 0);
  AttentionSupervision last;
  last.caption = true;
  last.caption_layer = cfg.text.num_hidden_layers - 1;
  const BatchLoss captioned = batch_loss(*model, batch, {}, last);
  REQUIRE(captioned.caption_loss.defined());
  CHECK(captioned.captioned_patches == targets);
  // After the last layer the residual through the final norm and lm_head is the model's own logits.
  const at::Tensor logits = batched_logits(*model, batch).narrow(1, batch.image_pos, p)[0];  // [P, V]
  const at::Tensor where = batch.caption_targets[0].ne(-100).nonzero().squeeze(1);
  const at::Tensor expected = at::cross_entropy_loss(logits.index_select(0, where), batch.caption_targets[0].index_select(0, where));
  CHECK(captioned.caption_loss.item<double>() == Approx(expected.item<double>()).epsilon(1e-4));
  // An earlier layer's residual says something else; no caption loss without the option.
  AttentionSupervision first;
  first.caption = true;
  first.caption_layer = 0;
  CHECK(std::abs(batch_loss(*model, batch, {}, first).caption_loss.item<double>() - expected.item<double>()) > 1e-3);
  // -1 reads the input: the projector's output at the patches, through the final norm and lm_head.
  AttentionSupervision input;
  input.caption = true;
  input.caption_layer = -1;
  const BatchLoss at_input = batch_loss(*model, batch, {}, input);
  const at::Tensor embeds = at_input.image_embeds[0].index_select(0, where);  // [N, D]
  const at::Tensor input_logits = at::linear(model->language_model()->named_modules()["norm"]->as<RmsNorm>()->forward(embeds),
                                             model->language_model()->named_parameters()["lm_head.weight"]);
  CHECK(at_input.caption_loss.item<double>() ==
        Approx(at::cross_entropy_loss(input_logits, batch.caption_targets[0].index_select(0, where)).item<double>()).epsilon(1e-4));
  CHECK_FALSE(batch_loss(*model, batch).caption_loss.defined());
}

}  // namespace pb::test

namespace pb::test {

TEST_CASE("train: image_mean_share is the share of the image embeddings' energy their patches share", "[train]") {
  const at::Tensor opposite = at::tensor({1.0f, 2.0f, -1.0f, -2.0f}).view({1, 2, 2});  // a, -a: nothing shared
  CHECK(image_mean_share(opposite).item<double>() == Approx(0.0).margin(1e-7));
  const at::Tensor same = at::tensor({3.0f, 4.0f, 3.0f, 4.0f}).view({1, 2, 2});  // all shared
  CHECK(image_mean_share(same).item<double>() == Approx(1.0));
  // (1, 0) and (0, 1): mean (0.5, 0.5), |mean|^2 0.5 of a mean energy 1; averaged with the all-shared image.
  const at::Tensor axes = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 2, 2});
  CHECK(image_mean_share(axes).item<double>() == Approx(0.5));
  CHECK(image_mean_share(at::cat({axes, same})).item<double>() == Approx(0.75));
}

}  // namespace pb::test

namespace pb::test {

TEST_CASE("train: the log names each supervision's loss and the figure that says whether it is met", "[train]") {
  TempDir dir;
  TrainSynthOptions o = quiet_options(dir.file("supervised"));
  o.steps = 2;
  o.batch = 2;
  o.log_every = 2;
  o.attention_supervision = 1;
  o.route_supervision = 1;
  o.caption_supervision = 1;
  o.caption_layer = 0;
  o.image_centering = 1;
  o.mention_answer = 1;
  o.mention_position = 1;
  o.patch_position = 1;
  o.patch_position_objects = true;
  o.relation_offset = 1;
  o.turns = 6;  // so that some question names two things (a spatial one) for the position heads
  train_synth(o);
  const nlohmann::json key = read_json_file(o.work_dir + "/checkpoint/state.json")["key"];
  CHECK(key["patch_position_objects"] == true);
  CHECK(key["relation_readout_layer"] == 1);
  CHECK(std::filesystem::exists(o.work_dir + "/checkpoint/position_head.pt"));
  CHECK(std::filesystem::exists(o.work_dir + "/checkpoint/patch_position_head.pt"));
  CHECK(std::filesystem::exists(o.work_dir + "/checkpoint/relation_head.pt"));
  std::ifstream log(o.work_dir + "/train_log.jsonl");
  nlohmann::json entry;
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("stage")) entry = j;
  }
  REQUIRE(entry.is_object());
  for (const char* key : {"attention_loss", "focus_mass", "route_loss", "route_mass", "caption_loss", "caption_accuracy",
                          "centering_loss", "mention_answer_loss", "mention_answer_accuracy", "position_loss", "position_error",
                          "patch_position_loss", "patch_position_error", "relation_loss", "relation_error"}) {
    INFO(key);
    CHECK(entry.contains(key));
  }
  // Centering's figure is its loss: no second key; terms that are off leave none.
  CHECK_FALSE(entry.contains("centering_mass"));
  CHECK_FALSE(entry.contains("read_loss"));
  const double share = entry["centering_loss"].get<double>();
  CHECK(share > 0.0);
  CHECK(share <= 1.0);
  const double accuracy = entry["caption_accuracy"].get<double>();
  CHECK(accuracy >= 0.0);
  CHECK(accuracy <= 1.0);
}

}  // namespace pb::test

namespace pb::test {

TEST_CASE("train: mention-answer supervision reads a one-mention question's mention as its answer; spatial mentions carry their objects' centres", "[train]") {
  c10::InferenceMode guard;
  const LlavaConfig cfg = load_llava_config(synth_config());
  const auto model = LlavaModelImpl::random(cfg, ModelOptions{}, 3);
  const auto tok = SentencePieceTokenizer::load(synth_tokenizer());
  const auto p = model->image_tokens();
  const auto grid = cfg.vision.image_size / cfg.vision.patch_size;
  // Val sample 2 asks a count (one mention), sample 4 a spatial relation (two mentions).
  const synth::Sample count = synth::make_sample("val", 0, 2);
  const synth::Sample spatial = synth::make_sample("val", 0, 4);
  REQUIRE(count.question.type == synth::QuestionType::kCount);
  REQUIRE(spatial.question.type == synth::QuestionType::kSpatial);
  const SynthExample counted = make_synth_example(tok, cfg, "val", 0, 2);
  const SynthExample related = make_synth_example(tok, cfg, "val", 0, 4);
  const TrainingBatch batch = collate({counted, related}, cfg.vision.image_size, p);
  AttentionSupervision s;
  s.mention_answer = true;
  s.mention_position = true;
  s.mention_readout_layer = cfg.text.num_hidden_layers - 1;
  const BatchLoss out = batch_loss(*model, batch, {}, s);
  // Only the count question names one thing; its mention must say the count's digit.
  REQUIRE(out.mention_answer_loss.defined());
  CHECK(out.mention_answers == 1);
  const int64_t mention = counted.focus.at(0).token;
  const int64_t digit = counted.ids.at(static_cast<size_t>(counted.routed_tokens.at(0)));
  CHECK(tok.decode({static_cast<int32_t>(digit)}) == count.question.answer);
  // After the last layer the readout is the model's own logits at the mention (spliced: + P - 1 after the image).
  const int64_t spliced = mention + (mention > batch.image_pos ? p - 1 : 0);
  const at::Tensor logits = batched_logits(*model, batch)[0][spliced].unsqueeze(0);  // [1, V]
  CHECK(out.mention_answer_loss.item<double>() ==
        Approx(at::cross_entropy_loss(logits, at::tensor({digit}, at::kLong)).item<double>()).epsilon(1e-4));
  // The spatial question's two mentions, in question order, at their objects' patch centres.
  REQUIRE(out.position_inputs.defined());
  REQUIRE(out.position_targets.sizes() == at::IntArrayRef({2, 2}));
  for (int64_t j = 0; j < 2; ++j) {
    double col = 0, row = 0, n = 0;
    for (int64_t q = 0; q < p; ++q) {
      if (related.focus.at(static_cast<size_t>(j)).patches.at(static_cast<size_t>(q)) == 0) continue;
      col += static_cast<double>(q % grid) + 0.5;
      row += static_cast<double>(q / grid) + 0.5;
      ++n;
    }
    REQUIRE(n > 0);
    CHECK(out.position_targets[j][0].item<double>() == Approx(col / (n * static_cast<double>(grid))));
    CHECK(out.position_targets[j][1].item<double>() == Approx(row / (n * static_cast<double>(grid))));
  }
  // The relation the answer names holds between the two centres.
  const std::string& answer = spatial.question.answer;
  const double dx = out.position_targets[0][0].item<double>() - out.position_targets[1][0].item<double>();
  const double dy = out.position_targets[0][1].item<double>() - out.position_targets[1][1].item<double>();
  INFO(spatial.question.text << " -> " << answer);
  if (answer == "left") CHECK(dx < 0);
  if (answer == "right") CHECK(dx > 0);
  if (answer == "above") CHECK(dy < 0);
  if (answer == "below") CHECK(dy > 0);
  // Without the options neither is computed.
  const BatchLoss plain = batch_loss(*model, batch);
  CHECK_FALSE(plain.mention_answer_loss.defined());
  CHECK_FALSE(plain.position_inputs.defined());
  CHECK_FALSE(plain.relation_inputs.defined());

  // The relation offset: read where the spatial answer is predicted (not at a mention), half the
  // first centre minus the second around 0.5. After the last layer the read is the model's own logits there.
  AttentionSupervision r;
  r.relation_offset = true;
  r.relation_readout_layer = cfg.text.num_hidden_layers - 1;
  const BatchLoss rel = batch_loss(*model, batch, {}, r);
  REQUIRE(rel.relation_inputs.defined());
  REQUIRE(rel.relation_targets.sizes() == at::IntArrayRef({1, 2}));
  CHECK(rel.relation_targets[0][0].item<double>() == Approx(0.5 + dx / 2));
  CHECK(rel.relation_targets[0][1].item<double>() == Approx(0.5 + dy / 2));
  const int64_t routed = related.routed_tokens.at(0) - 1;  // the position predicting the answer's first word
  const int64_t routed_spliced = routed + (routed > batch.image_pos ? p - 1 : 0);
  auto weights = model->language_model()->named_parameters();
  const at::Tensor x = rel.relation_inputs.to(at::kFloat);  // [1, D]
  const at::Tensor normed = x * (x.pow(2).mean(-1, true) + cfg.text.rms_norm_eps).rsqrt() * weights["norm.weight"];
  const at::Tensor read = at::linear(normed, weights["lm_head.weight"]);  // [1, V]
  CHECK(at::allclose(read[0], batched_logits(*model, batch)[1][routed_spliced], 1e-4, 1e-4));
  CHECK_FALSE(rel.position_inputs.defined());  // the mentions' own read stays off
}

TEST_CASE("train: the position head starts at the image centre and its loss is the squared error of its linear read at unit RMS", "[train]") {
  PositionHead head(8, 1);
  const at::Tensor zero = at::zeros({1, 8});
  const at::Tensor centre = at::tensor({0.5f, 0.5f}).view({1, 2});
  CHECK(head->loss(zero, centre).loss.item<double>() == Approx(0.0).margin(1e-12));
  // (0.2, 0.9) from the centre: squared errors 0.09 and 0.16, mean 0.125; absolute errors 0.3 and 0.4.
  const auto off = head->loss(zero, at::tensor({0.2f, 0.9f}).view({1, 2}));
  CHECK(off.loss.item<double>() == Approx(0.125));
  CHECK(off.mean_error == Approx(0.35));
  const at::Tensor weight = head->named_parameters()["centre.weight"];  // [2, 8]
  const at::Tensor x = at::full({1, 8}, 3.0f);      // read at unit RMS: as ones
  const at::Tensor predicted = weight.sum(1) + 0.5;  // [2]
  const at::Tensor expected = (predicted - at::tensor({0.1f, 0.7f})).pow(2).mean();
  CHECK(head->loss(x, at::tensor({0.1f, 0.7f}).view({1, 2})).loss.item<double>() == Approx(expected.item<double>()));
  // Emphasised rows add their own mean: row 0 off by (0.3, 0.4) and row 1 exact give 0.125 / 2 over
  // both rows plus 0.125 over row 0 alone; the error is row 0's. No emphasised row: the plain loss.
  const at::Tensor two = at::zeros({2, 8});
  const at::Tensor targets = at::tensor({0.2f, 0.9f, 0.5f, 0.5f}).view({2, 2});
  const auto emphasised = head->loss(two, targets, at::tensor({1, 0}).gt(0));
  CHECK(emphasised.loss.item<double>() == Approx(0.0625 + 0.125));
  CHECK(emphasised.mean_error == Approx(0.35));
  CHECK(head->loss(two, targets, at::zeros({2}, at::kBool)).loss.item<double>() == Approx(0.0625));
  // Patch centres run row-major as the image tokens: patch 5 of a 4 x 4 grid is column 1, row 1.
  const at::Tensor centres = patch_centres(4, 2);  // [32, 2]
  REQUIRE(centres.sizes() == at::IntArrayRef({32, 2}));
  CHECK(centres[5][0].item<double>() == Approx(1.5 / 4));
  CHECK(centres[5][1].item<double>() == Approx(1.5 / 4));
  CHECK(centres[3][0].item<double>() == Approx(3.5 / 4));
  CHECK(centres[3][1].item<double>() == Approx(0.5 / 4));
  CHECK(at::equal(centres.narrow(0, 16, 16), centres.narrow(0, 0, 16)));  // the second image's the same
}

}  // namespace pb::test

namespace pb::test {

TEST_CASE("train: --patch-position-objects reports the object patches' error, which the all-patch mean does not", "[train]") {
  TempDir dir;
  // The same first step (same seed, so the same batch and head) with and without the option: the logged
  // error is then over the object patches only, a different set of rows than every patch.
  auto first_error = [&](bool objects, const std::string& name) {
    TrainSynthOptions o = quiet_options(dir.file(name));
    o.steps = 1;
    o.batch = 1;
    o.turns = 1;
    o.log_every = 1;
    o.patch_position = 1;
    o.patch_position_objects = objects;
    train_synth(o);
    std::ifstream log(o.work_dir + "/train_log.jsonl");
    for (std::string line; std::getline(log, line);) {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("patch_position_error")) return j["patch_position_error"].get<double>();
    }
    FAIL("no patch_position_error in the log");
    return 0.0;
  };
  const double all = first_error(false, "all"), objects = first_error(true, "objects");
  INFO("all patches " << all << ", object patches " << objects);
  CHECK(all > 0.0);
  CHECK(objects > 0.0);
  CHECK(std::fabs(all - objects) > 1e-4);
}

TEST_CASE("train: --position-head-lr-scale moves the position heads that many times as far per step", "[train]") {
  TempDir dir;
  const LlavaConfig cfg = load_llava_config(synth_config());
  // Adam's first step moves every parameter by the learning rate times the sign of its gradient, so the
  // patch head's biases (never decayed) move by exactly lr, or 10 lr at scale 10.
  auto bias_step = [&](double scale, const std::string& name) {
    TrainSynthOptions o = quiet_options(dir.file(name));
    o.steps = 1;
    o.batch = 1;
    o.patch_position = 1;
    o.position_head_lr_scale = scale;
    train_synth(o);
    PositionHead trained(cfg.text.hidden_size, o.seed + 4);
    torch::load(trained, o.work_dir + "/checkpoint/patch_position_head.pt");
    const PositionHead initial(cfg.text.hidden_size, o.seed + 4);
    return (trained->named_parameters()["centre.bias"] - initial->named_parameters()["centre.bias"]).abs().max().item<double>();
  };
  const double plain = bias_step(1.0, "plain"), scaled = bias_step(10.0, "scaled");
  TrainSynthOptions per_head_alone = quiet_options(dir.file("per-head"));
  per_head_alone.count_per_head = true;
  CHECK_THROWS_WITH(train_synth(per_head_alone), Catch::Matchers::Contains("--count-per-head needs --count-supervision"));
  TrainSynthOptions objects_alone = quiet_options(dir.file("objects"));
  objects_alone.patch_position_objects = true;
  CHECK_THROWS_WITH(train_synth(objects_alone), Catch::Matchers::Contains("--patch-position-objects needs --patch-position"));
  REQUIRE(plain > 0.0);
  // 1% covers fp32 rounding: a step of ~5e-5 on a bias of 0.5 is resolved to ~6e-8.
  CHECK(scaled / plain == Approx(10.0).epsilon(1e-2));
}

}  // namespace pb::test
