"""Can a model write the question's words where a GenRM-CoT rationale needs them? A teacher-forced probe.

    python bench/probe_recall.py MODEL RUN [--split dev] [--problems 100] [--no-restate] [--marks]

For the first candidate of each of the first problems of a last-letter run, feeds the CoT prompt (question,
candidate, "Let's verify step by step.", and, unless --no-restate, the question restated) and the oracle's
steps up to step i, and reports how often the model's greedy next token is question word i, per step
(`recall_by_step`). With --marks the steps carry
the rationale's annotations (`w -> x/x ok`); without, they are written as a solution (`w -> x`). The README's
"What changed" list cites this probe's files under docs/results/dev/.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from genrm.core.schemas import CandidatesRow, read_rows
from genrm.pipeline import Run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("run")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--problems", type=int, default=100)
    ap.add_argument("--no-restate", action="store_true")
    ap.add_argument("--marks", action="store_true")
    a = ap.parse_args()
    run = Run(a.run)
    task = run.task
    fmt = dataclasses.replace(task.verify_format, restate_question=not a.no_restate)
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model).eval()
    problems = {p.id: p for p in run.problems(a.split)}
    rows = read_rows(run.file("candidates", f"{a.split}.jsonl"), CandidatesRow)[: a.problems]

    def greedy(text: str) -> str:
        with torch.no_grad():
            logits = model(tok(text, return_tensors="pt").input_ids).logits[0, -1]
        return tok.decode([int(logits.argmax())])

    recall: dict[int, list[bool]] = {}
    for row in rows:
        p = problems[row["problem_id"]]
        head = fmt.cot_prompt(task.prompt(p), row["candidates"][0]["text"])
        words = p.question.split()
        done = ""
        for i, w in enumerate(words):
            recall.setdefault(i + 1, []).append(greedy(head + done + ("," if i else "")) == f" {w}")
            step = f"{w} -> {w[-1]}" + (f"/{w[-1]} ok" if a.marks else "")
            done += ("," if i else "") + f" {step}"
    out = {
        "model": a.model,
        "restated": not a.no_restate,
        "marks": a.marks,
        "recall_by_step": {k: round(sum(v) / len(v), 3) for k, v in recall.items()},
        "problems": len(rows),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
