"""A sweep's results: each point's numbers collected into sweep.json and sweep.md, one plot per swept field (Best-of-N
at the largest N against the value, 95% bands, training FLOPs), and the sweep's report.html."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..core.errors import GenrmError
from ..core.io import read_json, write_json
from .grid import VERIFIER_SIZE, Sweep

# what the sweep's curves draw dashed: rows that use no trained verifier
REFERENCE_ROWS = ("pass@1", "self-consistency", "pass@N (oracle)")


def collect(sweep: Sweep) -> dict:
    """Each point's Best-of-N at the largest N (95% bootstrap CI), at every N, vs K, and each verifier's training
    cost, into sweep.json (with sweep.md, one plot per swept field and report.html)."""
    from ..analysis.compute import model_params
    from ..pipeline import Run

    out_points = []
    for values in sweep.points():
        folder = sweep.point_dir(values)
        run = Run(folder, sweep.split)
        if not run.out("results.json").exists():
            continue
        res = read_json(run.out("results.json"))
        methods = {
            name: {
                "best_of_n": m["best_of_n"],
                "ci95": m.get("ci95", {str(res["N"]): m["ci95_at_N"]}),
                **({"best_of_N_vs_k": m["best_of_N_vs_k"]} if "best_of_N_vs_k" in m else {}),
            }
            for name, m in res["methods"].items()
            if not name.startswith(("weighted SC", "base model alone"))
        }
        secs = (res.get("stage_logs") or {}).get("stage_seconds", {})
        point: dict[str, Any] = {
            "name": folder.name,
            "values": values,
            "path": str(folder.relative_to(sweep.path)),
            "N": res["N"],
            "problems": res["problems"],
            "methods": methods,
            "training": (res.get("compute") or {}).get("training", {}),
            "verifier_data": (res.get("stage_logs") or {}).get("verifier_data", {}),
            "seconds": round(sum(secs.values()), 1),
        }
        if VERIFIER_SIZE in values:
            point["verifier_params"] = model_params(str(sweep.verifier_base(values[VERIFIER_SIZE])))
        out_points.append(point)
    summary = {
        "grid": sweep.grid,
        "split": sweep.split,
        "shared_candidates": sweep.shared,
        "points": out_points,
        "complete": len(out_points) == len(sweep.points()),
    }
    write_json(sweep.path / "sweep.json", {**read_json(sweep.path / "sweep.json"), "results": summary})
    (sweep.path / "sweep.md").write_text(sweep_table(summary), encoding="utf-8")
    if out_points:
        for axis in sweep.grid:
            if len(sweep.grid[axis]) > 1:
                plot_axis(summary, axis, sweep.path / f"sweep_{axis}.png")
        write_sweep_report(sweep.path)
    return summary


def axis_x(point: dict, axis: str) -> float:
    """Where a point sits on `axis`: the swept value, or for verifier_size the base's parameter count."""
    if axis == VERIFIER_SIZE:
        return float(point.get("verifier_params") or "nan")
    return float(point["values"][axis])


def series(summary: dict, axis: str) -> list[tuple[dict[str, Any], dict[str, dict[str, list]]]]:
    """For `axis`: one panel per combination of the other swept fields, each `{method: {"x", "y", "lo", "hi",
    "flops"}}` at the largest N, ordered by x."""
    others = [a for a in summary["grid"] if a != axis]
    panels: dict[tuple, dict[str, dict[str, list]]] = {}
    fixed: dict[tuple, dict[str, Any]] = {}
    pts = sorted(summary["points"], key=lambda p: axis_x(p, axis))
    kinds = {v: k for k, v in _names().items()}  # display name -> trained kind (training FLOPs are by kind)
    for p in pts:
        key = tuple(str(p["values"][a]) for a in others)
        fixed[key] = {a: p["values"][a] for a in others}
        n = str(p["N"])
        for name, m in p["methods"].items():
            s = panels.setdefault(key, {}).setdefault(name, {"x": [], "y": [], "lo": [], "hi": [], "flops": []})
            s["x"].append(axis_x(p, axis))
            s["y"].append(m["best_of_n"][n])
            lo, hi = m["ci95"][n]
            s["lo"].append(lo)
            s["hi"].append(hi)
            kind = kinds.get(name)
            s["flops"].append((p["training"].get(kind) or {}).get("flops") if kind else None)
    return [(fixed[k], panels[k]) for k in panels]


def _names() -> dict[str, str]:
    from ..analysis.evaluate import VERIFIER_NAMES

    return VERIFIER_NAMES


def plot_axis(summary: dict, axis: str, path: Path) -> Path:
    """Best-of-N at the largest N against the swept value, one line per method with its 95% band, the trained
    verifiers' training FLOPs (dotted) on a second axis; one panel per value of the other swept fields."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = series(summary, axis)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    for ax, (fixed, lines) in zip(axes[0], panels):
        twin = ax.twinx()
        for i, (name, s) in enumerate(lines.items()):
            color = f"C{i}"
            ref = name in REFERENCE_ROWS
            ax.plot(s["x"], s["y"], "--" if ref else "-", marker="o", color=color, label=name)
            ax.fill_between(s["x"], s["lo"], s["hi"], color=color, alpha=0.12)
            if any(f for f in s["flops"]):
                twin.plot(s["x"], [f or math.nan for f in s["flops"]], ":", color=color, alpha=0.7)
        ax.set_xscale("log", base=2)
        xs = sorted({x for s in lines.values() for x in s["x"]})
        ax.set_xticks(xs, [f"{x:.3g}" for x in xs])
        ax.minorticks_off()
        ax.set_xlabel("verifier parameters" if axis == VERIFIER_SIZE else axis)
        n = summary["points"][0]["N"]
        ax.set_ylabel(f"Best-of-{n} accuracy (95% band)")
        twin.set_yscale("log")
        twin.set_ylabel("training FLOPs (dotted)")
        title = ", ".join(f"{k}={v}" for k, v in fixed.items())
        ax.set_title(f"{summary['split']} split" + (f"; {title}" if title else ""), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def sweep_table(summary: dict) -> str:
    """Markdown: one row per point, Best-of-N at the largest N with its 95% CI for every method, training FLOPs."""
    pts = summary["points"]
    if not pts:
        return "No point has finished yet.\n"
    names = list(dict.fromkeys(name for p in pts for name in p["methods"]))  # a row some points lack: blank there
    axes = list(summary["grid"])
    head = "| " + " | ".join(axes) + " | " + " | ".join(names) + " | training FLOPs (GenRM-CoT) | seconds |"
    lines = [
        f"Best-of-{pts[0]['N']} on the {summary['split']} split ({pts[0]['problems']} problems), 95% bootstrap CI; "
        + ("every point on the same candidates." if summary["shared_candidates"] else "points sample their own."),
        "",
        head,
        "|" + "---|" * (len(axes) + len(names) + 2),
    ]
    for p in pts:
        n = str(p["N"])
        cells = [str(p["values"][a]) for a in axes]
        for name in names:
            m = p["methods"].get(name)
            cells.append(f"{m['best_of_n'][n]:.3f} ({m['ci95'][n][0]:.2f}-{m['ci95'][n][1]:.2f})" if m else "")
        flops = (p["training"].get("genrm_cot") or {}).get("flops")
        cells += [f"{flops:.3g}" if flops else "", f"{p['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if not summary["complete"]:
        lines += ["", "(sweep not finished: the points above are those with results)"]
    return "\n".join(lines) + "\n"


def write_sweep_report(path: str | Path, out: str | Path | None = None) -> Path:
    """report.html of a sweep: per swept field, Best-of-N against the value for every method with 95% bands
    (inline SVG, offline), the table, and links to each point's own report."""
    import html

    from ..report.html import CSS, svg_chart

    path = Path(path)
    head = read_json(path / "sweep.json")
    summary = head.get("results")
    if not summary or not summary["points"]:
        raise GenrmError(f"{path} has no finished point yet: run `genrm sweep` to the end (it resumes) first")
    parts = [f"<h1>genrm sweep: {html.escape(path.name)}</h1>"]
    for axis, values in summary["grid"].items():
        if len(values) < 2:
            continue
        for fixed, lines in series(summary, axis):
            title = ", ".join(f"{k}={v}" for k, v in fixed.items())
            chart = svg_chart(
                [
                    {
                        "name": name,
                        "x": s["x"],
                        "y": s["y"],
                        "lo": s["lo"],
                        "hi": s["hi"],
                        "dash": name in REFERENCE_ROWS,
                    }
                    for name, s in lines.items()
                ],
                "verifier parameters" if axis == VERIFIER_SIZE else axis,
                f"Best-of-{summary['points'][0]['N']} accuracy",
                log_x=True,
            )
            flops = [
                {"name": f"{name} training FLOPs", "x": s["x"], "y": [math.log10(f) if f else None for f in s["flops"]]}
                for name, s in lines.items()
                if any(s["flops"])
            ]
            flops_chart = svg_chart(flops, axis, "log10 training FLOPs", log_x=True) if flops else ""
            parts.append(
                f"<section id='axis-{html.escape(axis)}'><h2>{html.escape(axis)}"
                f"{' (' + html.escape(title) + ')' if title else ''}</h2>{chart}{flops_chart}</section>"
            )
    table = sweep_table(summary)
    parts.append(f"<section id='table'><h2>Table</h2><pre>{html.escape(table)}</pre></section>")
    links = "".join(
        f"<li><a href='{html.escape(p['path'])}/{'report.html' if summary['split'] == 'test' else 'dev/report.html'}'>"
        f"{html.escape(p['name'])}</a></li>"
        for p in summary["points"]
    )
    parts.append(f"<section id='points'><h2>Points (their own reports)</h2><ul>{links}</ul></section>")
    target = Path(out) if out else path / "report.html"
    target.write_text(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>genrm sweep</title>"
        f"<style>{CSS}</style></head><body><main>{''.join(parts)}</main></body></html>",
        encoding="utf-8",
    )
    return target
