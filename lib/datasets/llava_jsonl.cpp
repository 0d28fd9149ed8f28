// LLaVA-1.5 question files (haotian-liu/LLaVA playground/data/eval/<task>/llava_*.jsonl, read by
// llava/eval/model_vqa_loader.py): one JSON object per line,
//   {"question_id": int|str, "image": "<file name>", "text": "<prompt>", "category": "default"}.
// Ground truth is joined from the official file the way LLaVA's scorers do: VQAv2 annotations by
// question_id; GQA questions by question id (scripts/convert_gqa_for_eval.py keeps the id); TextVQA by
// (image_id, question.lower()) with the question recovered from the prompt (llava/eval/eval_textvqa.py),
// because the TextVQA file's question_id holds the image id.
#include <fmt/format.h>

#include <unordered_map>

#include "core/error.h"
#include "datasets/formats.h"
#include "datasets/json_source.h"
#include "datasets/question_text.h"
#include "datasets/text_case.h"

namespace pb::detail {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Python's str.split(sep): n separators give n + 1 parts.
std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t begin = 0;
  for (size_t at = s.find(sep); at != std::string::npos; at = s.find(sep, begin)) {
    out.push_back(s.substr(begin, at - begin));
    begin = at + sep.size();
  }
  out.push_back(s.substr(begin));
  return out;
}

struct Prompt {
  std::string question;
  std::vector<std::string> ocr_tokens;
  bool has_ocr_line = false;
};

// The question (and OCR tokens) inside a TextVQA prompt, accepting the forms eval_textvqa.py's
// prompt_processor accepts, in its order.
Prompt parse_textvqa_prompt(const std::string& text, const JsonRef& where) {
  Prompt p;
  const std::vector<std::string> lines = split(text, "\n");
  if (starts_with(text, "OCR tokens: ")) {
    const size_t q = text.find("Question: ");
    const size_t end = q == std::string::npos ? q : text.find(" Short answer:", q);
    if (end == std::string::npos) where.fail("'OCR tokens: ' prompt without 'Question: ... Short answer:'");
    p.question = text.substr(q + 10, end - q - 10);
  } else if (text.find(kOcrLinePrefix) != std::string::npos && lines.size() == 3) {
    p.question = starts_with(text, "Reference OCR token:") ? lines[1] : lines[0];
    for (const std::string& line : lines) {
      if (!starts_with(line, kOcrLinePrefix)) continue;
      const std::string tokens = line.substr(std::string(kOcrLinePrefix).size());
      if (!tokens.empty()) p.ocr_tokens = split(tokens, ", ");
      p.has_ocr_line = true;
      break;
    }
  } else if (lines.size() == 2) {
    p.question = lines[0];
  } else {
    where.fail(
        "not a TextVQA prompt form LLaVA's eval_textvqa.py accepts (3 lines with 'Reference OCR token: ', "
        "'OCR tokens: ... Question: ... Short answer:', or 2 lines)");
  }
  return p;
}

Prompt parse_prompt(const std::string& text, DatasetKind kind, const JsonRef& where) {
  if (kind == DatasetKind::kTextvqa) return parse_textvqa_prompt(text, where);
  Prompt p;
  const std::string suffix = std::string("\n") + kShortAnswerInstruction;
  p.question = ends_with(text, suffix) ? text.substr(0, text.size() - suffix.size()) : text;
  return p;
}

void require_matches(size_t matched, const Dataset& dataset, const std::string& gt_path, const std::string& path) {
  if (matched == 0 && !dataset.samples.empty()) {
    throw Error(fmt::format("{}: none of the {} questions of {} has ground truth here; wrong file or split?", gt_path,
                            dataset.samples.size(), path));
  }
}

void join_vqav2(Dataset& dataset, const std::string& gt_path, const std::string& path) {
  const Vqav2Annotations gt = read_vqav2_annotations(gt_path);
  std::vector<bool> used(gt.entries.size(), false);
  size_t matched = 0;
  for (Sample& s : dataset.samples) {
    const auto it = gt.by_question_id.find(s.question_id);
    if (it == gt.by_question_id.end()) continue;
    const Vqav2Annotation& a = gt.entries[it->second];
    s.answers = a.answers;
    s.meta["image_id"] = a.image_id;
    s.meta.update(a.meta);
    used[it->second] = true;
    ++matched;
  }
  require_matches(matched, dataset, gt_path, path);
  for (bool u : used) dataset.annotations_unmatched += u ? 0 : 1;
}

void join_gqa(Dataset& dataset, const std::string& gt_path, const std::string& path) {
  std::vector<GqaEntry> gt = read_gqa_questions(gt_path);
  std::unordered_map<std::string, size_t> by_id;
  for (size_t i = 0; i < gt.size(); ++i) by_id.emplace(gt[i].question_id, i);
  std::vector<bool> used(gt.size(), false);
  size_t matched = 0;
  for (Sample& s : dataset.samples) {
    const auto it = by_id.find(s.question_id);
    if (it == by_id.end()) continue;
    s.answers = gt[it->second].answers;
    s.meta.update(gt[it->second].meta);
    used[it->second] = true;
    ++matched;
  }
  require_matches(matched, dataset, gt_path, path);
  for (bool u : used) dataset.annotations_unmatched += u ? 0 : 1;
}

void join_textvqa(Dataset& dataset, const std::string& gt_path, const std::string& path) {
  const std::vector<TextvqaEntry> gt = read_textvqa_json(gt_path);
  // eval_textvqa.py builds a dict, so of two entries with the same pair the later one wins.
  std::unordered_map<std::string, size_t> by_pair;
  for (size_t i = 0; i < gt.size(); ++i) by_pair[llava_textvqa_key(gt[i].image_id, python_lower(gt[i].question))] = i;
  std::vector<bool> used(gt.size(), false);
  size_t matched = 0;
  for (Sample& s : dataset.samples) {
    const auto it = by_pair.find(llava_textvqa_key(s.question_id, python_lower(s.question)));
    if (it == by_pair.end()) continue;
    const TextvqaEntry& e = gt[it->second];
    s.answers = e.answers;
    s.meta["textvqa_question_id"] = e.meta.at("textvqa_question_id");
    if (e.meta.contains("set_name")) s.meta["set_name"] = e.meta.at("set_name");
    used[it->second] = true;
    ++matched;
  }
  require_matches(matched, dataset, gt_path, path);
  for (bool u : used) dataset.annotations_unmatched += u ? 0 : 1;
}

void join_rosetta_ocr(Dataset& dataset, const std::string& ocr_path, const std::string& path) {
  const auto ocr = read_rosetta_ocr(ocr_path);
  for (Sample& s : dataset.samples) {
    const auto it = ocr.find(s.question_id);  // the image id in LLaVA's TextVQA file
    if (it == ocr.end()) {
      throw Error(fmt::format("{}: no OCR entry for image {} (questions file {})", ocr_path, s.question_id, path));
    }
    if (s.meta.contains("ocr_source")) s.meta["ocr_matches_prompt"] = s.ocr_tokens == it->second;
    s.ocr_tokens = it->second;
    s.meta["ocr_source"] = "rosetta";
  }
}

}  // namespace

Dataset load_llava_jsonl(const SpecArgs& args) {
  const std::string& path = args.at("questions");
  const std::string& kind_name = args.at("kind");
  Dataset dataset;
  try {
    dataset.kind = dataset_kind_from_name(kind_name);
  } catch (const Error& e) {
    throw Error(fmt::format("dataset spec '{}': {}", args.spec, e.what()));
  }
  const std::string* ocr_path = args.find("ocr");
  if (ocr_path != nullptr && dataset.kind != DatasetKind::kTextvqa) {
    throw Error(fmt::format("dataset spec '{}': ocr= applies to kind=textvqa only", args.spec));
  }

  const std::string text = read_text_file(path);
  std::unordered_map<std::string, size_t> line_of_key;
  size_t line_no = 0;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      throw Error(fmt::format("{}: line {}: empty line (one JSON object per line expected)", path, line_no));
    }
    const JsonDocument doc(std::move(line), path, line_no);
    const JsonRef root = doc.root();
    root.expect_object();
    Sample s;
    s.question_id = root.member("question_id").id_text();
    const JsonRef image = root.member("image");
    const std::string image_name = image.string();
    if (const std::string why = unsafe_image_name(image_name); !why.empty()) {
      image.fail(fmt::format("image name {}; it must name a file inside the images folder", why));
    }
    s.image_path = join_image_path(args.at("images"), image_name);
    s.image_folder = args.at("images");
    const JsonRef prompt_ref = root.member("text");
    s.llava_text = prompt_ref.string();
    Prompt prompt = parse_prompt(s.llava_text, dataset.kind, prompt_ref);
    s.question = std::move(prompt.question);
    s.ocr_tokens = std::move(prompt.ocr_tokens);
    s.meta = nlohmann::json::object();
    if (prompt.has_ocr_line) s.meta["ocr_source"] = "llava-text";
    if (const auto category = root.find("category")) s.meta["category"] = category->string();
    if (dataset.kind == DatasetKind::kTextvqa) {
      s.key = llava_textvqa_key(s.question_id, s.question);
      s.meta["image_id"] = s.question_id;
    } else {
      s.key = s.question_id;
    }
    if (const auto [it, inserted] = line_of_key.emplace(s.key, line_no); !inserted) {
      const std::string shown = dataset.kind == DatasetKind::kTextvqa
                                    ? fmt::format("question_id {} with question {}", s.question_id,
                                                  nlohmann::json(s.question).dump())
                                    : fmt::format("question_id {}", s.question_id);
      throw Error(fmt::format("{}: line {}: duplicate key: {} (first at line {})", path, line_no, shown, it->second));
    }
    dataset.samples.push_back(std::move(s));
  }

  if (const std::string* gt_path = args.find("annotations")) {
    switch (dataset.kind) {
      case DatasetKind::kVqav2:
        join_vqav2(dataset, *gt_path, path);
        break;
      case DatasetKind::kGqa:
        join_gqa(dataset, *gt_path, path);
        break;
      case DatasetKind::kTextvqa:
        join_textvqa(dataset, *gt_path, path);
        break;
    }
  }
  if (ocr_path != nullptr) join_rosetta_ocr(dataset, *ocr_path, path);
  return dataset;
}

}  // namespace pb::detail
