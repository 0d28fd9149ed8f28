#include "synth/synth_writer.h"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/hash.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "synth/sample.h"

namespace pb::synth {

namespace {

namespace fs = std::filesystem;

// Bumped whenever generation changes a byte of the output (the committed manifest test then fails
// until the manifest is regenerated on purpose).
constexpr int kGeneratorVersion = 1;
// JPEG quality of the written images: 95 keeps the 1-2 px strokes of the sign text sharp.
constexpr int kJpegQuality = 95;

std::string subtype(const std::string& split) { return "synth-" + split; }
std::string image_id(const std::string& split, int64_t id) { return fmt::format("COCO_{}_{:012d}", subtype(split), id); }

struct Files {
  std::string vqav2_questions, vqav2_annotations, gqa, textvqa, textvqa_ocr;
};
Files file_names(const std::string& split) {
  return {fmt::format("v2_OpenEnded_synthvqa_{}_questions.json", split),
          fmt::format("v2_synthvqa_{}_annotations.json", split),
          fmt::format("synthvqa_{}_gqa_balanced_questions.json", split),
          fmt::format("TextVQA_0.5.1_{}.json", subtype(split)),
          fmt::format("TextVQA_Rosetta_OCR_v0.2_{}.json", subtype(split))};
}

nlohmann::json request_json(const SplitRequest& r) {
  return {{"generator", "prune-bench synth"}, {"generator_version", kGeneratorVersion},
          {"split", r.split}, {"n", r.n}, {"seed", r.seed}};
}

void write_bytes(const std::string& path, const std::vector<uchar>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error(fmt::format("synth: cannot write {}", path));
}

std::string gqa_full_answer(const Question& q) {
  return q.answer == "yes" || q.answer == "no" ? fmt::format("{}.", q.answer == "yes" ? "Yes" : "No")
                                               : fmt::format("It is {}.", q.answer);
}

}  // namespace

std::string synth_dataset_spec(const std::string& dir, const std::string& split, const std::string& format) {
  const Files f = file_names(split);
  const std::string images = (fs::path(dir) / "images").string();
  auto in = [&](const std::string& name) { return (fs::path(dir) / name).string(); };
  if (format == "vqav2") {
    return fmt::format("vqav2:questions={},annotations={},images={}", in(f.vqav2_questions), in(f.vqav2_annotations), images);
  }
  if (format == "gqa") return fmt::format("gqa:questions={},images={}", in(f.gqa), images);
  if (format == "textvqa") return fmt::format("textvqa:json={},ocr={},images={}", in(f.textvqa), in(f.textvqa_ocr), images);
  throw Error(fmt::format("synth: unknown format '{}' (vqav2, gqa or textvqa)", format));
}

bool split_is_complete(const SplitRequest& request) {
  const fs::path dir(request.out_dir);
  if (!fs::exists(dir / "manifest.tsv") || !fs::exists(dir / "synthvqa.json")) return false;
  try {
    const nlohmann::json written = read_json_file((dir / "synthvqa.json").string());
    return written.value("request", nlohmann::json()) == request_json(request);
  } catch (const Error&) {
    return false;
  }
}

nlohmann::json write_split(const SplitRequest& r) {
  if (!is_split_name(r.split)) throw Error(fmt::format("synth: --split '{}' must be train, val or test", r.split));
  if (r.n <= 0) throw Error(fmt::format("synth: --n {} must be positive", r.n));
  const fs::path dir(r.out_dir);
  std::error_code ec;
  fs::create_directories(dir / "images", ec);
  if (ec) throw Error(fmt::format("synth: cannot create {}: {}", (dir / "images").string(), ec.message()));
  fs::remove(dir / "manifest.tsv", ec);  // absent until this split is complete

  const Files f = file_names(r.split);
  nlohmann::json vq_questions = nlohmann::json::array(), vq_annotations = nlohmann::json::array();
  nlohmann::json gqa = nlohmann::json::object(), tv_data = nlohmann::json::array(), ocr_data = nlohmann::json::array();
  std::vector<std::string> written;
  std::map<std::string, int64_t> per_type;
  for (int64_t i = 0; i < r.n; ++i) {
    const Sample s = make_sample(r.split, r.seed, i);
    const Question& q = s.question;
    const int64_t id = i + 1;
    const std::string img_id = image_id(r.split, id);
    const std::string image_rel = "images/" + img_id + ".jpg";
    std::vector<uchar> jpeg;
    PB_CHECK(cv::imencode(".jpg", s.image, jpeg, {cv::IMWRITE_JPEG_QUALITY, kJpegQuality}), "synth: JPEG encoding failed");
    write_bytes((dir / image_rel).string(), jpeg);
    written.push_back(image_rel);
    ++per_type[question_type_name(q.type)];

    vq_questions.push_back({{"image_id", id}, {"question", q.text}, {"question_id", id}});
    nlohmann::json answers = nlohmann::json::array();
    for (size_t a = 0; a < q.annotators.size(); ++a) {
      answers.push_back({{"answer", q.annotators[a]}, {"answer_confidence", "yes"}, {"answer_id", a + 1}});
    }
    vq_annotations.push_back({{"question_id", id}, {"image_id", id}, {"question_type", question_type_name(q.type)},
                              {"answer_type", q.answer_type}, {"multiple_choice_answer", q.answer}, {"answers", answers}});
    if (q.type == QuestionType::kSpatial) {
      gqa[std::to_string(id)] = {{"imageId", img_id}, {"question", q.text}, {"answer", q.answer},
                                 {"fullAnswer", gqa_full_answer(q)}, {"isBalanced", true},
                                 {"types", {{"structural", q.gqa_structural}, {"semantic", "rel"}, {"detailed", q.gqa_detailed}}},
                                 {"groups", {{"global", nullptr}, {"local", q.gqa_detailed}}}};
    }
    if (q.type == QuestionType::kReading) {
      const Sign& sign = s.scene.sign;
      const double w = s.scene.width, h = s.scene.height;
      tv_data.push_back({{"question_id", id}, {"image_id", img_id}, {"question", q.text}, {"answers", q.annotators},
                         {"question_tokens", nlohmann::json::array()}, {"image_classes", nlohmann::json::array()},
                         {"image_width", s.scene.width}, {"image_height", s.scene.height},
                         {"flickr_original_url", ""}, {"flickr_300k_url", ""}, {"set_name", r.split}});
      ocr_data.push_back({{"image_id", img_id}, {"ocr_tokens", {sign.text}},
                          {"ocr_info", {{{"word", sign.text},
                                         {"bounding_box", {{"top_left_x", sign.x / w}, {"top_left_y", sign.y / h},
                                                           {"width", sign.w / w}, {"height", sign.h / h},
                                                           {"rotation", 0}}}}}}});
    }
  }
  const nlohmann::json info = {{"description", "SynthVQA, generated by prune-bench synth"}, {"version", kGeneratorVersion}};
  auto write_json = [&](const std::string& name, const nlohmann::json& j) {
    write_file_atomic((dir / name).string(), j.dump(1) + "\n");
    written.push_back(name);
  };
  write_json(f.vqav2_questions, {{"info", info}, {"task_type", "Open-Ended"}, {"data_type", "synthvqa"},
                                 {"data_subtype", subtype(r.split)}, {"license", nlohmann::json::object()},
                                 {"questions", vq_questions}});
  write_json(f.vqav2_annotations, {{"info", info}, {"data_type", "synthvqa"}, {"data_subtype", subtype(r.split)},
                                   {"license", nlohmann::json::object()}, {"annotations", vq_annotations}});
  write_json(f.gqa, gqa);
  write_json(f.textvqa, {{"dataset_version", "0.5.1"}, {"dataset_type", r.split}, {"dataset_name", "synthvqa"}, {"data", tv_data}});
  write_json(f.textvqa_ocr, {{"dataset_version", "0.2"}, {"dataset_type", r.split}, {"dataset_name", "synthvqa"}, {"data", ocr_data}});

  // Specs relative to the folder, so the bytes do not depend on where the split was written.
  nlohmann::json summary = {{"request", request_json(r)}, {"questions_per_type", per_type}, {"specs", nlohmann::json::object()}};
  for (const char* format : {"vqav2", "gqa", "textvqa"}) summary["specs"][format] = synth_dataset_spec(".", r.split, format);
  write_json("synthvqa.json", summary);
  for (const char* format : {"vqav2", "gqa", "textvqa"}) summary["specs"][format] = synth_dataset_spec(r.out_dir, r.split, format);

  std::sort(written.begin(), written.end());
  std::string manifest;
  for (const std::string& name : written) manifest += fmt::format("{}\t{}\n", file_hash((dir / name).string()), name);
  write_file_atomic((dir / "manifest.tsv").string(), manifest);
  return summary;
}

}  // namespace pb::synth
