"""Readable results: a Markdown table like the paper's, and PNG plots (Best-of-N vs N, vs K)."""

from __future__ import annotations

from pathlib import Path


def markdown_table(results: dict, title: str = "") -> str:
    grid = results["n_grid"]
    head = "| method | " + " | ".join(f"N={n}" for n in grid) + " | 95% CI at N | verifier acc | AUROC | AUROC within |"
    lines = [f"### {title}" if title else "", "", head, "|" + "---|" * (len(grid) + 5)]
    for name, m in results["methods"].items():
        cells = [f"{m['best_of_n'][str(n)]:.3f}" for n in grid]
        lo, hi = m["ci95_at_N"]
        extra = [m.get(k) for k in ("verifier_accuracy", "auroc", "auroc_within_problem")]
        extra_cells = " | ".join(f"{v:.3f}" if isinstance(v, float) else "" for v in extra)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {lo:.3f}-{hi:.3f} | {extra_cells} |")
    probes = results.get("probes") or {}
    if "base_greedy" in probes:
        lines += [
            "",
            f"Alone on the {results.get('split', 'test')} problems (one answer each): generator "
            f"{probes['generator_sampled']:.3f} sampled / {probes['generator_greedy']:.3f} greedy; verifiers' base "
            f"{probes['base_sampled']:.3f} sampled / {probes['base_greedy']:.3f} greedy.",
        ]
    for m, label in (("genrm_cot", "GenRM-CoT"), ("judge", "LLM-as-a-Judge")):
        f = probes.get(f"{m}_rationales")
        if f:
            lines.append(
                f"{label} rationales vs the oracle's: {f['step_agreement']:.3f} of steps annotated alike, "
                f"{f['exact']:.3f} identical ({f['rationales']} rationales)."
            )
    for name, m in results["methods"].items():
        st = m.get("steps")
        if st and st.get("f1") is not None:
            lo, hi = st["ci95_f1"] or (float("nan"), float("nan"))
            lines.append(
                f"{name} step verdicts (ProcessBench): F1 {st['f1']:.3f} [{lo:.3f}, {hi:.3f}]; first wrong step found "
                f'on {st["error_accuracy"]:.3f} of {st["n_error"]} candidates with one, "no error" on '
                f"{st['correct_accuracy']:.3f} of {st['n_correct']} without; steps read from {st['parsed']:.3f} of "
                "candidates."
            )
    training = (results.get("compute") or {}).get("training")
    if training:
        lines += [
            "",
            "Verifier training (every verifier from the same base, on rows built from the same candidates):",
            "",
            "| verifier | rows | epochs | steps | lr | tokens | FLOPs | seconds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for kind, t in training.items():
            flops = f"{t['flops']:.3g}" if t.get("flops") else "?"
            lines.append(
                f"| {kind} | {t['rows']} | {t['epochs']} | {t['steps']} | {t['lr']:g} | {t['tokens']:,} | {flops} "
                f"| {t['seconds']} |"
            )
    paired = results.get("paired")
    if paired:
        lines += [
            "",
            f"Paired differences of Best-of-{results['N']} (same problems and candidates; paired bootstrap 95% CI; "
            "problems won / lost):",
            "",
            "| comparison | difference | 95% CI | won / lost |",
            "|---|---|---|---|",
        ]
        for pair, d in paired.items():
            lo, hi = d["ci95"]
            lines.append(f"| {pair} | {d['difference']:+.3f} | {lo:+.3f} to {hi:+.3f} | {d['wins']} / {d['losses']} |")
    secs = (results.get("stage_logs") or {}).get("stage_seconds")
    if secs:
        lines += ["", "Stage seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in secs.items())]
    ks = {n: m["best_of_N_vs_k"] for n, m in results["methods"].items() if "best_of_N_vs_k" in m}
    for name, curve in ks.items():
        lines += [
            "",
            f"Best-of-{results['N']} vs K ({name}): " + ", ".join(f"K={k}: {v:.3f}" for k, v in curve.items()),
        ]
    return "\n".join(lines).strip() + "\n"


def _line_plot(path: Path, curves: dict[str, tuple[list[int], list[float], str]], xlabel, ylabel, title) -> Path:
    """One log2-x line plot: `curves[name] = (xs, ys, linestyle)`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (xs, ys, style) in curves.items():
        ax.plot(xs, ys, style, marker="o", label=name)
    xs = sorted({x for c in curves.values() for x in c[0]})
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot(results: dict, out_dir: Path, title: str = "") -> list[Path]:
    """best_of_n.png (accuracy vs N per method) and, with K-vote verifiers, best_of_n_vs_k.png."""
    grid = results["n_grid"]
    methods = {n: m for n, m in results["methods"].items() if not n.startswith("weighted SC")}
    curves = {
        name: (grid, [m["best_of_n"][str(n)] for n in grid], "--" if name in ("pass@1", "pass@N (oracle)") else "-")
        for name, m in methods.items()
    }
    paths = [
        _line_plot(
            out_dir / "best_of_n.png", curves, "N (candidates per problem)", "accuracy", f"Best-of-N {title}".strip()
        )
    ]
    ks = {n: m["best_of_N_vs_k"] for n, m in results["methods"].items() if "best_of_N_vs_k" in m}
    if ks:
        curves = {name: ([int(k) for k in c], list(c.values()), "-") for name, c in ks.items()}
        paths.append(
            _line_plot(
                out_dir / "best_of_n_vs_k.png",
                curves,
                "K (rationales averaged per candidate)",
                f"Best-of-{results['N']} accuracy",
                f"Best-of-N vs K {title}".strip(),
            )
        )
    return paths
