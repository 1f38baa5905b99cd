"""report.html: one self-contained page per set of runs (inline SVG, CSS and JS; no network, nothing to install).

Sections: Best-of-N (table, curves with 95% bootstrap bands, vs K), accuracy vs compute, calibration
(reliability diagrams, pooled vs within-problem AUROC), a problem browser (every candidate, every method's
score and pick, the K rationales with their step verdicts, filters "verifier fooled" / "verifier rescued"),
training curves, data counts, stage times, config and environment. Several runs: a selector switches
between them and a table puts them side by side.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from .evaluate import VERIFIER_NAMES
from .io import read_json, read_jsonl
from .steps import StepVerdicts
from .types import TRAINED_KINDS

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]
COMPUTE_HEAD = ["method (at N, full K)", "tokens", "prefill", "generated", "FLOPs", "accuracy"]
AUROC_HEAD = ["verifier", "AUROC pooled", "AUROC within problem", "accuracy@0.5"]


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.{digits}f}" if abs(v) < 1e4 else f"{v:.3g}"
    return "–" if v is None else _esc(v)


# -- charts ---------------------------------------------------------------------------------------------------
def svg_chart(
    series: Sequence[dict[str, Any]],
    xlabel: str,
    ylabel: str,
    log_x: bool = True,
    y_range: tuple[float, float] | None = None,
    x_range: tuple[float, float] | None = None,
    width: int = 600,
    height: int = 340,
    diagonal: bool = False,
) -> str:
    """A line chart: each series `{"name", "x": [...], "y": [...], "lo"/"hi": optional band, "dash": bool}`."""
    pts = [(x, y) for s in series for x, y in zip(s["x"], s["y"]) if x is not None and y is not None]
    if not pts:
        return '<p class="muted">nothing to plot</p>'
    fx = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    xs = [fx(x) for x, _ in pts if not log_x or x > 0]
    x0, x1 = (fx(x_range[0]), fx(x_range[1])) if x_range else (min(xs), max(xs))
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    ys = [y for _, y in pts] + [v for s in series for v in (s.get("lo") or []) + (s.get("hi") or [])]
    y0, y1 = y_range or (min(ys), max(ys))
    if y1 == y0:
        y0, y1 = y0 - 0.05, y1 + 0.05
    L, R, T, B = 56, 190, 14, 44
    pw, ph = width - L - R, height - T - B

    def px(x: float) -> float:
        return L + (fx(x) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return T + (1 - (y - y0) / (y1 - y0)) * ph

    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    out.append(f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="#fff" stroke="#ccc"/>')
    for i in range(6):  # y grid
        yv = y0 + (y1 - y0) * i / 5
        out.append(f'<line x1="{L}" x2="{L + pw}" y1="{py(yv):.1f}" y2="{py(yv):.1f}" stroke="#eee"/>')
        label = f"{yv:.2f}" if y1 - y0 >= 0.2 else f"{yv:.3f}"
        out.append(f'<text x="{L - 6}" y="{py(yv) + 4:.1f}" text-anchor="end" class="tick">{label}</text>')
    if log_x:
        ticks = sorted({x for x, _ in pts if x > 0})
        if len(ticks) > 8:
            ticks = [10.0**e for e in range(math.floor(x0), math.ceil(x1) + 1)]
    else:
        ticks = [x0 + (x1 - x0) * i / 5 for i in range(6)]
    for xv in ticks:
        if not log_x or x0 - 1e-9 <= fx(xv) <= x1 + 1e-9:
            label = f"{xv:.3g}" if not float(xv).is_integer() or xv >= 1e4 else str(int(xv))
            out.append(f'<line x1="{px(xv):.1f}" x2="{px(xv):.1f}" y1="{T}" y2="{T + ph}" stroke="#f2f2f2"/>')
            out.append(f'<text x="{px(xv):.1f}" y="{T + ph + 16}" text-anchor="middle" class="tick">{label}</text>')
    if diagonal:
        out.append(
            f'<line x1="{px(x0):.1f}" y1="{py(y0):.1f}" x2="{px(x1):.1f}" y2="{py(y1):.1f}" '
            'stroke="#999" stroke-dasharray="4 3"/>'
        )
    for i, s in enumerate(series):
        color = s.get("color") or PALETTE[i % len(PALETTE)]
        xy = [(x, y) for x, y in zip(s["x"], s["y"]) if x is not None and y is not None and (not log_x or x > 0)]
        if s.get("lo") and s.get("hi"):
            band = [(px(x), py(h)) for x, h in zip(s["x"], s["hi"])] + [
                (px(x), py(lo)) for x, lo in reversed(list(zip(s["x"], s["lo"])))
            ]
            out.append(
                f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in band)}" fill="{color}" opacity="0.12"/>'
            )
        dash = ' stroke-dasharray="5 4"' if s.get("dash") else ""
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in xy)
        if len(xy) > 1 and not s.get("points_only"):
            out.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for x, y in xy:
            out.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}">'
                f"<title>{_esc(s['name'])}: x={x:.4g}, y={y:.3f}</title></circle>"
            )
        ly = T + 12 + 16 * i
        out.append(f'<rect x="{L + pw + 10}" y="{ly - 9}" width="12" height="4" fill="{color}"/>')
        out.append(f'<text x="{L + pw + 26}" y="{ly - 3}" class="legend">{_esc(s["name"])}</text>')
    out.append(f'<text x="{L + pw / 2}" y="{height - 6}" text-anchor="middle" class="axis">{_esc(xlabel)}</text>')
    out.append(
        f'<text x="14" y="{T + ph / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 14 {T + ph / 2})">{_esc(ylabel)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


# -- one run --------------------------------------------------------------------------------------------------
def load_run(path: str | Path) -> dict[str, Any]:
    """Everything the report shows of one run folder (results.json, test problems, candidates, scores, logs)."""
    path = Path(path)
    results = read_json(path / "results.json")
    split = results.get("split", "test")
    root = path.parent if split != "test" else path  # a dev evaluation lives in RUN/dev/
    problems = {r["id"]: r for r in read_jsonl(root / "problems" / f"{split}.jsonl")}
    cands = {r["problem_id"]: r["candidates"] for r in read_jsonl(root / "candidates" / f"{split}.jsonl")}
    methods = [m for m in (results.get("config") or {}).get("methods", "").split(",") if m]
    scores = {}
    for m in methods:
        f = path / "scores" / f"{m}.jsonl"
        if f.exists():
            scores[m] = {r["problem_id"]: r["scores"] for r in read_jsonl(f)}
    curves = {}
    for d in ("generator", *TRAINED_KINDS):
        log = root / "models" / d / "train_log.json"
        if log.exists():
            data = read_json(log)
            if data.get("losses"):
                curves[d] = data["losses"]
    return {
        "name": root.name + ("" if split == "test" else f" ({split})"),
        "path": str(path),
        "results": results,
        "problems": problems,
        "candidates": cands,
        "scores": scores,
        "curves": curves,
    }


def _calibration(scores: dict[str, list[dict]], cands: dict[str, list[dict]], bins: int = 10) -> dict[str, list]:
    """Reliability diagram: per score bin, mean score, share correct, count."""
    sums = [[0.0, 0.0, 0] for _ in range(bins)]
    for pid, rows in scores.items():
        for r, c in zip(rows, cands.get(pid, [])):
            b = min(bins - 1, max(0, int(r["score"] * bins)))
            sums[b][0] += r["score"]
            sums[b][1] += bool(c.get("correct"))
            sums[b][2] += 1
    keep = [s for s in sums if s[2]]
    return {"x": [s[0] / s[2] for s in keep], "y": [s[1] / s[2] for s in keep], "n": [s[2] for s in keep]}


STEPS_HEAD = ["verifier", "step F1 (ProcessBench)", "95% CI", "first wrong step found", "no error on correct", "read"]


def _steps_table(methods: dict[str, Any]) -> str:
    """ProcessBench's metric of the methods whose rationales carry step marks (empty when none do)."""
    rows = []
    for name, m in methods.items():
        st = m.get("steps")
        if st and st.get("f1") is not None:
            lo, hi = st.get("ci95_f1") or (None, None)
            ci = f"{lo:.3f}-{hi:.3f}" if lo is not None else ""
            rows.append(
                [name, st["f1"], ci, f"{st['error_accuracy']:.3f} of {st['n_error']}",
                 f"{st['correct_accuracy']:.3f} of {st['n_correct']}", st.get("parsed")]
            )
    if not rows:
        return ""
    return (
        '<h3 id="steps">Step verdicts</h3><p class="muted">Read from the rationales\' ok / wrong marks: does the '
        "verifier find the first wrong step of a wrong solution, and say \"no error\" on a right one "
        "(ProcessBench's F1, the harmonic mean of the two accuracies; labels from the oracle). \"read\": share of "
        "candidates whose rationales gave steps. The problem browser shows each candidate's steps coloured by "
        "the share of rationales marking them wrong.</p>" + _table(STEPS_HEAD, rows, "num")
    )


def _display(method: str) -> str:
    return VERIFIER_NAMES.get(method, method)


def _browser_data(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Per problem: question, answer, candidates (text, answer, correct), each method's scores, votes, rationales,
    its pick, majority voting's pick, and the fooled / rescued flags per method."""
    out = []
    labels = (run.get("results") or {}).get("first_errors") or {}  # the oracle's first wrong step per candidate
    for pid, p in run["problems"].items():
        cands = run["candidates"].get(pid, [])
        if not cands:
            continue
        answers = [c.get("answer") for c in cands]
        tally = Counter(a for a in answers if a is not None)
        top = max(tally.values(), default=0)
        majority = next((a for a in answers if a is not None and tally[a] == top), None)
        sc_right = any(c.get("correct") and c.get("answer") == majority for c in cands)
        any_right = any(c.get("correct") for c in cands)
        methods = {}
        for m, rows in run["scores"].items():
            rs = rows.get(pid) or []
            if not rs:
                continue
            vals = [r["score"] for r in rs]
            pick = max(range(len(vals)), key=lambda i: vals[i])
            verdicts = [StepVerdicts.from_rationales(r.get("rationales") or []) for r in rs]
            right = bool(cands[pick].get("correct")) if pick < len(cands) else False
            methods[m] = {
                "scores": vals,
                "votes": [r.get("votes") or [] for r in rs],
                "rationales": [r.get("rationales") or [] for r in rs],
                "pick": pick,
                "fooled": any_right and not right,
                "rescued": right and not sc_right,
                # per candidate: its steps, the share of rationales marking each wrong, the predicted first one
                "steps": [
                    {"steps": v.steps, "share": v.wrong_share, "first": v.first_error} if v else None for v in verdicts
                ],
            }
        out.append(
            {
                "id": pid,
                "question": p["question"],
                "answer": p["answer"],
                "candidates": [
                    {"text": c["text"], "answer": c.get("answer"), "correct": bool(c.get("correct")), "first_error": e}
                    for c, e in zip(cands, labels.get(pid) or [None] * len(cands))
                ],
                "majority": majority,
                "sc_right": sc_right,
                "methods": methods,
            }
        )
    return out


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    th = "".join(f"<th>{_esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if isinstance(c, _Raw) else _fmt(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


class _Raw(str):
    """Table cell HTML that is not escaped."""


def _training_table(training: dict[str, Any] | None) -> str:
    """Each trained verifier's training: rows, epochs, steps, learning rate, tokens, FLOPs, seconds."""
    if not training:
        return ""
    head = ["verifier", "rows", "epochs", "steps", "lr", "training tokens", "training FLOPs", "seconds"]
    rows = [
        [
            _display(k),
            t.get("rows"),
            t.get("epochs"),
            t.get("steps"),
            t.get("lr"),
            t.get("tokens"),
            t.get("flops"),
            t.get("seconds"),
        ]
        for k, t in training.items()
    ]
    return (
        '<h3>Verifier training</h3><p class="muted">Every verifier from the same base, on rows built from the same '
        "candidates. FLOPs: 6 x parameters x tokens (DPO: 8 x, the reference's forward passes included).</p>"
        + _table(head, rows, "num")
    )


def _run_sections(run: dict[str, Any], idx: int) -> str:
    res = run["results"]
    grid, N = res["n_grid"], res["N"]
    methods = res["methods"]
    parts = []
    # Best-of-N
    rows = []
    for name, m in methods.items():
        ci = m.get("ci95_at_N") or [None, None]
        rows.append(
            [
                name,
                *[m["best_of_n"][str(n)] for n in grid],
                _Raw(f"{_fmt(ci[0])}–{_fmt(ci[1])}"),
                m.get("verifier_accuracy"),
                m.get("auroc"),
                m.get("auroc_within_problem"),
            ]
        )
    table = _table(
        ["method", *[f"N={n}" for n in grid], "95% CI at N", "verifier acc", "AUROC", "AUROC within"], rows, "num"
    )
    series = []
    for name, m in methods.items():
        if name.startswith("weighted SC"):
            continue
        cis = m.get("ci95") or {}
        series.append(
            {
                "name": name,
                "x": grid,
                "y": [m["best_of_n"][str(n)] for n in grid],
                "lo": [cis[str(n)][0] for n in grid] if cis else None,
                "hi": [cis[str(n)][1] for n in grid] if cis else None,
                "dash": name in ("pass@1", "pass@N (oracle)", "base model alone (greedy)"),
            }
        )
    chart = svg_chart(series, "N (candidates per problem)", "accuracy", y_range=(0, 1))
    vs_k = [
        {"name": name, "x": [int(k) for k in m["best_of_N_vs_k"]], "y": list(m["best_of_N_vs_k"].values())}
        for name, m in methods.items()
        if "best_of_N_vs_k" in m
    ]
    k_chart = svg_chart(vs_k, "K (rationales per candidate)", f"Best-of-{N} accuracy") if vs_k else ""
    parts.append(
        f'<section id="best-of-n-{idx}" class="best-of-n"><h2>Best-of-N</h2>'
        f'<p class="muted">{res.get("problems")} test problems, N={N}; bands: 95% bootstrap CI over problems.'
        f"</p>{table}<div class=charts>{chart}{k_chart}</div></section>"
    )
    # accuracy vs compute
    comp = res.get("compute")
    if comp:
        unit = "flops" if all(p.get("flops") is not None for p in comp["accuracy_vs_compute"]) else "tokens"
        by: dict[str, dict[str, list]] = {}
        for pt in comp["accuracy_vs_compute"]:
            key = pt["method"] + (f" K={pt['K']}" if pt.get("K") else "")
            s = by.setdefault(key, {"x": [], "y": [], "lo": [], "hi": []})
            s["x"].append(pt[unit])
            s["y"].append(pt["accuracy"])
        series = [
            {"name": k, **v, "lo": None, "hi": None, "dash": "K=" in k and not k.endswith(f"K={_max_k(k, by)}")}
            for k, v in by.items()
        ]
        chart = svg_chart(series, f"{unit} per problem (log)", "accuracy", y_range=(0, 1), width=640)
        rows = [
            [
                name,
                v.get("tokens"),
                v.get("prefill_tokens"),
                v.get("generated_tokens"),
                v.get("flops"),
                v.get("accuracy"),
            ]
            for name, v in comp["per_problem_at_N"].items()
        ]
        params = ", ".join(f"{k} {v:,}" if v else f"{k} unknown" for k, v in comp["params"].items())
        parts.append(
            f'<section id="compute-{idx}" class="compute"><h2>Accuracy vs compute</h2>'
            f'<p class="muted">Every (N, K) the run allows, by subsampling its candidates and rationales. FLOPs: '
            f"{_esc(comp['flops_rule'])}; parameters: {_esc(params)}; shared prefix: {comp['shared_prefix']}. "
            f"<code>genrm plan {_esc(run['path'])} --budget B</code> picks the best point within a budget.</p>"
            f"{chart}{_table(COMPUTE_HEAD, rows, 'num')}{_training_table(comp.get('training'))}</section>"
        )
    else:
        parts.append(
            f'<section id="compute-{idx}" class="compute"><h2>Accuracy vs compute</h2><p class="muted">This '
            "results.json has no compute accounting (written by an older genrm): run "
            f"<code>genrm evaluate {_esc(run['path'])}</code> to add it.</p></section>"
        )
    # calibration
    cal_series, auc_rows = [], []
    for m, sc in run["scores"].items():
        name = _display(m)
        c = _calibration(sc, run["candidates"])
        cal_series.append({"name": name, "x": c["x"], "y": c["y"]})
        mm = methods.get(name, {})
        auc_rows.append([name, mm.get("auroc"), mm.get("auroc_within_problem"), mm.get("verifier_accuracy")])
    if cal_series:
        chart = svg_chart(
            cal_series, "mean score in bin", "share correct", log_x=False, y_range=(0, 1), x_range=(0, 1), diagonal=True
        )
        parts.append(
            f'<section id="calibration-{idx}" class="calibration"><h2>Calibration</h2>'
            '<p class="muted">Reliability diagram: candidates binned by score (10 bins); the dashed line is '
            "perfect calibration. Pooled AUROC ranks all candidates; within-problem AUROC is what Best-of-N "
            f"needs.</p>{chart}{_table(AUROC_HEAD, auc_rows, 'num')}{_steps_table(methods)}</section>"
        )
    # problem browser (rendered by the script from the embedded JSON)
    first = "genrm_cot" if "genrm_cot" in run["scores"] else next(iter(run["scores"]), "")
    method_opts = "".join(
        f'<option value="{_esc(m)}"{" selected" if m == first else ""}>{_esc(_display(m))}</option>'
        for m in run["scores"]
    )
    parts.append(
        f'<section id="problems-{idx}" class="problems"><h2>Problems</h2>'
        f'<div class="filters">method <select class="f-method">{method_opts}</select> '
        '<label><input type="checkbox" class="f-fooled"> verifier fooled (a wrong candidate ranked first, a right one '
        'existed)</label> <label><input type="checkbox" class="f-rescued"> verifier rescued (right pick where majority '
        'voting was wrong)</label> <input type="search" class="f-text" placeholder="search question or answer"> '
        '<span class="f-count"></span></div><div class="plist"></div><div class="pdetail"></div></section>'
    )
    # training, data, stages
    logs = res.get("stage_logs") or {}
    loss_series = [{"name": d, "x": [s for s, _ in c], "y": [v for _, v in c]} for d, c in run["curves"].items()]
    train = svg_chart(loss_series, "step", "training loss", log_x=False) if loss_series else ""
    rows = [
        [d, v.get("steps"), v.get("seconds"), v.get("rows"), v.get("train_loss"), v.get("tokens_per_second")]
        for d, v in logs.items()
        if isinstance(v, dict) and ("steps" in v or "rows" in v)
    ]
    data = logs.get("verifier_data") or {}
    data_rows = [[k, json.dumps(v) if isinstance(v, dict) else v] for k, v in data.items()]
    for split in ("label_verifier_train", "label_test"):
        if split in logs:
            data_rows.append([split, json.dumps(logs[split])])
    stage_rows = [[k, v] for k, v in (logs.get("stage_seconds") or {}).items()]
    parts.append(
        f'<section id="training-{idx}" class="training"><h2>Training, data, stage times</h2>{train}'
        f"{_table(['model', 'steps', 'seconds', 'rows', 'final loss', 'tokens/s'], rows, 'num')}"
        f"<h3>Data</h3>{_table(['what', 'counts'], data_rows)}"
        f"<h3>Stage seconds</h3>{_table(['stage', 'seconds'], stage_rows, 'num')}</section>"
    )
    conf = res.get("config") or {}
    env = res.get("environment") or {}
    parts.append(
        f'<section id="config-{idx}" class="config"><h2>Config and environment</h2><div class="two">'
        f"{_table(['setting', 'value'], [[k, v] for k, v in conf.items()])}"
        f"{_table(['environment', 'value'], [[k, v] for k, v in env.items()])}</div></section>"
    )
    return "".join(parts)


def _max_k(key: str, by: dict[str, Any]) -> int:
    base = key.rsplit(" K=", 1)[0]
    return max(int(k.rsplit("K=", 1)[1]) for k in by if k.startswith(base + " K="))


def _side_by_side(runs: Sequence[dict[str, Any]]) -> str:
    names = []
    for r in runs:
        for n in r["results"]["methods"]:
            if n not in names:
                names.append(n)
    head = ["method", *[f"{r['name']} (N={r['results']['N']})" for r in runs]]
    rows = []
    for n in names:
        cells = []
        for r in runs:
            m = r["results"]["methods"].get(n)
            cells.append(m["best_of_n"][str(r["results"]["N"])] if m else None)
        rows.append([n, *cells])
    tasks = ", ".join(f"{r['name']}: {r['results'].get('task')}" for r in runs)
    return (
        f'<section id="side-by-side" class="side-by-side"><h2>Runs side by side</h2><p class="muted">Best-of-N at '
        f"each run's N. {_esc(tasks)}</p>{_table(head, rows, 'num')}</section>"
    )


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:10px 20px;position:sticky;top:0;z-index:2}
header a{color:#b3e5fc;margin-right:12px;text-decoration:none} header select{margin-left:8px}
main{padding:0 20px 40px;max-width:1400px} h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;background:#fff} td,th{border:1px solid #e0e0e0;padding:3px 8px}
th{background:#f0f0f0;text-align:left}
table.num td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#666} .charts{display:flex;flex-wrap:wrap;gap:16px} svg.chart{background:#fff;border:1px solid #ddd}
.tick{font-size:10px;fill:#555} .legend{font-size:11px;fill:#333} .axis{font-size:12px;fill:#333}
.two{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
.filters{margin:8px 0;display:flex;gap:14px;flex-wrap:wrap;align-items:center}
.plist{max-height:260px;overflow:auto;border:1px solid #ddd;background:#fff}
.plist div{padding:2px 8px;cursor:pointer;border-bottom:1px solid #f3f3f3;
  font-family:ui-monospace,monospace;font-size:12px}
.plist div:hover,.plist div.sel{background:#e3f2fd}
.pdetail{margin-top:10px} .pdetail td{font-family:ui-monospace,monospace;font-size:12px;vertical-align:top}
.ok{color:#1b5e20;background:#e8f5e9} .wrong{color:#b71c1c;background:#ffebee;font-weight:600}
tr.right td:first-child{border-left:4px solid #43a047} tr.bad td:first-child{border-left:4px solid #e53935}
.pick{font-weight:700;outline:2px solid #1565c0} .rat{display:block;white-space:pre-wrap;margin:2px 0}
.tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;margin-left:6px}
.tag.f{background:#ffcdd2} .tag.r{background:#c8e6c9}
.steps{display:flex;flex-wrap:wrap;gap:2px;margin:3px 0} .step{padding:0 4px;border-radius:3px;font-size:11px}
.step.first{outline:2px solid #000} .step.truth{box-shadow:inset 0 -3px 0 #6a1b9a}
"""

SCRIPT = r"""
(function(){
const DATA = JSON.parse(document.getElementById('report-data').textContent);
const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const fmt = v => (typeof v === 'number') ? v.toFixed(3) : '–';
function marks(text){ // step verdicts of a rationale, highlighted
  return esc(text).replace(/\b(ok|correct)\b/g,'<span class="ok">$1</span>')
                  .replace(/\b(wrong|missing|extra|incorrect)\b/g,'<span class="wrong">$1</span>');
}
function stepStrip(st, truth){ // each step coloured by the share of rationales marking it wrong
  return '<div class="steps" title="steps: red = rationales marking it wrong; outlined = predicted first wrong ' +
    'step; underlined = the oracle\'s">' + st.steps.map((s, k) => {
      const w = st.share[k], bg = 'rgb(255,' + Math.round(255 - 180 * w) + ',' + Math.round(255 - 180 * w) + ')';
      return '<span class="step' + (st.first === k ? ' first' : '') + (truth === k ? ' truth' : '') +
        '" style="background:' + bg + '" title="' + esc(s) + ': ' + Math.round(100 * w) + '% wrong">' +
        esc(s.split(' -> ')[0].split('/')[0]) + '</span>';
    }).join('') + (st.first === -1 ? '<span class="step first">no error</span>' : '') + '</div>';
}
function showRun(i){
  document.querySelectorAll('.run').forEach(el => el.hidden = (el.dataset.run !== String(i)));
  document.querySelectorAll('header a[data-sec]').forEach(a => a.href = '#' + a.dataset.sec + '-' + i);
}
function detail(run, root, p){
  const ms = Object.keys(p.methods);
  let h = '<h3>' + esc(p.id) + ': ' + esc(p.question) + '</h3><p>reference answer <b>' + esc(p.answer) +
    '</b>; majority vote <b>' + esc(p.majority) + '</b> (' + (p.sc_right ? 'right' : 'wrong') + ')</p>';
  h += '<table><thead><tr><th>#</th><th>candidate</th><th>answer</th><th>correct</th>' +
       ms.map(m => '<th>' + esc(DATA.names[m] || m) + '</th>').join('') + '</tr></thead><tbody>';
  p.candidates.forEach((c, i) => {
    h += '<tr class="' + (c.correct ? 'right' : 'bad') + '"><td>' + i + '</td><td>' + esc(c.text) + '</td><td>' +
      esc(c.answer) + '</td><td>' + (c.correct ? 'yes' : 'no') + '</td>';
    ms.forEach(m => {
      const d = p.methods[m], picked = d.pick === i;
      h += '<td' + (picked ? ' class="pick" title="picked by ' + esc(m) + '"' : '') + '>' + fmt(d.scores[i]);
      const st = (d.steps || [])[i];
      if (st) h += stepStrip(st, c.first_error);
      (d.rationales[i] || []).forEach((r, k) => {
        h += '<span class="rat">[' + fmt((d.votes[i] || [])[k]) + '] ' + marks(r) + '</span>';
      });
      h += '</td>';
    });
    h += '</tr>';
  });
  root.querySelector('.pdetail').innerHTML = h + '</tbody></table>';
}
function browser(sec, run){
  const list = sec.querySelector('.plist'), sel = sec.querySelector('.f-method');
  const fooled = sec.querySelector('.f-fooled'), rescued = sec.querySelector('.f-rescued');
  const text = sec.querySelector('.f-text'), count = sec.querySelector('.f-count');
  function render(){
    const m = sel.value, q = text.value.toLowerCase();
    const rows = run.problems.filter(p => {
      const d = p.methods[m];
      if (fooled.checked && !(d && d.fooled)) return false;
      if (rescued.checked && !(d && d.rescued)) return false;
      return !q || (p.question + ' ' + p.answer).toLowerCase().includes(q);
    });
    count.textContent = rows.length + ' of ' + run.problems.length + ' problems';
    list.innerHTML = rows.map((p, i) => {
      const d = p.methods[m] || {};
      return '<div data-i="' + run.problems.indexOf(p) + '">' + esc(p.id) + '  ' + esc(p.question) +
        (d.fooled ? '<span class="tag f">fooled</span>' : '') +
        (d.rescued ? '<span class="tag r">rescued</span>' : '') +
        '</div>';
    }).join('');
    if (rows.length) detail(run, sec, rows[0]); else sec.querySelector('.pdetail').innerHTML = '';
    const first = list.querySelector('div'); if (first) first.classList.add('sel');
  }
  list.addEventListener('click', e => {
    const el = e.target.closest('div[data-i]'); if (!el) return;
    list.querySelectorAll('.sel').forEach(x => x.classList.remove('sel')); el.classList.add('sel');
    detail(run, sec, run.problems[+el.dataset.i]);
  });
  [sel, fooled, rescued].forEach(el => el.addEventListener('change', render));
  text.addEventListener('input', render);
  render();
}
document.querySelectorAll('.run').forEach(
  el => browser(el.querySelector('section.problems'), DATA.runs[+el.dataset.run]));
const pick = document.getElementById('run-select');
if (pick) pick.addEventListener('change', () => showRun(pick.value));
showRun(0);
document.body.dataset.ready = '1';
})();
"""


def render_report(runs: Sequence[dict[str, Any]], title: str = "genrm report") -> str:
    """The HTML of the report of `runs` (each as `load_run` gives it)."""
    if not runs:
        raise ValueError("no runs to report")
    data = {
        "runs": [{"name": r["name"], "problems": _browser_data(r)} for r in runs],
        "names": VERIFIER_NAMES,
    }
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    selector = ""
    if len(runs) > 1:
        opts = "".join(f'<option value="{i}">{_esc(r["name"])}</option>' for i, r in enumerate(runs))
        selector = f'run <select id="run-select">{opts}</select>'
    nav = "".join(
        f'<a data-sec="{s}" href="#{s}-0">{label}</a>'
        for s, label in (
            ("best-of-n", "Best-of-N"),
            ("compute", "Compute"),
            ("calibration", "Calibration"),
            ("problems", "Problems"),
            ("training", "Training"),
            ("config", "Config"),
        )
    )
    body = "".join(
        f'<div class="run" data-run="{i}"><h1>{_esc(r["name"])} <span class="muted">({_esc(r["results"].get("task"))},'
        f" {_esc(r['path'])})</span></h1>{_run_sections(r, i)}</div>"
        for i, r in enumerate(runs)
    )
    side = _side_by_side(runs) if len(runs) > 1 else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><b>{_esc(title)}</b> {nav} {selector}</header><main>{side}{body}</main>"
        f'<script type="application/json" id="report-data">{blob}</script><script>{SCRIPT}</script></body></html>'
    )


def write_report(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """report.html of one or more run folders."""
    runs = [load_run(d) for d in run_dirs]
    out = Path(out)
    out.write_text(render_report(runs, "genrm report: " + ", ".join(r["name"] for r in runs)), encoding="utf-8")
    return out
