"""Keep the compact artefacts of a run folder (no models, no samples) where the README's tables read them.

    python bench/keep_results.py RUN DEST [--split dev]

Copies `run.json`, the split's `results.json`, `results.md`, `probes.json`, `probe_oracle.json` (the
teacher-forced probe, when present), `verifier_data/stats.json`, the labelled candidates of the split and
per-candidate scores (both gzipped JSONL) without rationale texts (GenRM-CoT's rationales kept for the first
20 problems, to read);
and writes `verifier_data/coherence.json`: `genrm.data.verifier_data.rationale_coherence` of the run's GenRM-CoT
rows, plus `marked`, the rows by label and by whether a step mark is `wrong` / `missing` / `extra` (read the
same way from either rationale format, so runs made before the coherent rationales are counted too).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
from pathlib import Path

from genrm.core.io import read_jsonl
from genrm.data.verifier_data import rationale_coherence

BAD = re.compile(r" (wrong|missing|extra)(?=[,. ])")  # a negative step mark, in the old format or the new


def coherence(rows_file: Path) -> dict:
    rows = [r for r in read_jsonl(rows_file) if "label" in r]
    out = rationale_coherence(rows)
    marked = {f"{y}_{b}": 0 for y in ("yes", "no") for b in ("negative", "clean")}
    for r in rows:
        bad = BAD.search(str(r["completion"]).split("Verification:")[0]) is not None
        marked[f"{'yes' if r['label'] else 'no'}_{'negative' if bad else 'clean'}"] += 1
    out["marked"] = marked
    return out


def keep(run: Path, dest: Path, split: str = "test") -> None:
    out = run / "dev" if split == "dev" else run
    dest.mkdir(parents=True, exist_ok=True)
    for src, name in [
        (run / "run.json", "run.json"),
        (out / "results.json", "results.json"),
        (out / "results.md", "results.md"),
        (out / "probes.json", "probes.json"),
        (run / "probe_oracle.json", "probe_oracle.json"),
        (run / "verifier_data" / "stats.json", "verifier_data/stats.json"),
        (run / "pretrain_log.json", "pretrain_log.json"),
        (run / "pretrain_log-run1.json", "pretrain_log-run1.json"),
    ]:
        if src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / name)
    cands = run / "candidates" / f"{split}.jsonl"
    if cands.exists():
        (dest / "candidates").mkdir(exist_ok=True)
        _gzip(cands.read_bytes(), dest / "candidates" / f"{split}.jsonl.gz")
    rows = run / "verifier_data" / "genrm_cot.jsonl"
    if rows.exists():
        (dest / "verifier_data").mkdir(exist_ok=True)
        (dest / "verifier_data" / "coherence.json").write_text(json.dumps(coherence(rows), indent=1))
    scores = out / "scores"
    for s in sorted(scores.glob("*.jsonl")) if scores.is_dir() else []:
        lines = []
        for i, row in enumerate(read_jsonl(s)):
            for c in row["scores"]:
                if i >= 20 or s.stem != "genrm_cot":
                    c.pop("rationales", None)
            lines.append(json.dumps(row))
        (dest / "scores").mkdir(exist_ok=True)
        _gzip(("\n".join(lines) + "\n").encode(), dest / "scores" / f"{s.name}.gz")


def _gzip(data: bytes, path: Path) -> None:
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as f:
        f.write(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("dest")
    ap.add_argument("--split", default="test", choices=("test", "dev"))
    a = ap.parse_args()
    keep(Path(a.run), Path(a.dest), a.split)


if __name__ == "__main__":
    main()
