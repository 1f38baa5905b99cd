"""One row per run (seeds, lineages, settings): Best-of-N at the run's N for every method, with 95% CIs, and
each verifier's within-problem AUROC, from the runs' results.json (test split, or `dev/` for a dev run).

    python bench/protocol_table.py RUN [RUN ...] [--split dev]

Prints a Markdown table, plus the mean over the runs of each column.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = [
    ("pass@1", "pass@1"),
    ("self-consistency", "SC"),
    ("ORM", "ORM"),
    ("DPO", "DPO"),
    ("GenRM", "GenRM"),
    ("GenRM-CoT", "GenRM-CoT"),
    ("LLM-as-a-Judge", "judge"),
    ("pass@N (oracle)", "pass@N"),
]
VERIFIERS = ("ORM", "DPO", "GenRM", "GenRM-CoT", "LLM-as-a-Judge")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--split", default="test", choices=("test", "dev"))
    a = ap.parse_args()
    rows, sums = [], {}
    for r in a.runs:
        path = Path(r) / ("dev" if a.split == "dev" else "") / "results.json"
        res = json.loads(path.read_text())
        n, ms = str(res["N"]), res["methods"]
        cells = []
        for name, short in COLUMNS:
            if name not in ms:
                cells.append("")
                continue
            v, (lo, hi) = ms[name]["best_of_n"][n], ms[name]["ci95_at_N"]
            sums.setdefault(short, []).append(v)
            cells.append(f"{v:.3f} ({lo:.2f}-{hi:.2f})")
        within = [f"{ms[v]['auroc_within_problem']:.2f}" if v in ms else "-" for v in VERIFIERS]
        rows.append(f"| {Path(r).name} | " + " | ".join(cells) + " | " + " / ".join(within) + " |")
    head = "| run | " + " | ".join(f"{s} @N" for _, s in COLUMNS) + " | AUROC within (ORM/DPO/GenRM/CoT/judge) |"
    print(head)
    print("|" + "---|" * (len(COLUMNS) + 2))
    print("\n".join(rows))
    if len(rows) > 1:
        means = [f"{sum(sums[s]) / len(sums[s]):.3f}" if s in sums else "" for _, s in COLUMNS]
        print("| mean | " + " | ".join(means) + " | |")


if __name__ == "__main__":
    main()
