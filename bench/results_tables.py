"""The results tables of the README and the docs, made from the compact run files kept under `docs/results/`
(never typed in).

    python bench/results_tables.py            # print every table
    python bench/results_tables.py --write    # replace each table in README.md and docs/*.md between its markers

Each table sits between `<!-- results:NAME -->` and `<!-- /results:NAME -->` (the README holds `headline`,
docs/protocol.md the others); `tests/test_readme_results.py` checks that every such block equals what this
script makes from the files.
A run folder under `docs/results/` holds `run.json`, `results.json`, `results.md`, `probes.json`,
`verifier_data/stats.json`, `verifier_data/coherence.json`, `probe_oracle.json` (the teacher-forced probe),
the labelled candidates and per-candidate scores (rationale texts only for a few problems).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "results"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
METHODS = ["pass@1", "self-consistency", "ORM", "DPO", "GenRM", "GenRM-CoT", "LLM-as-a-Judge"]
VERIFIERS = ["ORM", "DPO", "GenRM", "GenRM-CoT", "LLM-as-a-Judge"]
PAIRS = [
    "GenRM-CoT - self-consistency",
    "GenRM-CoT - pass@1",
    "GenRM-CoT - GenRM",
    "GenRM-CoT - ORM",
    "DPO - GenRM-CoT",
    "DPO - self-consistency",
    "DPO - ORM",
    "GenRM - ORM",
]


def _load(run: Path, name: str):
    f = run / name
    return json.loads(f.read_text()) if f.exists() else None


def _cell(m: dict | None) -> str:
    if not m:
        return "-"
    lo, hi = m["ci95_at_N"]
    return f"{m['best_of_n'][str(_n(m))]:.3f} ({lo:.2f}-{hi:.2f})"


def _n(m: dict) -> int:
    return max(int(k) for k in m["best_of_n"])


def _f(x, digits=3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _yes_bad_share(run: Path) -> float | None:
    c = _load(run, "verifier_data/coherence.json")
    if not c:
        return None
    m = c["marked"]
    n = m["yes_negative"] + m["yes_clean"]
    return m["yes_negative"] / n if n else None


def _row(label: str, run: Path) -> str | None:
    r = _load(run, "results.json")
    if r is None:
        return None
    ms = r["methods"]
    n = r["N"]
    cells = [_cell(ms.get(k)) for k in METHODS] + [_f(ms.get("pass@N (oracle)", {}).get("best_of_n", {}).get(str(n)))]
    within = " / ".join(_f(ms.get(v, {}).get("auroc_within_problem"), 2) for v in VERIFIERS)
    probe = _load(run, "probe_oracle.json") or {}
    faith = (r.get("probes") or {}).get("genrm_cot_rationales") or {}
    extra = [
        within,
        _f(probe.get("auroc_p_yes_given_oracle_rationale"), 2),
        _f(faith.get("step_agreement"), 2),
        _f(_yes_bad_share(run), 2),
    ]
    return f"| {label} | " + " | ".join(cells + extra) + " |"


HEAD = (
    "| run | pass@1 | self-consistency | ORM | DPO | GenRM | GenRM-CoT | judge | pass@16 | AUROC within "
    "(ORM / DPO / GenRM / CoT / judge) | CoT verdict AUROC after the oracle rationale | CoT steps as the oracle "
    "writes them | Yes rows with a bad mark |\n|" + "---|" * 13
)


def _before_after_table(group: str, runs: list[tuple[str, str]]) -> str:
    """One row per (label, run folder) and version: the run's "-before" folder, then its own."""
    lines = [HEAD]
    for label, name in runs:
        for when, suffix in (("before", "-before"), ("after", "")):
            row = _row(f"{label}, {when}", DOCS / group / f"{name}{suffix}")
            if row:
                lines.append(row)
    return "\n".join(lines)


def test_table(group: str, task: str, seeds=(0, 1, 2)) -> str:
    return _before_after_table(group, [(f"seed {s}", f"{task}-s{s}") for s in seeds])


def lineage_table(group: str) -> str:
    return _before_after_table(group, [(t.replace("_", "-"), f"l2-{t}") for t in ("last_letter", "word_sort")])


def paired_table(group: str, names: list[str]) -> str:
    lines = ["| run | " + " | ".join(PAIRS) + " |", "|" + "---|" * (len(PAIRS) + 1)]
    for name in names:
        r = _load(DOCS / group / name, "results.json")
        if r is None or "paired" not in r:
            continue
        cells = []
        for pair in PAIRS:
            d = r["paired"].get(pair)
            if d is None:
                a, b = pair.split(" - ")
                d = r["paired"].get(f"{b} - {a}")
                d = d and {"difference": -d["difference"], "ci95": [-d["ci95"][1], -d["ci95"][0]]}
            cells.append("-" if d is None else f"{d['difference']:+.3f} ({d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def steps_table(group: str, names: list[str]) -> str:
    lines = [
        '| run | GenRM-CoT step F1 (95% CI) | first wrong step found | "no error" on error-free '
        "| Best-of-16: min step | outcome score |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        r = _load(DOCS / group / name, "results.json")
        if r is None:
            continue
        m = r["methods"].get("GenRM-CoT", {})
        st = m.get("steps")
        if not st or st.get("f1") is None:
            continue
        lo, hi = st["ci95_f1"]
        n = str(r["N"])
        lines.append(
            f"| {name} | {st['f1']:.3f} ({lo:.2f}-{hi:.2f}) | {st['error_accuracy']:.3f} of {st['n_error']:,} | "
            f"{st['correct_accuracy']:.3f} of {st['n_correct']:,} | "
            f"{r['methods']['GenRM-CoT (min step)']['best_of_n'][n]:.3f} | {m['best_of_n'][n]:.3f} |"
        )
    return "\n".join(lines)


def dev_table() -> str:
    lines = [HEAD.replace("| run |", "| dev run |", 1)]
    for run in sorted(p for p in (DOCS / "dev").iterdir() if p.is_dir()) if (DOCS / "dev").is_dir() else []:
        row = _row(run.name, run)
        if row:
            lines.append(row)
    return "\n".join(lines)


def headline_table(runs: str = "final", task: str = "last_letter", seeds=(0, 1, 2)) -> str:
    """Best-of-16 of every method on one task's final runs, one row per seed (the README's one table)."""
    cols = [*METHODS, "pass@N (oracle)"]
    names = [c.replace("LLM-as-a-Judge", "judge").replace(" (oracle)", "") for c in cols]
    lines = ["| seed | " + " | ".join(names) + " |"]
    lines.append("|---" * (len(cols) + 1) + "|")
    for seed in seeds:
        r = _load(DOCS / runs / f"{task}-s{seed}", "results.json")
        if r:
            lines.append(f"| {seed} | " + " | ".join(_cell(r["methods"].get(c)) for c in cols) + " |")
    return "\n".join(lines)


def bench_steps_table(root: str = "bench") -> str:
    """ProcessBench F1 and BIG-Bench Mistake numbers of the quickstart's GenRM (docs/benchmarks.md)."""
    lines = ["| benchmark | subset | n | error acc | correct acc | F1 (95% CI) | mistake AUROC (95% CI) |"]
    lines.append("|---" * 7 + "|")
    pb = _load(DOCS / root / "processbench-genrm", "results.json")
    for name, r in (pb or {}).get("subsets", {}).items():
        f1 = f"{_f(r['f1'], 1)} ({_f(r['ci95_f1'][0], 1)}-{_f(r['ci95_f1'][1], 1)})" if r["ci95_f1"] else "-"
        n = r["n_error"] + r["n_correct"]
        lines.append(f"| ProcessBench | {name} | {n} | {_f(r['error_acc'], 1)} | {_f(r['correct_acc'], 1)} | {f1} | |")
    if pb and "avg_f1" in pb:
        ci = pb.get("ci95_avg_f1") or [None, None]
        lines.append(f"| ProcessBench | average | | | | {_f(pb['avg_f1'], 1)} ({_f(ci[0], 1)}-{_f(ci[1], 1)}) | |")
    bbm = _load(DOCS / root / "bbm-genrm", "results.json")
    for name, r in (bbm or {}).get("tasks", {}).items():
        au = f"{_f(r['auroc'], 2)} ({_f(r['ci95'][0], 2)}-{_f(r['ci95'][1], 2)})" if r["ci95"] else _f(r["auroc"], 2)
        n = r["n_mistake"] + r["n_clean"]
        loc, clean = (_f(None if x is None else 100 * x, 1) for x in (r["location_acc"], r["no_mistake_acc"]))
        lines.append(f"| BIG-Bench Mistake | {name} | {n} | {loc} | {clean} | | {au} |")
    return "\n".join(lines)


def bench_bon_table(root: str = "bench") -> str:
    """Best-of-N on the Qwen2.5-Math file: the file's reward model and the quickstart's GenRM (docs/benchmarks.md)."""
    r = _load(DOCS / root / "bon-genrm", "results.json")
    if not r:
        return "| method |\n|---|"
    grid = r["grid"]
    lines = ["| method | " + " | ".join(f"N={n}" for n in grid) + " | 95% CI at N |", "|---" * (len(grid) + 2) + "|"]
    for m, row in r["methods"].items():
        ci = row["ci95_at_N"]
        cells = " | ".join(f"{100 * row['at_n'][str(n)]:.1f}" for n in grid)
        lines.append(f"| {m} | {cells} | {100 * ci[0]:.1f}-{100 * ci[1]:.1f} |")
    return "\n".join(lines)


def bench_keys_table(root: str = "bench") -> str:
    """The master-key audit of the quickstart's GenRM and GenRM-CoT, as read and with the floor."""
    lines = ["| verifier | problems | candidate | above every real wrong one | mean gap | floored: above | detected |"]
    lines.append("|---" * 7 + "|")
    for method in ("genrm", "genrm_cot"):
        r = _load(DOCS / root / f"master-keys-{method}", "results.json")
        if not r:
            continue
        for kind in ("empty", "colon", "opener", "question", "answer_only", "repetition"):
            a, b = r["kinds"][kind], r["kinds"][f"{kind} (floored)"]
            lines.append(
                f"| {method} | {r['problems']} | {kind} | {a['share_above_every_wrong']:.3f} | {a['mean_gap']:+.3f} "
                f"| {b['share_above_every_wrong']:.3f} | {a['detected_degenerate']:.2f} |"
            )
    return "\n".join(lines)


def tables() -> dict[str, str]:
    out = {
        "headline": headline_table(),
        "dev": dev_table(),
        "last_letter": test_table("final", "last_letter"),
        "word_sort": test_table("final", "word_sort"),
        "lineage2": lineage_table("final"),
    }
    after = [f"{t}-s{s}" for t in ("last_letter", "word_sort") for s in (0, 1, 2)]
    out["paired"] = paired_table("final", after + ["l2-last_letter", "l2-word_sort"])
    out["steps"] = steps_table("final", after + ["l2-last_letter", "l2-word_sort"])
    out["bench_steps"] = bench_steps_table()
    out["bench_bon"] = bench_bon_table()
    out["bench_keys"] = bench_keys_table()
    return out


def blocks(text: str) -> dict[str, str]:
    """A page's results blocks by name."""
    return {m[1]: m[2].strip() for m in re.finditer(r"<!-- results:(\w+) -->\n(.*?)<!-- /results:\1 -->", text, re.S)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="replace the tables in README.md and docs/*.md")
    a = ap.parse_args()
    made = tables()
    if not a.write:
        for k, v in made.items():
            print(f"<!-- results:{k} -->\n{v}\n<!-- /results:{k} -->\n")
        return
    written = set()
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for k, v in made.items():
            text, n = re.subn(
                rf"<!-- results:{k} -->\n.*?<!-- /results:{k} -->",
                f"<!-- results:{k} -->\n{v}\n<!-- /results:{k} -->",
                text,
                flags=re.S,
            )
            if n:
                written.add(k)
        page.write_text(text, encoding="utf-8")
    for k in sorted(set(made) - written):
        print(f"no page has a block results:{k}", file=sys.stderr)


if __name__ == "__main__":
    main()
