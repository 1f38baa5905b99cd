"""Branch a run folder with other settings, keeping every stage the changed settings do not touch.

    python bench/branch_run.py SRC DST ver_lr=1e-3 ver_epochs=3 [...] [--split dev] [--run]

Settings are RunConfig fields. Stages before the first one a changed setting feeds are kept (copied): e.g. a
new learning rate keeps the problems, the sampled and labelled candidates and the verifier rows, and retrains
and rescores; a new K keeps the trained verifiers and rescores the CoT methods. This is how the dev-split
sweeps of the fair protocol share their sampling (same candidates for every setting). With `--run` the branch
is run at once on `--split` (default dev: settings are chosen on dev).
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import fields
from pathlib import Path

from genrm import pipeline
from genrm.core.config import RunConfig

# the first stage each setting feeds (anything not listed: the run starts again from its problems)
FIRST_STAGE = {
    "n_train_samples": "sample_verifier_train",
    "unified_lambda": "verifier_data",
    "balance": "verifier_data",
    "judge_shots": "score_judge",
    "k_votes": "score_genrm_cot",
    "cot_temperature": "score_genrm_cot",
    "cot_max_new_tokens": "score_genrm_cot",
    "methods": "evaluate",  # fewer methods (a tuning sweep without the judge): nothing else changes
}
ONLY_KIND = {"orm_lr": {"orm"}, "dpo_lr": {"dpo"}, "dpo_beta": {"dpo"}}  # settings of one verifier
TRAINING = {"ver_epochs", "ver_steps", "ver_lr", "orm_lr", "dpo_lr", "dpo_beta", "ver_batch_size", "lora_r"}


def _value(field_type: str, text: str):
    return {"int": int, "float": float, "bool": lambda s: s.lower() in ("1", "true", "yes")}.get(field_type, str)(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("settings", nargs="+", help="field=value")
    ap.add_argument("--split", default="dev", choices=("dev", "test"))
    ap.add_argument("--run", action="store_true")
    a = ap.parse_args()
    src, dst = Path(a.src), Path(a.dst)
    types = {f.name: str(f.type) for f in fields(RunConfig)}
    changes = {}
    for s in a.settings:
        key, _, text = s.partition("=")
        if key not in types:
            raise SystemExit(f"unknown setting {key!r}; RunConfig fields: {', '.join(types)}")
        changes[key] = _value(types[key], text)
    header = json.loads((src / "run.json").read_text())
    config = RunConfig.from_dict({**header["config"], **changes})
    run_src = pipeline.Run(src, a.split)
    order = [m for m, _ in pipeline.runner.stages(run_src)]
    firsts = [
        next(m for m in order if m.startswith("train_")) if key in TRAINING else FIRST_STAGE.get(key, order[0])
        for key in changes
    ]
    cut = min(next((i for i, m in enumerate(order) if m.startswith(f)), 0) for f in firsts)
    keep = set(order[:cut])
    if all(key in TRAINING for key in changes):  # only training settings: untouched verifiers and the judge stay
        hit = set().union(*(ONLY_KIND.get(key, {"orm", "dpo", "genrm", "genrm_cot"}) for key in changes))
        keep |= {
            m
            for m in order
            if m.split("@")[0]
            in {
                "score_judge",
                *(f"{x}_{k}" for x in ("train", "score") for k in {"orm", "dpo", "genrm", "genrm_cot"} - hit),
            }
        }
    if dst.exists():
        raise SystemExit(f"{dst} exists; pick a new folder")
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.checkpoints", "*.tmp"))
    header["config"] = config.to_dict()
    (dst / "run.json").write_text(json.dumps(header, indent=2))
    run = pipeline.Run(dst, a.split)
    for marker in (dst / ".done").iterdir():
        if marker.name in keep:
            continue
        marker.unlink()
        name = marker.name.split("@")[0]
        # resumable stages would pick up the copied rows: remove what the redone stage writes
        if name.startswith("sample_"):
            (dst / "samples" / f"{name.removeprefix('sample_')}.jsonl").unlink(missing_ok=True)
        if name.startswith("score_"):
            for split in ("test", "dev"):
                pipeline.Run(dst, split).out("scores", f"{name.removeprefix('score_')}.jsonl").unlink(missing_ok=True)
    print(f"{dst}: kept {', '.join(m for m in order if m in keep)}; redoes the rest")
    if a.run:
        pipeline.run_all(run)
        print((run.out("results.md")).read_text())


if __name__ == "__main__":
    main()
