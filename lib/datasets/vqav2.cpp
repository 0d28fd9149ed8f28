// VQAv2 official files (visualqa.org "Input Questions Format" / "Annotation Format"; read the same way
// by GT-Vision-Lab/VQA PythonHelperTools/vqaTools/vqa.py):
//   questions:   {"info", "task_type", "data_type", "data_subtype", "license",
//                 "questions": [{"question_id": int, "image_id": int, "question": str}]}
//   annotations: {"info", "data_type", "data_subtype", "license",
//                 "annotations": [{"question_id", "image_id", "question_type", "answer_type",
//                                  "multiple_choice_answer", "answers": [{"answer", "answer_confidence",
//                                  "answer_id"}] x 10}]}
#include <fmt/format.h>

#include <unordered_map>

#include "core/error.h"
#include "datasets/formats.h"
#include "datasets/json_source.h"

namespace pb::detail {
namespace {

// COCO file names carry the image folder's split (vqaDemo.py: 'COCO_' + dataSubType + '_' +
// str(imgId).zfill(12) + '.jpg'). test-dev2015 questions use test2015 images, as LLaVA's
// llava_vqav2_mscoco_test-dev2015.jsonl does ("image": "COCO_test2015_000000262144.jpg").
std::string image_split(const std::string& data_subtype) {
  return data_subtype == "test-dev2015" ? "test2015" : data_subtype;
}

void copy_string_field(const JsonRef& from, const char* key, nlohmann::json& meta) {
  if (const auto v = from.find(key)) meta[key] = v->string();
}

}  // namespace

Vqav2Annotations read_vqav2_annotations(const std::string& path) {
  const JsonDocument doc(path);
  const JsonRef root = doc.root();
  Vqav2Annotations out;
  if (const auto subtype = root.find("data_subtype")) out.data_subtype = subtype->string();
  const JsonRef list = root.member("annotations");
  const size_t n = list.size();
  out.entries.reserve(n);
  out.by_question_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const JsonRef a = list.element(i);
    Vqav2Annotation entry;
    const JsonRef id = a.member("question_id");
    entry.question_id = std::to_string(id.integer());
    entry.image_id = a.member("image_id").integer();
    const JsonRef answers = a.member("answers");
    const size_t n_answers = answers.size();
    if (n_answers == 0) answers.fail("no answers");
    for (size_t k = 0; k < n_answers; ++k) entry.answers.push_back(answers.element(k).member("answer").string());
    entry.meta = nlohmann::json::object();
    copy_string_field(a, "answer_type", entry.meta);
    copy_string_field(a, "question_type", entry.meta);
    copy_string_field(a, "multiple_choice_answer", entry.meta);
    const auto [it, inserted] = out.by_question_id.emplace(entry.question_id, i);
    if (!inserted) {
      id.fail(fmt::format("duplicate question_id {} (first at annotations[{}])", entry.question_id, it->second));
    }
    out.entries.push_back(std::move(entry));
  }
  return out;
}

Dataset load_vqav2(const SpecArgs& args) {
  const std::string& questions_path = args.at("questions");
  const JsonDocument doc(questions_path);
  const JsonRef root = doc.root();
  const JsonRef subtype_ref = root.member("data_subtype");
  const std::string subtype = subtype_ref.string();
  if (const std::string why = unsafe_image_name(subtype); !why.empty()) {
    subtype_ref.fail(fmt::format("cannot be used in image file names: it {}", why));
  }

  Vqav2Annotations annotations;
  const std::string* annotations_path = args.find("annotations");
  if (annotations_path != nullptr) {
    annotations = read_vqav2_annotations(*annotations_path);
    if (!annotations.data_subtype.empty() && annotations.data_subtype != subtype) {
      throw Error(fmt::format("{}: data_subtype '{}' does not match '{}' of the questions file {}", *annotations_path,
                              annotations.data_subtype, subtype, questions_path));
    }
  }

  Dataset dataset;
  dataset.kind = DatasetKind::kVqav2;
  const JsonRef list = root.member("questions");
  const size_t n = list.size();
  dataset.samples.reserve(n);
  std::unordered_map<std::string, size_t> seen;
  std::vector<bool> used(annotations.entries.size(), false);
  for (size_t i = 0; i < n; ++i) {
    const JsonRef q = list.element(i);
    Sample s;
    const JsonRef id = q.member("question_id");
    s.question_id = std::to_string(id.integer());
    const JsonRef image = q.member("image_id");
    const int64_t image_id = image.integer();
    if (image_id < 0) image.fail("image ids are not negative");
    s.question = q.member("question").string();
    if (const auto [it, inserted] = seen.emplace(s.question_id, i); !inserted) {
      id.fail(fmt::format("duplicate question_id {} (first at questions[{}])", s.question_id, it->second));
    }
    s.key = s.question_id;
    const std::string image_name = fmt::format("COCO_{}_{:012d}.jpg", image_split(subtype), image_id);
    s.image_path = join_image_path(args.at("images"), image_name);
    s.image_folder = args.at("images");
    s.meta = {{"image_id", image_id}};
    if (const auto found = annotations.by_question_id.find(s.question_id); found != annotations.by_question_id.end()) {
      const Vqav2Annotation& a = annotations.entries[found->second];
      if (a.image_id != image_id) {
        throw Error(fmt::format("{}: question {} is about image {} but its annotation in {} names image {}",
                                questions_path, s.question_id, image_id, *annotations_path, a.image_id));
      }
      s.answers = a.answers;
      s.meta.update(a.meta);
      used[found->second] = true;
    }
    dataset.samples.push_back(std::move(s));
  }
  for (bool u : used) dataset.annotations_unmatched += u ? 0 : 1;
  return dataset;
}

}  // namespace pb::detail
