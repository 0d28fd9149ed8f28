// TextVQA 0.5.1 official files (textvqa.org; facebook/textvqa dataset card; read the same way by
// facebookresearch/mmf and LLaVA's llava/eval/eval_textvqa.py):
//   TextVQA_0.5.1_<split>.json: {"dataset_version", "dataset_type", "dataset_name",
//     "data": [{"question_id": int, "image_id": str, "question": str, "answers": [str] x 10 (not in test),
//               "question_tokens", "image_classes", "image_width", "image_height", "flickr_*_url", "set_name"}]}
//   TextVQA_Rosetta_OCR_v0.2_<split>.json: {..., "data": [{"image_id": str, "ocr_tokens": [str],
//     "ocr_info": [{"word": str, "bounding_box": {"top_left_x", "top_left_y", "width", "height", ...}}]}]}
// LLaVA-1.5's "Reference OCR token:" lines come from the Rosetta v0.2 tokens (haotian-liu/LLaVA#976).
#include <fmt/format.h>

#include "core/error.h"
#include "datasets/formats.h"
#include "datasets/json_source.h"

namespace pb::detail {

std::vector<TextvqaEntry> read_textvqa_json(const std::string& path) {
  const JsonDocument doc(path);
  const JsonRef list = doc.root().member("data");
  const size_t n = list.size();
  std::vector<TextvqaEntry> out;
  out.reserve(n);
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < n; ++i) {
    const JsonRef q = list.element(i);
    TextvqaEntry e;
    const JsonRef id = q.member("question_id");
    const int64_t question_id = id.integer();
    e.question_id = std::to_string(question_id);
    const JsonRef image = q.member("image_id");
    e.image_id = image.string();
    if (const std::string why = unsafe_image_name(e.image_id); !why.empty()) image.fail("image id " + why);
    e.question = q.member("question").string();
    if (const auto answers = q.find("answers")) e.answers = answers->string_list();
    e.meta = {{"image_id", e.image_id}, {"textvqa_question_id", question_id}};
    if (const auto set_name = q.find("set_name")) e.meta["set_name"] = set_name->string();
    if (const auto [it, inserted] = seen.emplace(e.question_id, i); !inserted) {
      id.fail(fmt::format("duplicate question_id {} (first at data[{}])", e.question_id, it->second));
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::unordered_map<std::string, std::vector<std::string>> read_rosetta_ocr(const std::string& path) {
  const JsonDocument doc(path);
  const JsonRef list = doc.root().member("data");
  const size_t n = list.size();
  std::unordered_map<std::string, std::vector<std::string>> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const JsonRef entry = list.element(i);
    const JsonRef image = entry.member("image_id");
    std::vector<std::string> tokens;
    if (const auto list_tokens = entry.find("ocr_tokens")) {
      tokens = list_tokens->string_list();
    } else if (const auto info = entry.find("ocr_info")) {
      for (size_t k = 0; k < info->size(); ++k) tokens.push_back(info->element(k).member("word").string());
    } else {
      entry.fail("missing field 'ocr_tokens' (and no 'ocr_info')");
    }
    if (!out.emplace(image.string(), std::move(tokens)).second) {
      image.fail(fmt::format("duplicate image_id {}", image.string()));
    }
  }
  return out;
}

Dataset load_textvqa(const SpecArgs& args) {
  const std::string& json_path = args.at("json");
  const std::vector<TextvqaEntry> entries = read_textvqa_json(json_path);
  std::unordered_map<std::string, std::vector<std::string>> ocr;
  const std::string* ocr_path = args.find("ocr");
  if (ocr_path != nullptr) ocr = read_rosetta_ocr(*ocr_path);

  Dataset dataset;
  dataset.kind = DatasetKind::kTextvqa;
  dataset.samples.reserve(entries.size());
  for (const TextvqaEntry& e : entries) {
    Sample s;
    s.key = e.question_id;
    s.question_id = e.question_id;
    s.question = e.question;
    s.answers = e.answers;
    s.meta = e.meta;
    s.image_path = join_image_path(args.at("images"), e.image_id + ".jpg");
    s.image_folder = args.at("images");
    if (ocr_path != nullptr) {
      const auto it = ocr.find(e.image_id);
      if (it == ocr.end()) {
        throw Error(fmt::format("{}: no OCR entry for image {} (question {} of {})", *ocr_path, e.image_id,
                                e.question_id, json_path));
      }
      s.ocr_tokens = it->second;
      s.meta["ocr_source"] = "rosetta";
    }
    dataset.samples.push_back(std::move(s));
  }
  return dataset;
}

}  // namespace pb::detail
