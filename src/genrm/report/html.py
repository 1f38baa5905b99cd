"""report.html: one self-contained page per set of runs (inline SVG, CSS and JS; no network, nothing to install).

Sections: Best-of-N (table, curves with 95% bootstrap bands, vs K), accuracy vs compute, calibration
(reliability diagrams, pooled vs within-problem AUROC), a problem browser (every candidate, every method's
score and pick, the K rationales with their step verdicts, filters "verifier fooled" / "verifier rescued"),
training curves, data counts, stage times, config and environment. Several runs: a selector switches
between them and a table puts them side by side.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from ..analysis.evaluate import VERIFIER_NAMES
from ..core.io import read_json, read_jsonl
from ..core.steps import StepVerdicts
from ..core.types import TRAINED_KINDS
from .assets import CSS, SCRIPT
from .charts import esc, fmt, svg_chart

COMPUTE_HEAD = ["method (at N, full K)", "tokens", "prefill", "generated", "FLOPs", "accuracy"]
AUROC_HEAD = ["verifier", "AUROC pooled", "AUROC within problem", "accuracy@0.5"]


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
                [
                    name,
                    st["f1"],
                    ci,
                    f"{st['error_accuracy']:.3f} of {st['n_error']}",
                    f"{st['correct_accuracy']:.3f} of {st['n_correct']}",
                    st.get("parsed"),
                ]
            )
    if not rows:
        return ""
    return (
        '<h3 id="steps">Step verdicts</h3><p class="muted">Read from the rationales\' ok / wrong marks: does the '
        'verifier find the first wrong step of a wrong solution, and say "no error" on a right one '
        '(ProcessBench\'s F1, the harmonic mean of the two accuracies; labels from the oracle). "read": share of '
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
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if isinstance(c, _Raw) else fmt(c)}</td>" for c in r) + "</tr>" for r in rows
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
                _Raw(f"{fmt(ci[0])}–{fmt(ci[1])}"),
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
            f"{esc(comp['flops_rule'])}; parameters: {esc(params)}; shared prefix: {comp['shared_prefix']}. "
            f"<code>genrm plan {esc(run['path'])} --budget B</code> picks the best point within a budget.</p>"
            f"{chart}{_table(COMPUTE_HEAD, rows, 'num')}{_training_table(comp.get('training'))}</section>"
        )
    else:
        parts.append(
            f'<section id="compute-{idx}" class="compute"><h2>Accuracy vs compute</h2><p class="muted">This '
            "results.json has no compute accounting (written by an older genrm): run "
            f"<code>genrm evaluate {esc(run['path'])}</code> to add it.</p></section>"
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
        f'<option value="{esc(m)}"{" selected" if m == first else ""}>{esc(_display(m))}</option>'
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
        f"each run's N. {esc(tasks)}</p>{_table(head, rows, 'num')}</section>"
    )


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
        opts = "".join(f'<option value="{i}">{esc(r["name"])}</option>' for i, r in enumerate(runs))
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
        f'<div class="run" data-run="{i}"><h1>{esc(r["name"])} <span class="muted">({esc(r["results"].get("task"))},'
        f" {esc(r['path'])})</span></h1>{_run_sections(r, i)}</div>"
        for i, r in enumerate(runs)
    )
    side = _side_by_side(runs) if len(runs) > 1 else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><b>{esc(title)}</b> {nav} {selector}</header><main>{side}{body}</main>"
        f'<script type="application/json" id="report-data">{blob}</script><script>{SCRIPT}</script></body></html>'
    )


def write_report(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """report.html of one or more run folders."""
    runs = [load_run(d) for d in run_dirs]
    out = Path(out)
    out.write_text(render_report(runs, "genrm report: " + ", ".join(r["name"] for r in runs)), encoding="utf-8")
    return out
