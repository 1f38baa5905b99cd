"""Teacher-forced probe of a verifier model on a run's real test candidates: which part of the oracle
rationale does it get wrong?

    python bench/probe_rationales.py MODEL_DIR RUN_DIR [--pairs 300]

For pairs of one right and one wrong candidate per test problem (the generator's own samples), feeds the
GenRM-CoT prompt + the oracle rationale and reports the greedy next-token accuracy per role: the re-derived
step result (`truth`), the piece of the candidate's answer copied beside it (`candidate`; before the coherent
rationales, the candidate's step result), the ok / wrong / missing / extra mark, other tokens (the question's
words, the candidate's differing step in parentheses), and the verdict; plus the AUROC of p(Yes) after the
oracle rationale. Roles are read from the step format `word -> x/y ok` (last-letter); for other tasks only
mark / verdict / other are told apart.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import random

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from genrm.analysis.metrics import auroc
from genrm.core.schemas import CandidatesRow, read_rows
from genrm.pipeline import Run

MARKS = (" ok", " wrong", " missing", " extra")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("run")
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--split", default="test", help="test, or dev (a run made with --split dev)")
    ap.add_argument("--no-restate", action="store_true", help="a model trained without the question restated")
    a = ap.parse_args()
    run = Run(a.run)
    task, fmt = run.task, run.task.verify_format
    if a.no_restate:
        fmt = dataclasses.replace(fmt, restate_question=False)
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model).eval()
    problems = {p.id: p for p in run.problems(a.split)}
    rng, pairs = random.Random(0), []
    for row in read_rows(run.file("candidates", f"{a.split}.jsonl"), CandidatesRow):
        ok = [c["text"] for c in row["candidates"] if c["correct"]]
        bad = [c["text"] for c in row["candidates"] if not c["correct"]]
        if ok and bad:
            p = problems[row["problem_id"]]
            pairs += [(p, rng.choice(ok), True), (p, rng.choice(bad), False)]
    pairs = pairs[: a.pairs]
    yes = tok(fmt.yes, add_special_tokens=False).input_ids[-1]
    no = tok(fmt.no, add_special_tokens=False).input_ids[-1]
    acc, p_yes = collections.defaultdict(list), {True: [], False: []}
    for p, cand, label in pairs:
        prompt = tok(fmt.cot_prompt(task.prompt(p), cand)).input_ids
        target = tok(task.oracle_rationale(p, cand, fmt.decision), add_special_tokens=False).input_ids
        with torch.no_grad():
            logits = model(torch.tensor([prompt + target])).logits[0]  # (T, V)
        pred = logits[len(prompt) - 1 : -1].argmax(-1).tolist()
        toks = [tok.decode([t]) for t in target]
        for j, (t, z) in enumerate(zip(target, pred)):
            prev, prev2 = (toks[j - 1] if j else ""), (toks[j - 2] if j > 1 else "")
            role = (
                "verdict"
                if j == len(target) - 1
                else "mark"
                if toks[j] in MARKS
                else "candidate"
                if prev == "/"
                else "truth"
                if prev == " " and prev2 == " ->"
                else "other"
            )
            acc[role].append(t == z)
        p_yes[label].append(logits[-2][[yes, no]].softmax(-1)[0].item())
    out = {role: {"tokens": len(v), "accuracy": round(sum(v) / len(v), 4)} for role, v in sorted(acc.items())}
    out["auroc_p_yes_given_oracle_rationale"] = auroc(
        p_yes[True] + p_yes[False], [True] * len(p_yes[True]) + [False] * len(p_yes[False])
    )
    out["pairs"] = len(pairs)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
