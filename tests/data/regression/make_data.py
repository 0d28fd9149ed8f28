#!/usr/bin/env python3
"""Writes the CI regression dataset (README.md). Step 1 (no argument): questions with placeholder
answers. Step 2 (`make_data.py JOURNAL_GQA JOURNAL_VQA`): the unpruned tiny model's answers from the
two journals of a `prune-bench run --pruner none` become the ground truth."""
import json
import sys

IMAGES = ["fruits", "messi5", "baboon", "HappyFish", "left01"]
QUESTIONS = [
    "What is in the picture?", "What color is the largest object?", "Is there a person?",
    "How many objects are there?", "What is on the left?", "Where was this photo taken?",
    "What is the main subject doing?", "Is it daytime?", "What shape is in the center?",
    "What is the background?", "Which object is the biggest?", "What animal is shown?",
]


def write(answers_gqa, answers_vqa):
    gqa = {}
    for i, q in enumerate(QUESTIONS):
        qid = f"ci{i:02d}"
        gqa[qid] = {"imageId": IMAGES[i % 5], "question": q, "answer": answers_gqa.get(qid, "yes"),
                    "fullAnswer": "", "isBalanced": True,
                    "types": {"structural": ["query", "verify", "choose"][i % 3], "semantic": "obj", "detailed": "x"}}
    with open("gqa_questions.json", "w") as f:
        json.dump(gqa, f, indent=1)
    lines, annotations = [], []
    for i, q in enumerate(QUESTIONS):
        qid = 9000 + i
        lines.append({"question_id": qid, "image": IMAGES[(i + 2) % 5] + ".jpg",
                      "text": q + "\nAnswer the question using a single word or phrase.", "category": "default"})
        answer = answers_vqa.get(str(qid), "yes")
        copies = 1 + i % 4  # 1-4 of 10 humans: scores 0.3, 0.6, 0.9, 1.0 when the model agrees
        answers = [answer] * copies + ["something else"] * (10 - copies)
        annotations.append({"question_id": qid, "image_id": i % 5, "question_type": "what is",
                            "answer_type": ["other", "yes/no", "number"][i % 3], "multiple_choice_answer": answer,
                            "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": k + 1}
                                        for k, a in enumerate(answers)]})
    with open("llava_vqav2_questions.jsonl", "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    with open("vqav2_annotations.json", "w") as f:
        json.dump({"info": {}, "license": {}, "data_subtype": "val2014", "annotations": annotations}, f, indent=1)


def answers_of(journal, field):
    out = {}
    for line in open(journal):
        r = json.loads(line)
        out[r["key"]] = r[field]
    return out


if __name__ == "__main__":
    if len(sys.argv) == 3:
        # GQA: the normalised answer (gqa_llava lower-cases the prediction, not the gold answer);
        # VQAv2: the raw answer (the VQA metric normalises both sides).
        write(answers_of(sys.argv[1], "answer"), answers_of(sys.argv[2], "answer_raw"))
    else:
        write({}, {})
