// LLaVA config.json parsing. Defaults and rules follow transformers' configuration_llava.py,
// configuration_llava_next.py, configuration_clip.py and configuration_llama.py; the flat format
// follows haotian-liu/LLaVA (llava/model/multimodal_encoder/builder.py, clip_encoder.py,
// multimodal_projector/builder.py). Summary in docs/checkpoints.md.
#include "io/model_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "core/hash.h"
#include "io/json_file.h"

namespace pb {
namespace {

using nlohmann::json;

// Original LLaVA marks the image position with this id (llava/constants.py IMAGE_TOKEN_INDEX).
constexpr int64_t kOriginalImageTokenIndex = -200;

std::string show(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Typed access to one JSON object; errors read "<source>: <prefix><key>: <problem>".
class Fields {
 public:
  Fields(const json& obj, std::string prefix, const std::string& source)
      : obj_(obj), prefix_(std::move(prefix)), source_(source) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw Error(fmt::format("{}: {}{}: {}", source_, prefix_, key, problem));
  }
  // nullptr when absent. A null value counts as absent only where transformers' default is None.
  const json* get(const std::string& key, bool null_is_absent = false) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) return nullptr;
    if (it->is_null()) {
      if (null_is_absent) return nullptr;
      fail(key, "is null, expected a value");
    }
    return &*it;
  }
  bool has(const std::string& key) const { return obj_.contains(key); }

  int64_t integer(const std::string& key, int64_t def, bool null_is_absent = false) const {
    const json* v = get(key, null_is_absent);
    if (v == nullptr) return def;
    return as_integer(key, *v);
  }
  int64_t as_integer(const std::string& key, const json& v) const {
    if (v.is_number_unsigned()) {
      if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        fail(key, fmt::format("{} is too large", show(v)));
      }
      return static_cast<int64_t>(v.get<uint64_t>());
    }
    if (v.is_number_integer()) return v.get<int64_t>();
    fail(key, fmt::format("expected an integer, got {}", show(v)));
  }
  int64_t positive(const std::string& key, int64_t def, bool null_is_absent = false) const {
    const int64_t n = integer(key, def, null_is_absent);
    if (n <= 0) fail(key, fmt::format("must be a positive integer, got {}", n));
    return n;
  }
  double positive_number(const std::string& key, double def) const {
    const json* v = get(key);
    if (v == nullptr) return def;
    if (!v->is_number()) fail(key, fmt::format("expected a number, got {}", show(*v)));
    const double d = v->get<double>();
    if (!(d > 0)) fail(key, fmt::format("must be positive, got {}", d));
    return d;
  }
  bool boolean(const std::string& key, bool def) const {
    const json* v = get(key);
    if (v == nullptr) return def;
    if (!v->is_boolean()) fail(key, fmt::format("expected true or false, got {}", show(*v)));
    return v->get<bool>();
  }
  std::string string(const std::string& key, const std::string& def, bool null_is_absent = false) const {
    const json* v = get(key, null_is_absent);
    if (v == nullptr) return def;
    if (!v->is_string()) fail(key, fmt::format("expected a string, got {}", show(*v)));
    return v->get<std::string>();
  }
  // A string that must be one of `allowed`.
  std::string choice(const std::string& key, const std::string& def, const std::vector<std::string>& allowed) const {
    std::string s = string(key, def);
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
      fail(key, fmt::format("unsupported value '{}' (supported: {})", s, join(allowed)));
    }
    return s;
  }
  const std::string& prefix() const { return prefix_; }

 private:
  const json& obj_;
  std::string prefix_;
  const std::string& source_;
};

const json* sub_object(const Fields& f, const std::string& key) {
  const json* v = f.get(key, /*null_is_absent=*/true);
  if (v != nullptr && !v->is_object()) f.fail(key, fmt::format("expected an object, got {}", show(*v)));
  return v;
}

// bos/eos: an int, null (no such token: -1), or (Llama 3 style eos) a list whose first id is kept.
int64_t token_id(const Fields& f, const json& obj, const std::string& key, int64_t def) {
  auto it = obj.find(key);
  if (it == obj.end()) return def;
  if (it->is_null()) return -1;
  if (it->is_array()) {
    if (it->empty()) f.fail(key, "is an empty list");
    return f.as_integer(key, it->front());
  }
  return f.as_integer(key, *it);
}

TextConfig parse_text(const json& obj, const std::string& prefix, const std::string& source, bool check_model_type) {
  const Fields f(obj, prefix, source);
  TextConfig t;
  if (check_model_type) t.model_type = f.choice("model_type", "llama", {"llama"});
  t.vocab_size = f.positive("vocab_size", t.vocab_size);
  t.hidden_size = f.positive("hidden_size", t.hidden_size);
  t.intermediate_size = f.positive("intermediate_size", t.intermediate_size);
  t.num_hidden_layers = f.positive("num_hidden_layers", t.num_hidden_layers);
  t.num_attention_heads = f.positive("num_attention_heads", t.num_attention_heads);
  t.num_key_value_heads = f.positive("num_key_value_heads", t.num_attention_heads, /*null_is_absent=*/true);
  if (t.hidden_size % t.num_attention_heads != 0) {
    f.fail("num_attention_heads", fmt::format("{} heads do not divide hidden_size {}", t.num_attention_heads,
                                              t.hidden_size));
  }
  if (t.num_attention_heads % t.num_key_value_heads != 0) {
    f.fail("num_key_value_heads", fmt::format("{} KV heads do not divide num_attention_heads {}",
                                              t.num_key_value_heads, t.num_attention_heads));
  }
  t.head_dim = f.positive("head_dim", t.hidden_size / t.num_attention_heads, /*null_is_absent=*/true);
  t.max_position_embeddings = f.positive("max_position_embeddings", t.max_position_embeddings);
  t.bos_token_id = token_id(f, obj, "bos_token_id", t.bos_token_id);
  t.eos_token_id = token_id(f, obj, "eos_token_id", t.eos_token_id);
  t.rms_norm_eps = f.positive_number("rms_norm_eps", t.rms_norm_eps);
  t.rope_theta = f.positive_number("rope_theta", t.rope_theta);
  t.hidden_act = f.choice("hidden_act", t.hidden_act, {"silu"});
  t.attention_bias = f.boolean("attention_bias", t.attention_bias);
  t.mlp_bias = f.boolean("mlp_bias", t.mlp_bias);
  t.tie_word_embeddings = f.boolean("tie_word_embeddings", t.tie_word_embeddings);

  // Scaled RoPE variants change the positions' frequencies; the model code implements plain RoPE
  // only, so refuse them instead of silently computing something else. transformers >= 5 moves
  // rope_theta into rope_parameters.
  if (const json* s = f.get("rope_scaling", /*null_is_absent=*/true)) {
    if (!s->is_object()) f.fail("rope_scaling", fmt::format("expected an object or null, got {}", show(*s)));
    const Fields rs(*s, prefix + "rope_scaling.", source);
    const std::string type = rs.string("rope_type", rs.string("type", "default"));
    if (type != "default") f.fail("rope_scaling", fmt::format("RoPE scaling '{}' is not supported", type));
  }
  if (const json* p = f.get("rope_parameters", /*null_is_absent=*/true)) {
    if (!p->is_object()) f.fail("rope_parameters", fmt::format("expected an object, got {}", show(*p)));
    const Fields rp(*p, prefix + "rope_parameters.", source);
    rp.choice("rope_type", "default", {"default"});
    t.rope_theta = rp.positive_number("rope_theta", t.rope_theta);
  }
  return t;
}

VisionConfig parse_vision(const json& obj, const std::string& prefix, const std::string& source) {
  const Fields f(obj, prefix, source);
  VisionConfig v;
  v.model_type = f.choice("model_type", v.model_type, {"clip_vision_model"});
  v.hidden_size = f.positive("hidden_size", v.hidden_size);
  v.intermediate_size = f.positive("intermediate_size", v.intermediate_size);
  v.num_hidden_layers = f.positive("num_hidden_layers", v.num_hidden_layers);
  v.num_attention_heads = f.positive("num_attention_heads", v.num_attention_heads);
  if (v.hidden_size % v.num_attention_heads != 0) {
    f.fail("num_attention_heads", fmt::format("{} heads do not divide hidden_size {}", v.num_attention_heads,
                                              v.hidden_size));
  }
  v.num_channels = f.positive("num_channels", v.num_channels);
  v.image_size = f.positive("image_size", v.image_size);
  v.patch_size = f.positive("patch_size", v.patch_size);
  if (v.patch_size > v.image_size) {
    f.fail("patch_size", fmt::format("{} is larger than image_size {}", v.patch_size, v.image_size));
  }
  v.projection_dim = f.positive("projection_dim", v.projection_dim);
  v.hidden_act = f.choice("hidden_act", v.hidden_act, {"quick_gelu"});
  v.layer_norm_eps = f.positive_number("layer_norm_eps", v.layer_norm_eps);
  return v;
}

// CLIP ViT-L/14 at 336 px: what LlavaConfig builds when vision_config is absent, and the tower
// LLaVA-1.5/1.6 name (openai/clip-vit-large-patch14-336).
VisionConfig clip_vit_large(int64_t image_size) {
  VisionConfig v;
  v.hidden_size = 1024;
  v.intermediate_size = 4096;
  v.num_hidden_layers = 24;
  v.num_attention_heads = 16;
  v.image_size = image_size;
  v.patch_size = 14;
  v.projection_dim = 768;
  return v;
}

std::vector<int64_t> feature_layers(const Fields& f, const std::string& key, const json& v,
                                    const VisionConfig& vision) {
  std::vector<int64_t> layers;
  if (v.is_array()) {
    if (v.empty()) f.fail(key, "is an empty list");
    for (const json& e : v) layers.push_back(f.as_integer(key, e));
  } else {
    layers.push_back(f.as_integer(key, v));
  }
  // Indexes CLIP's hidden_states: the embeddings plus one entry per layer.
  const int64_t n = vision.num_hidden_layers + 1;
  for (int64_t l : layers) {
    if (l < -n || l >= n) {
      f.fail(key, fmt::format("layer {} is out of range for {} vision layers (valid: {}..{})", l,
                              vision.num_hidden_layers, -n, n - 1));
    }
  }
  return layers;
}

std::vector<std::array<int64_t, 2>> pinpoints(const Fields& f, const std::string& key) {
  std::vector<std::array<int64_t, 2>> out;
  const json* v = f.get(key, /*null_is_absent=*/true);
  if (v == nullptr) return out;
  const std::string expected = "expected a list of [size, size] pairs of positive integers";
  if (!v->is_array() || v->empty()) f.fail(key, fmt::format("{}, got {}", expected, show(*v)));
  for (const json& p : *v) {
    if (!p.is_array() || p.size() != 2) f.fail(key, fmt::format("{}, got {}", expected, show(p)));
    std::array<int64_t, 2> pair{f.as_integer(key, p[0]), f.as_integer(key, p[1])};
    if (pair[0] <= 0 || pair[1] <= 0) f.fail(key, fmt::format("{}, got {}", expected, show(p)));
    out.push_back(pair);
  }
  return out;
}

std::string torch_dtype(const Fields& f) {
  // transformers >= 5 writes "dtype" instead of "torch_dtype".
  return f.string("torch_dtype", f.string("dtype", "", true), /*null_is_absent=*/true);
}

// LlavaConfig / LlavaNextConfig: nested text_config and vision_config.
void parse_hf(const Fields& f, LlavaConfig& c) {
  // Absent: LlamaConfig() defaults, still resolved (KV heads, head_dim) by the same code.
  const json* t = sub_object(f, "text_config");
  c.text = parse_text(t != nullptr ? *t : json::object(), "text_config.", c.source, /*check_model_type=*/true);
  if (const json* v = sub_object(f, "vision_config")) {
    c.vision = parse_vision(*v, "vision_config.", c.source);
  } else {
    c.vision = clip_vit_large(336);
  }

  c.image_token_index = f.integer("image_token_index", 32000);
  if (f.has("image_token_id")) {
    const int64_t alias = f.integer("image_token_id", 0);
    if (f.has("image_token_index") && alias != c.image_token_index) {
      f.fail("image_token_id", fmt::format("{} contradicts image_token_index {}", alias, c.image_token_index));
    }
    c.image_token_index = alias;
  }
  c.projector_hidden_act = f.choice("projector_hidden_act", "gelu", {"gelu"});
  c.projector_type = "mlp2x_gelu";  // LlavaMultiModalProjector: linear_1, act, linear_2
  c.vision_feature_select_strategy = f.choice("vision_feature_select_strategy", "default", {"default", "full"});
  if (const json* l = f.get("vision_feature_layer")) {
    c.vision_feature_layers = feature_layers(f, "vision_feature_layer", *l, c.vision);
  }
  c.image_seq_length = f.positive("image_seq_length", 576);
  c.multimodal_projector_bias = f.boolean("multimodal_projector_bias", true);
  // LlavaConfig: a false top-level value is overridden by a tying text config.
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false) || c.text.tie_word_embeddings;
  c.image_grid_pinpoints = pinpoints(f, "image_grid_pinpoints");
  if (c.model_type == "llava_next" && c.image_grid_pinpoints.empty()) {  // absent or null
    c.image_grid_pinpoints = {{336, 672}, {672, 336}, {672, 672}, {1008, 336}, {336, 1008}};
  }
}

// Four positive integers (ConvNeXt depths or dims).
std::array<int64_t, 4> four_positive(const Fields& f, const std::string& key, const std::array<int64_t, 4>& def) {
  const json* v = f.get(key);
  if (v == nullptr) return def;
  if (!v->is_array() || v->size() != 4) f.fail(key, fmt::format("expected 4 positive integers, got {}", show(*v)));
  std::array<int64_t, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    out[i] = f.as_integer(key, (*v)[i]);
    if (out[i] <= 0) f.fail(key, fmt::format("expected 4 positive integers, got {}", show(*v)));
  }
  return out;
}

// Not in published configs: the golden tiny LLaVA-HR describes its ConvNeXt this way.
ConvNextConfig parse_convnext(const json& obj, const std::string& prefix, const std::string& source) {
  const Fields f(obj, prefix, source);
  ConvNextConfig n;
  n.depths = four_positive(f, "depths", n.depths);
  n.dims = four_positive(f, "dims", n.dims);
  n.norm_eps = f.positive_number("norm_eps", n.norm_eps);
  return n;
}

// The timm models LLaVA-HR builds (convnext.py convnext_large_mlp, convnext_xxlarge), named by their
// architecture with or without timm's pretrained tag ("convnext_large_mlp.clip_laion2b_ft_320").
// The original picks xxlarge when the name contains "xxlarge" and large_mlp for any other name;
// an unknown name is an error here instead (docs/llava_hr.md).
bool known_convnext(const std::string& name, ConvNextConfig& out) {
  const std::string arch = name.substr(0, name.find('.'));
  if (arch == "convnext_large_mlp") {
    out = ConvNextConfig{};  // depths 3/3/27/3, dims 192..1536, eps 1e-6 (timm LayerNorm default)
    return true;
  }
  if (arch == "convnext_xxlarge") {
    out = ConvNextConfig{{3, 4, 30, 3}, {384, 768, 1536, 3072}, 1e-5};
    return true;
  }
  return false;
}

// LLaVA-HR: vision_tower_slow (or slow_vision_config), input_image_size, freeze_vision; the shapes
// the dual-path tower asserts on (multipath_encoder_wapper.py) are checked here, at load.
void parse_hr(const Fields& f, LlavaConfig& c) {
  HrConfig& hr = c.hr;
  if (f.get("input_image_size", /*null_is_absent=*/true) == nullptr) {
    f.fail("input_image_size", "missing (LLaVA-HR's tower and processor read it)");
  }
  hr.input_image_size = f.positive("input_image_size", 0);
  if (hr.input_image_size < 32) {
    f.fail("input_image_size", fmt::format("{} is too small: the ConvNeXt branch divides it by 32", hr.input_image_size));
  }
  hr.slow_tower = f.string("vision_tower_slow", "", /*null_is_absent=*/true);
  if (const json* s = sub_object(f, "slow_vision_config")) {
    hr.slow = parse_convnext(*s, "slow_vision_config.", c.source);
  } else if (hr.slow_tower.empty()) {
    f.fail("vision_tower_slow", "missing: a LLaVA-HR config names its ConvNeXt there");
  } else if (!known_convnext(hr.slow_tower, hr.slow)) {
    f.fail("vision_tower_slow", fmt::format("unknown ConvNeXt '{}' (known: convnext_large_mlp, convnext_xxlarge; "
                                            "or add a slow_vision_config object)", hr.slow_tower));
  }
  hr.adapters = !f.boolean("freeze_vision", false);
  if (c.vision.num_hidden_layers % 4 != 0) {
    f.fail("mm_vision_tower", fmt::format("LLaVA-HR splits the CLIP layers in four equal groups; {} layers do not",
                                          c.vision.num_hidden_layers));
  }
  const int64_t fast = hr.fast_image_size() / c.vision.patch_size, slow = hr.slow_grid();
  if (fast % slow != 0 && slow % fast != 0) {
    f.fail("input_image_size", fmt::format("{} gives a {}x{} CLIP grid and a {}x{} ConvNeXt map; LLaVA-HR needs "
                                           "one side to divide the other", hr.input_image_size, fast, fast, slow, slow));
  }
  c.image_seq_length = fast * fast;
}

// Original LLaVA (LlavaLlamaForCausalLM): LLaMA fields at the top level plus mm_* keys; LLaVA-HR
// when is_multipath_encoder is true.
void parse_flat(const json& j, const Fields& f, LlavaConfig& c) {
  const bool hr = f.boolean("is_multipath_encoder", false);
  c.model_type = hr ? "llava_hr" : "llava_llama";
  c.text = parse_text(j, "", c.source, /*check_model_type=*/false);

  // builder.py reads mm_vision_tower, falling back to the older vision_tower key.
  const std::string tower_key = f.has("mm_vision_tower") ? "mm_vision_tower" : "vision_tower";
  const std::string tower = f.string(tower_key, "");
  if (const json* v = sub_object(f, "vision_config")) {
    // Not in published configs: tiny test checkpoints describe their tower this way.
    c.vision = parse_vision(*v, "vision_config.", c.source);
  } else if (tower == "openai/clip-vit-large-patch14-336") {
    c.vision = clip_vit_large(336);
  } else if (tower == "openai/clip-vit-large-patch14") {
    c.vision = clip_vit_large(224);
  } else if (tower.empty()) {
    f.fail("mm_vision_tower", "missing: the original LLaVA format names its vision tower there");
  } else {
    f.fail(tower_key, fmt::format("unknown vision tower '{}' (known: openai/clip-vit-large-patch14-336, "
                                  "openai/clip-vit-large-patch14; or add a vision_config object)",
                                  tower));
  }
  if (f.has("mm_hidden_size")) {
    const int64_t mm_hidden = f.positive("mm_hidden_size", 0);
    if (mm_hidden != c.vision.hidden_size) {
      f.fail("mm_hidden_size", fmt::format("{} differs from the vision tower's hidden size {}", mm_hidden,
                                           c.vision.hidden_size));
    }
  }
  // multimodal_projector/builder.py defaults to a single linear layer.
  c.projector_type = f.choice("mm_projector_type", "linear", {"linear", "mlp2x_gelu"});
  c.projector_hidden_act = "gelu";  // nn.GELU() in mlp2x_gelu
  const json* layer = f.get("mm_vision_select_layer");
  if (layer == nullptr) f.fail("mm_vision_select_layer", "missing (the original code has no default)");
  c.vision_feature_layers = feature_layers(f, "mm_vision_select_layer", *layer, c.vision);
  // clip_encoder.py: "patch" drops CLS, "cls_patch" keeps it.
  const std::string feature = f.choice("mm_vision_select_feature", "patch", {"patch", "cls_patch"});
  c.vision_feature_select_strategy = feature == "patch" ? "default" : "full";
  if (f.boolean("mm_use_im_start_end", false)) {
    f.fail("mm_use_im_start_end", "true is not supported (image start/end tokens)");
  }
  c.image_token_index = kOriginalImageTokenIndex;
  const int64_t side = c.vision.image_size / c.vision.patch_size;
  c.image_seq_length = side * side + (c.vision_feature_select_strategy == "full" ? 1 : 0);
  c.multimodal_projector_bias = true;
  c.tie_word_embeddings = c.text.tie_word_embeddings;
  c.image_grid_pinpoints = pinpoints(f, "image_grid_pinpoints");
  if (hr) parse_hr(f, c);
}

const std::vector<std::string> kArchitectures = {"LlavaForConditionalGeneration",
                                                 "LlavaNextForConditionalGeneration", "LlavaLlamaForCausalLM"};

const char* architecture_for(const std::string& model_type) {
  if (model_type == "llava") return "LlavaForConditionalGeneration";
  if (model_type == "llava_next") return "LlavaNextForConditionalGeneration";
  return "LlavaLlamaForCausalLM";  // llava_llama, llava_hr
}

}  // namespace

LlavaConfig parse_llava_config(const json& j, const std::string& source) {
  if (!j.is_object()) throw Error(fmt::format("{}: config is JSON {}, expected an object", source, j.type_name()));
  LlavaConfig c;
  c.source = source;
  c.raw = j;
  const Fields f(j, "", source);

  const std::string model_type = f.string("model_type", "");
  if (model_type.empty()) f.fail("model_type", "missing (expected llava, llava_next or llava_llama)");
  if (const json* a = f.get("architectures", /*null_is_absent=*/true)) {
    if (!a->is_array()) f.fail("architectures", fmt::format("expected a list of strings, got {}", show(*a)));
    for (const json& e : *a) {
      if (!e.is_string()) f.fail("architectures", fmt::format("expected a list of strings, got {}", show(*a)));
      c.architectures.push_back(e.get<std::string>());
    }
  }
  const bool flat_arch = std::find(c.architectures.begin(), c.architectures.end(), "LlavaLlamaForCausalLM") !=
                         c.architectures.end();
  // Original LLaVA configs say "llava_llama" (older ones "llava"): recognised by their
  // architecture, or by mm_vision_tower without a text_config.
  const bool flat = model_type == "llava_llama" ||
                    (model_type == "llava" && (flat_arch || (!f.has("text_config") && f.has("mm_vision_tower"))));
  if (!flat && model_type != "llava" && model_type != "llava_next") {
    f.fail("model_type", fmt::format("unsupported model type '{}' (supported: llava, llava_next, llava_llama)",
                                     model_type));
  }
  c.model_type = flat ? (f.boolean("is_multipath_encoder", false) ? "llava_hr" : "llava_llama") : model_type;
  for (const std::string& arch : c.architectures) {
    if (std::find(kArchitectures.begin(), kArchitectures.end(), arch) == kArchitectures.end()) {
      f.fail("architectures", fmt::format("unknown architecture '{}' (supported: {})", arch, join(kArchitectures)));
    }
    if (arch != architecture_for(c.model_type)) {
      f.fail("architectures", fmt::format("architecture '{}' does not match model_type '{}'", arch, model_type));
    }
  }
  c.torch_dtype = torch_dtype(f);
  if (flat) {
    parse_flat(j, f, c);
  } else {
    parse_hf(f, c);
  }
  return c;
}

LlavaConfig load_llava_config(const std::string& path_or_dir) {
  std::error_code ec;
  const std::string path = std::filesystem::is_directory(path_or_dir, ec)
                               ? (std::filesystem::path(path_or_dir) / "config.json").string()
                               : path_or_dir;
  return parse_llava_config(read_json_file(path), path);
}

json LlavaConfig::to_json() const {
  json pins = json::array();
  for (const auto& p : image_grid_pinpoints) pins.push_back({p[0], p[1]});
  json out{
      {"model_type", model_type},
      {"architectures", architectures},
      {"text",
       {{"model_type", text.model_type},
        {"vocab_size", text.vocab_size},
        {"hidden_size", text.hidden_size},
        {"intermediate_size", text.intermediate_size},
        {"num_hidden_layers", text.num_hidden_layers},
        {"num_attention_heads", text.num_attention_heads},
        {"num_key_value_heads", text.num_key_value_heads},
        {"head_dim", text.head_dim},
        {"max_position_embeddings", text.max_position_embeddings},
        {"bos_token_id", text.bos_token_id},
        {"eos_token_id", text.eos_token_id},
        {"rms_norm_eps", text.rms_norm_eps},
        {"rope_theta", text.rope_theta},
        {"hidden_act", text.hidden_act},
        {"attention_bias", text.attention_bias},
        {"mlp_bias", text.mlp_bias},
        {"tie_word_embeddings", text.tie_word_embeddings}}},
      {"vision",
       {{"model_type", vision.model_type},
        {"hidden_size", vision.hidden_size},
        {"intermediate_size", vision.intermediate_size},
        {"num_hidden_layers", vision.num_hidden_layers},
        {"num_attention_heads", vision.num_attention_heads},
        {"num_channels", vision.num_channels},
        {"image_size", vision.image_size},
        {"patch_size", vision.patch_size},
        {"projection_dim", vision.projection_dim},
        {"hidden_act", vision.hidden_act},
        {"layer_norm_eps", vision.layer_norm_eps}}},
      {"image_token_index", image_token_index},
      {"projector_hidden_act", projector_hidden_act},
      {"projector_type", projector_type},
      {"vision_feature_layers", vision_feature_layers},
      {"vision_feature_select_strategy", vision_feature_select_strategy},
      {"image_seq_length", image_seq_length},
      {"multimodal_projector_bias", multimodal_projector_bias},
      {"tie_word_embeddings", tie_word_embeddings},
      {"image_grid_pinpoints", pins},
      {"torch_dtype", torch_dtype},
  };
  if (model_type == "llava_hr") {  // only here, so the other families' hashes stay as they were
    out["hr"] = {{"input_image_size", hr.input_image_size},
                 {"slow_tower", hr.slow_tower},
                 {"slow_depths", hr.slow.depths},
                 {"slow_dims", hr.slow.dims},
                 {"slow_norm_eps", hr.slow.norm_eps},
                 {"adapters", hr.adapters}};
  }
  return out;
}

int64_t HrConfig::fast_image_size() const {
  // Python's int(S / 32 * 14): a double division and product, truncated.
  return std::max<int64_t>(static_cast<int64_t>(static_cast<double>(input_image_size) / 32.0 * 14.0), 336);
}

int64_t HrConfig::slow_grid() const {
  // 4x4 stride-4 stem, then three 2x2 stride-2 convolutions, each flooring.
  return input_image_size / 4 / 2 / 2 / 2;
}

std::string LlavaConfig::hash() const {
  // Versioned so that a change in what is hashed cannot collide with older results.
  return hex16(fnv1a64("llava-config-v1" + to_json().dump()));
}

}  // namespace pb
