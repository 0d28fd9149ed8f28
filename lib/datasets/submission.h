// Files for the official scorers: the EvalAI servers (VQAv2, TextVQA) and GQA's eval.py. Each is one
// JSON array written atomically (temporary file + rename) with the spacing of Python's json.dump, so
// the bytes equal those LLaVA's conversion scripts write for the same answers.
#pragma once

#include <map>
#include <string>

namespace pb {

// [{"question_id": int, "answer": str}] for EVERY question of `questions_file`, in its order, with ""
// for questions not in `answer_by_question_id` (as scripts/convert_vqav2_for_submission.py does over
// the whole test2015 list). `questions_file` is an official questions JSON, or a LLaVA .jsonl (by
// extension). Answers are written as given (the caller applies the EvalAI answer processor).
// pb::Error for an answer whose id is not in `questions_file`.
void write_vqav2_submission(const std::string& out_path, const std::string& questions_file,
                            const std::map<std::string, std::string>& answer_by_question_id);

// testdev_balanced_predictions.json for GQA's eval.py: [{"questionId": str, "prediction": str}], in
// question-id order. Predictions are written as given (LLaVA lower-cases and strips a final '.').
void write_gqa_submission(const std::string& out_path,
                          const std::map<std::string, std::string>& prediction_by_question_id);

// [{"question_id": int, "answer": str}] for the TextVQA EvalAI server, ordered by question id. Keys are
// TextVQA question ids, i.e. meta "textvqa_question_id" (for LLaVA's file, whose question_id is the
// image id, it is there once the TextVQA json is joined); pb::Error otherwise.
void write_textvqa_submission(const std::string& out_path,
                              const std::map<std::string, std::string>& answer_by_question_id);

}  // namespace pb
