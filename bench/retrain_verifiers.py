"""Is a verifier compute-limited? Retrain it on a finished run's own verifier rows with more steps, score
the same test candidates, and print Best-of-N at the run's N and within-problem AUROC.

    python bench/retrain_verifiers.py RUN STEPS [--kinds orm,genrm]

Works on a copy (`RUN_steps<STEPS>`); the run itself is not touched.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
from pathlib import Path

from genrm import pipeline
from genrm.analysis.evaluate import VERIFIER_NAMES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("steps", type=int)
    ap.add_argument("--kinds", default="orm,genrm")
    a = ap.parse_args()
    src = Path(a.run)
    dst = src.with_name(f"{src.name}_steps{a.steps}")
    if not dst.exists():
        shutil.copytree(src, dst)
    run = pipeline.Run(dst)
    run.config = replace(run.config, ver_steps=a.steps, ver_epochs=0)  # a fixed number of steps
    kinds = a.kinds.split(",")
    for kind in kinds:
        log = pipeline.train_verifier(run, kind)
        print(f"{kind}: {log['steps']} steps, last losses {[round(x, 4) for _, x in log['losses'][-3:]]}")
        (dst / "scores" / f"{kind}.jsonl").unlink(missing_ok=True)
        pipeline.score(run, kind)
    res = pipeline.evaluate_run(run)
    n = str(res["N"])
    for name in ("pass@1", "self-consistency", *(VERIFIER_NAMES[k] for k in kinds)):
        m = res["methods"][name]
        within = m.get("auroc_within_problem")
        print(f"{name:18s} Best-of-{n} {m['best_of_n'][n]:.3f}" + (f"  AUROC within {within:.3f}" if within else ""))


if __name__ == "__main__":
    main()
