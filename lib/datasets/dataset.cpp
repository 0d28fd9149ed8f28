// Dataset specs, the registry of formats (the one place a format is wired in), key lookup and the
// image-name rules every loader applies.
#include "datasets/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "datasets/formats.h"

namespace pb {
namespace {

using detail::SpecArgs;

struct Format {
  DatasetFormatInfo info;
  std::vector<std::string> required;
  std::vector<std::string> optional;
  Dataset (*load)(const SpecArgs&);
};

// The explicit list of formats.
const std::vector<Format>& formats() {
  static const std::vector<Format> list = {
      {{"vqav2", "vqav2:questions=FILE[,annotations=FILE],images=DIR",
        "VQAv2 official v2_OpenEnded_mscoco_<split>_questions.json (+ v2_mscoco_<split>_annotations.json)"},
       {"questions", "images"},
       {"annotations"},
       &detail::load_vqav2},
      {{"textvqa", "textvqa:json=FILE[,ocr=FILE],images=DIR",
        "TextVQA 0.5.1 official TextVQA_0.5.1_<split>.json (+ TextVQA_Rosetta_OCR_v0.2_<split>.json)"},
       {"json", "images"},
       {"ocr"},
       &detail::load_textvqa},
      {{"gqa", "gqa:questions=FILE,images=DIR", "GQA official <split>_balanced_questions.json"},
       {"questions", "images"},
       {},
       &detail::load_gqa},
      {{"llava-jsonl",
        "llava-jsonl:questions=FILE,images=DIR,kind=vqav2|textvqa|gqa[,annotations=FILE][,ocr=FILE]",
        "LLaVA-1.5 question file (playground/data/eval/...jsonl), ground truth joined from the official file"},
       {"questions", "images", "kind"},
       {"annotations", "ocr"},
       &detail::load_llava_jsonl},
      {{"synthvqa", "synthvqa:split=train|val|test[,n=N][,seed=S][,format=vqav2|gqa|textvqa][,dir=DIR]",
        "SynthVQA, prune-bench's embedded benchmark, generated on first use (docs/synthvqa.md)"},
       {"split"},
       {"n", "seed", "format", "dir"},
       &detail::load_synthvqa},
  };
  return list;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string did_you_mean(const std::string& given, const std::vector<std::string>& valid) {
  for (const std::string& v : valid) {
    if (edit_distance(given, v) <= 2) return fmt::format(" Did you mean: {}?", v);
  }
  return "";
}

SpecArgs parse_spec(const std::string& spec, const Format** format_out) {
  const size_t colon = spec.find(':');
  std::vector<std::string> names;
  for (const Format& f : formats()) names.push_back(f.info.name);
  if (colon == std::string::npos) {
    throw Error(fmt::format("dataset spec '{}': expected '<format>:key=value,...' with a format among: {}", spec,
                            join(names)));
  }
  SpecArgs args;
  args.spec = spec;
  args.format = spec.substr(0, colon);
  const auto it = std::find_if(formats().begin(), formats().end(),
                               [&](const Format& f) { return args.format == f.info.name; });
  if (it == formats().end()) {
    throw Error(fmt::format("dataset spec '{}': unknown dataset format '{}'.{} Available: {}", spec, args.format,
                            did_you_mean(args.format, names), join(names)));
  }
  *format_out = &*it;
  std::vector<std::string> keys = it->required;
  keys.insert(keys.end(), it->optional.begin(), it->optional.end());

  const std::string rest = spec.substr(colon + 1);
  size_t begin = 0;
  while (begin <= rest.size() && !rest.empty()) {
    const size_t end = std::min(rest.find(',', begin), rest.size());
    const std::string item = rest.substr(begin, end - begin);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      throw Error(fmt::format("dataset spec '{}': '{}' is not key=value (values cannot contain ',')", spec, item));
    }
    const std::string key = item.substr(0, eq);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      throw Error(fmt::format("dataset spec '{}': unknown key '{}' for format '{}'.{} Valid keys: {}", spec, key,
                              args.format, did_you_mean(key, keys), join(keys)));
    }
    if (!args.values.emplace(key, item.substr(eq + 1)).second) {
      throw Error(fmt::format("dataset spec '{}': key '{}' given twice", spec, key));
    }
    begin = end + 1;
  }
  for (const std::string& key : it->required) {
    if (args.values.count(key) == 0) {
      throw Error(fmt::format("dataset spec '{}': missing required key {}= (usage: {})", spec, key, it->info.usage));
    }
  }
  return args;
}

}  // namespace

const char* dataset_kind_name(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::kVqav2:
      return "vqav2";
    case DatasetKind::kTextvqa:
      return "textvqa";
    case DatasetKind::kGqa:
      return "gqa";
  }
  return "?";
}

DatasetKind dataset_kind_from_name(const std::string& name) {
  for (DatasetKind k : {DatasetKind::kVqav2, DatasetKind::kTextvqa, DatasetKind::kGqa}) {
    if (name == dataset_kind_name(k)) return k;
  }
  throw Error(fmt::format("unknown dataset kind '{}'; expected vqav2, textvqa or gqa", name));
}

const std::vector<DatasetFormatInfo>& dataset_format_registry() {
  static const std::vector<DatasetFormatInfo> infos = [] {
    std::vector<DatasetFormatInfo> out;
    for (const Format& f : formats()) out.push_back(f.info);
    return out;
  }();
  return infos;
}

const Sample* Dataset::find(const std::string& key) const {
  if (key_index.size() == samples.size()) {
    const auto it = key_index.find(key);
    if (it == key_index.end()) return nullptr;
    if (it->second < samples.size() && samples[it->second].key == key) return &samples[it->second];
  }
  for (const Sample& s : samples) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

void Dataset::reindex() {
  key_index.clear();
  key_index.reserve(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!key_index.emplace(samples[i].key, i).second) {
      throw Error(fmt::format("dataset '{}': duplicate sample key '{}' (samples {} and {})", spec, samples[i].key,
                              key_index[samples[i].key], i));
    }
  }
}

Dataset load_dataset(const std::string& spec) {
  const Format* format = nullptr;
  const SpecArgs args = parse_spec(spec, &format);
  Dataset dataset = format->load(args);
  dataset.spec = spec;
  dataset.source_format = format->info.name;
  // Merged, not replaced: a generating format (synthvqa) keeps the files its inner loader read
  // (questions=, annotations=, images=), which the submission writer needs.
  for (const auto& [key, value] : args.values) dataset.spec_values[key] = value;
  dataset.reindex();
  return dataset;
}

namespace detail {

std::string unsafe_image_name(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.find('\0') != std::string::npos) return "contains a NUL byte";
  if (name.find('\\') != std::string::npos) return "contains a backslash";
  if (name.front() == '/') return "is an absolute path";
  size_t begin = 0;
  while (begin <= name.size()) {
    const size_t end = std::min(name.find('/', begin), name.size());
    const std::string part = name.substr(begin, end - begin);
    if (part.empty()) return "has an empty path component";
    if (part == "." || part == "..") return fmt::format("has a '{}' path component", part);
    begin = end + 1;
  }
  return "";
}

std::string join_image_path(const std::string& folder, const std::string& name) {
  return (std::filesystem::path(folder) / name).string();
}

std::string llava_textvqa_key(const std::string& question_id, const std::string& question) {
  // LLaVA's TextVQA file puts the image id in question_id (3,166 values for 5,000 lines); the
  // question text makes the key unique, and the unit separator cannot occur in either part.
  return question_id + "\x1f" + question;
}

}  // namespace detail
void require_image_inside_folder(const Sample& sample) {
  if (sample.image_folder.empty()) return;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(sample.image_folder, ec);
  if (ec) throw Error(fmt::format("{}: cannot resolve the images folder ({})", sample.image_folder, ec.message()));
  const fs::path real = fs::weakly_canonical(sample.image_path, ec);
  if (ec) throw Error(fmt::format("{}: cannot resolve the image path ({})", sample.image_path, ec.message()));
  const std::string r = real.string(), prefix = root.string() + "/";
  if (r.compare(0, prefix.size(), prefix) != 0) {
    throw Error(fmt::format("{}: resolves to {}, outside the images folder {}; not read", sample.image_path, r,
                            root.string()));
  }
}

}  // namespace pb
