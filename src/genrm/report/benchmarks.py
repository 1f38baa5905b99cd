"""A benchmark run's results.md and report.html (`genrm bench`), read from its folder: the metrics table and a
browser of the solutions with their steps (the annotated first wrong step underlined, the predicted one
outlined) or of a Best-of-N file's problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.io import read_json, read_jsonl
from .assets import CSS
from .charts import esc, fmt

BROWSE = 60  # solutions shown per subset in the browser


def _pct(x: Any) -> str:
    return "–" if x is None else f"{x:.1f}"


def _ci(ci: Any, scale: float = 1.0, digits: int = 1) -> str:
    return "–" if not ci else f"{ci[0] * scale:.{digits}f}–{ci[1] * scale:.{digits}f}"


def markdown(results: dict) -> str:
    """The metrics as a Markdown table (the same numbers as results.json)."""
    kind = results["benchmark"]
    lines = [f"# {kind}: {results.get('verifier') or ', '.join(results.get('methods', {}))}", ""]
    if kind == "processbench":
        lines += ["| subset | error acc | correct acc | F1 | 95% CI | n (error / correct) | parsed |", "|---" * 7 + "|"]
        for s, r in results["subsets"].items():
            lines.append(
                f"| {s} | {_pct(r['error_acc'])} | {_pct(r['correct_acc'])} | {_pct(r['f1'])} | {_ci(r['ci95_f1'])} "
                f"| {r['n_error']} / {r['n_correct']} | {results['parsed'][s]:.2f} |"
            )
        if "avg_f1" in results:
            lines.append(f"| **average** | | | **{_pct(results['avg_f1'])}** | {_ci(results.get('ci95_avg_f1'))} | | |")
    elif kind == "big-bench-mistake":
        lines += [
            "| task | location acc | no-mistake acc | mistake AUROC | 95% CI | n (mistake / clean) |",
            "|---" * 6 + "|",
        ]
        for t, r in results["tasks"].items():
            loc = "–" if r["location_acc"] is None else f"{r['location_acc']:.3f}"
            clean = "–" if r["no_mistake_acc"] is None else f"{r['no_mistake_acc']:.3f}"
            au = "–" if r["auroc"] is None else f"{r['auroc']:.3f}"
            lines.append(
                f"| {t} | {loc} | {clean} | {au} | {_ci(r['ci95'], digits=2)} | {r['n_mistake']} / {r['n_clean']} |"
            )
    else:
        grid = results["grid"]
        lines += [
            "| method | " + " | ".join(f"N={n}" for n in grid) + " | 95% CI at N |",
            "|---" * (len(grid) + 2) + "|",
        ]
        for m, r in results["methods"].items():
            cells = " | ".join(f"{100 * r['at_n'][str(n)]:.1f}" for n in grid)
            lines.append(f"| {m} | {cells} | {_ci(r['ci95_at_N'], 100)} |")
        lines += ["", "The authors' definitions (`rm_maj_eval.py`: the first k responses of each problem):", ""]
        lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v:.1f} |" for k, v in results["authors"].items()]
    return "\n".join(lines) + "\n"


def master_keys_markdown(result: dict) -> str:
    """The master-key audit (`genrm bench master-keys`) as a Markdown table."""
    lines = [f"# master keys: {result['verifier']}, {result['problems']} problems", ""]
    lines += ["| candidate | share above every real wrong one | mean gap | detected degenerate |", "|---|---|---|---|"]
    for kind, r in result["kinds"].items():
        above, gap, seen = r["share_above_every_wrong"], r["mean_gap"], r["detected_degenerate"]
        lines.append(f"| {kind} | {above:.3f} | {gap:+.3f} | {seen:.2f} |")
    return "\n".join(lines) + "\n"


def _steps_html(row: dict, steps: list[str]) -> str:
    out = []
    for i, s in enumerate(steps):
        cls = " ".join(c for c, on in (("truth", row["label"] == i), ("pred", row["first_error"] == i)) if on)
        out.append(f'<li class="{cls}" value="{i}">{esc(s)}</li>')
    return '<ol start="0">' + "".join(out) + "</ol>"


def write_bench_report(out: str | Path, items: dict[str, list] | None = None) -> Path:
    """OUT/results.md and OUT/report.html from OUT/results.json and the predictions; `items` (subset -> the
    benchmark's `StepItem`s) adds the step texts to the browser."""
    out = Path(out)
    results = read_json(out / "results.json")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    body = [f"<h1>{esc(results['benchmark'])}</h1>", f"<pre>{esc(markdown(results))}</pre>"]
    if results["benchmark"] != "bon":
        body.append("<h2>Solutions</h2><p>Underlined: the annotated first wrong step; outlined: the predicted one.</p>")
        for subset, texts in (items or {}).items():
            path = out / "predictions" / f"{subset}.jsonl"
            if not path.exists():
                continue
            steps = {it.id: it for it in texts}
            rows = [r for r in read_jsonl(path) if r["id"] in steps][:BROWSE]
            body.append(f"<h3>{esc(subset)}</h3>")
            for r in rows:
                it = steps[r["id"]]
                label = "none" if r["label"] is None else r["label"]
                head = (
                    f"{esc(r['id'])}: annotated {label}, predicted {r['first_error']}, p(correct) {fmt(r['verdict'])}"
                )
                body.append(
                    f"<details><summary>{head}</summary><p>{esc(it.question)}</p>{_steps_html(r, it.steps)}</details>"
                )
    style = CSS + "li.truth{text-decoration:underline}li.pred{outline:2px solid #d62728}pre{white-space:pre-wrap}"
    html = f"<!doctype html><meta charset='utf-8'><title>genrm bench</title><style>{style}</style>{''.join(body)}"
    (out / "report.html").write_text(html, encoding="utf-8")
    return out / "report.html"
