"""GenRM-CoT's rationale temperature on a dev split, never the test set.

Samples the run's generator on its `gen_dev` problems (held-out training-distribution problems), labels
the candidates, scores them with the run's trained GenRM-CoT (or the judge) at each temperature, and
prints the within-problem AUROC and Best-of-N. The README's temperature figures come from:

    python bench/dev_cot_temperature.py genrm-runs/quickstart-last_letter-cpu --temperatures 1.0,0.3
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from genrm.analysis.metrics import auroc, best_of_n
from genrm.data.candidates import label_candidates, load_candidates, sample_candidates
from genrm.pipeline import Run
from genrm.pipeline.run import _engine, generator_spec
from genrm.pipeline.verification import make_verifier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a run folder with a trained GenRM-CoT")
    ap.add_argument("--method", default="genrm_cot", help="genrm_cot or judge")
    ap.add_argument("--temperatures", default="1.0,0.3")
    ap.add_argument("--k", type=int, default=0, help="rationales per candidate (0: the run's k_votes)")
    args = ap.parse_args()
    run = Run(args.run)
    c = run.config
    dev = run.problems("gen_dev")
    out = Path(args.run) / "dev"
    if not (out / "candidates.jsonl").exists():  # sampled once, with its own seed, then reused
        engine = _engine(generator_spec(run), run)
        sample_candidates(
            engine,
            run.task,
            dev,
            out / "samples.jsonl",
            n=c.n_candidates,
            temperature=c.temperature,
            max_new_tokens=c.max_new_tokens,
            seed=c.seed + 99,
        )
        label_candidates(run.task, dev, out / "samples.jsonl", out / "candidates.jsonl")
    cands = load_candidates(out / "candidates.jsonl", dev)
    items = [(run.task.prompt(p), cd.text) for p in dev for cd in cands[p.id]]
    for temp in (float(t) for t in args.temperatures.split(",")):
        run.config = replace(c, cot_temperature=temp, k_votes=args.k or c.k_votes)
        t0 = time.time()
        results = make_verifier(run, args.method).score(items)
        k, within, bon = 0, [], []
        for p in dev:
            scores = [r[0] for r in results[k : k + len(cands[p.id])]]
            labels = [bool(cd.correct) for cd in cands[p.id]]
            k += len(labels)
            a = auroc(scores, labels)
            within += [a] if a is not None else []
            bon.append(best_of_n(scores, labels, len(labels)))
        print(
            json.dumps(
                {
                    "method": args.method,
                    "temperature": temp,
                    "dev_problems": len(dev),
                    "auroc_within_problem": round(sum(within) / max(1, len(within)), 3),
                    "best_of_n": round(sum(bon) / len(bon), 3),
                    "seconds": round(time.time() - t0),
                }
            )
        )


if __name__ == "__main__":
    main()
