// Evaluation datasets read straight from their official files (VQAv2, TextVQA 0.5.1, GQA) or from
// LLaVA-1.5's question files, with ground truth joined in. Formats, keys and quirks: docs/datasets.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace pb {

enum class DatasetKind { kVqav2, kTextvqa, kGqa };

const char* dataset_kind_name(DatasetKind kind);  // "vqav2" | "textvqa" | "gqa"
// The inverse; pb::Error listing the valid names otherwise.
DatasetKind dataset_kind_from_name(const std::string& name);

// One question. Strings are UTF-8 as in the file.
struct Sample {
  std::string key;           // unique within the dataset: the question id, except LLaVA's TextVQA jsonl
                             // (question_id + "\x1f" + question text as written), see docs/datasets.md
  std::string question_id;   // as in the file, numbers written as decimal text
  std::string image_path;    // images folder / file name (not checked for existence at load)
  std::string image_folder;  // the images folder image_path must stay inside, symlinks resolved ("" = any)
  std::string question;      // the question alone
  std::string llava_text;    // LLaVA question files: the `text` field exactly; else ""
  std::vector<std::string> ocr_tokens;  // TextVQA: Rosetta OCR file, or the prompt's OCR line
  std::vector<std::string> answers;     // ground truth: 10 annotators (VQAv2, TextVQA) or 1 (GQA); empty = unscored
  nlohmann::json meta;       // per-format extras (image_id, answer_type, types, ...), see docs/datasets.md
  bool scored() const { return !answers.empty(); }
};

struct Dataset {
  DatasetKind kind = DatasetKind::kVqav2;
  std::string spec;                  // as given
  std::string source_format;         // "vqav2" | "textvqa" | "gqa" | "llava-jsonl"
  std::map<std::string, std::string> spec_values;  // the spec's key=value pairs (files the data came from)
  std::vector<Sample> samples;       // file order
  size_t annotations_unmatched = 0;  // ground-truth entries that matched no question (informational)

  // key -> position in samples. load_dataset fills it; call reindex() after editing samples
  // (find() falls back to a linear search while it is out of date).
  std::unordered_map<std::string, size_t> key_index;

  const Sample* find(const std::string& key) const;
  void reindex();  // pb::Error naming the key when two samples share one
};

// SPEC: "<format>:key=value,key=value" (values cannot contain ','):
//   vqav2:questions=FILE[,annotations=FILE],images=DIR
//   textvqa:json=FILE[,ocr=FILE],images=DIR
//   gqa:questions=FILE,images=DIR
//   llava-jsonl:questions=FILE,images=DIR,kind=vqav2|textvqa|gqa[,annotations=FILE][,ocr=FILE]
//   synthvqa:split=train|val|test[,n=N][,seed=S][,format=vqav2|gqa|textvqa][,dir=DIR]
// pb::Error for an unknown format or key, a missing required key, an unreadable or malformed file
// (naming the file and the byte offset, or for jsonl the line), duplicate keys (naming the key), and
// image names that would leave the images folder.
Dataset load_dataset(const std::string& spec);

// The explicit list of dataset formats (for `prune-bench list` and error messages).
struct DatasetFormatInfo {
  const char* name;         // the SPEC prefix
  const char* usage;        // the keys, as in the comment above
  const char* description;
};
const std::vector<DatasetFormatInfo>& dataset_format_registry();

// Before an image is read: pb::Error naming the path when it resolves (following symlinks) to a file
// outside the sample's images folder. The loaders already refuse names with "..", absolute names and
// the like (unsafe_image_name); this catches a symlink inside the folder that points out of it.
void require_image_inside_folder(const Sample& sample);

}  // namespace pb
