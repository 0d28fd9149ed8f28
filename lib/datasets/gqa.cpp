// GQA official questions files (gqadataset.org download page; read by GQA's eval.py, e.g. the copy in
// SHI-Labs/VCoder playground/data/eval/gqa/data/eval/eval.py): one object keyed by question id,
//   {"<questionId>": {"imageId": str, "question": str, "answer": str, "fullAnswer": str,
//                     "isBalanced": bool, "groups": {"global": str|null, "local": str},
//                     "types": {"structural", "semantic", "detailed"}, "entailed", "equivalent",
//                     "annotations", "semantic", "semanticStr"}}
// Images are <imageId>.jpg (LLaVA's llava_gqa_testdev_balanced.jsonl: "image": "n161313.jpg").
#include <fmt/format.h>

#include "core/error.h"
#include "datasets/formats.h"
#include "datasets/json_source.h"

namespace pb::detail {
namespace {

// The string-valued members of a small object such as "types" or "groups" (null kept as null).
nlohmann::json string_members(const JsonRef& obj, std::initializer_list<const char*> keys) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : keys) {
    if (const auto v = obj.find(key)) out[key] = v->json().is_null() ? nlohmann::json() : nlohmann::json(v->string());
  }
  return out;
}

}  // namespace

std::vector<GqaEntry> read_gqa_questions(const std::string& path) {
  const JsonDocument doc(path);
  const JsonRef root = doc.root();
  root.expect_object();
  // File order and duplicate ids come from the text: the parsed object is sorted and keeps only the
  // last of two equal keys.
  const std::vector<std::pair<std::string, size_t>> members = doc.top_level_members();
  std::unordered_map<std::string, size_t> first_offset;
  first_offset.reserve(members.size());
  std::vector<GqaEntry> out;
  out.reserve(members.size());
  for (const auto& [id, offset] : members) {
    const std::string shown = nlohmann::json(id).dump();
    if (const auto [it, inserted] = first_offset.emplace(id, offset); !inserted) {
      doc.fail_at_offset(offset, shown, fmt::format("duplicate question id {} (first at byte {})", shown, it->second));
    }
    if (id.empty()) doc.fail_at_offset(offset, shown, "empty question id");
    const JsonRef q = root.member(id.c_str());
    GqaEntry e;
    e.question_id = id;
    const JsonRef image = q.member("imageId");
    e.image_id = image.string();
    if (const std::string why = unsafe_image_name(e.image_id); !why.empty()) image.fail("image id " + why);
    e.question = q.member("question").string();
    if (const auto answer = q.find("answer")) e.answers = {answer->string()};
    e.meta = {{"image_id", e.image_id}};
    if (const auto v = q.find("isBalanced")) e.meta["isBalanced"] = v->boolean();
    if (const auto v = q.find("types")) e.meta["types"] = string_members(*v, {"structural", "semantic", "detailed"});
    if (const auto v = q.find("groups")) e.meta["groups"] = string_members(*v, {"global", "local"});
    if (const auto v = q.find("fullAnswer")) e.meta["fullAnswer"] = v->string();
    out.push_back(std::move(e));
  }
  return out;
}

Dataset load_gqa(const SpecArgs& args) {
  std::vector<GqaEntry> entries = read_gqa_questions(args.at("questions"));
  Dataset dataset;
  dataset.kind = DatasetKind::kGqa;
  dataset.samples.reserve(entries.size());
  for (GqaEntry& e : entries) {
    Sample s;
    s.key = e.question_id;
    s.question_id = std::move(e.question_id);
    s.image_path = join_image_path(args.at("images"), e.image_id + ".jpg");
    s.image_folder = args.at("images");
    s.question = std::move(e.question);
    s.answers = std::move(e.answers);
    s.meta = std::move(e.meta);
    dataset.samples.push_back(std::move(s));
  }
  return dataset;
}

}  // namespace pb::detail
