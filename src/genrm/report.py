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
    ks = {n: m["best_of_N_vs_k"] for n, m in results["methods"].items() if "best_of_N_vs_k" in m}
    for name, curve in ks.items():
        lines += [
            "",
            f"Best-of-{results['N']} vs K ({name}): " + ", ".join(f"K={k}: {v:.3f}" for k, v in curve.items()),
        ]
    return "\n".join(lines).strip() + "\n"


def plot(results: dict, out_dir: Path, title: str = "") -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    grid = results["n_grid"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, m in results["methods"].items():
        if name.startswith("weighted SC"):
            continue
        style = "--" if name in ("pass@1", "pass@N (oracle)") else "-"
        ax.plot(grid, [m["best_of_n"][str(n)] for n in grid], style, marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(grid, [str(n) for n in grid])
    ax.set_xlabel("N (candidates per problem)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Best-of-N {title}".strip())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "best_of_n.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    ks = {n: m["best_of_N_vs_k"] for n, m in results["methods"].items() if "best_of_N_vs_k" in m}
    if ks:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, curve in ks.items():
            xs = [int(k) for k in curve]
            ax.plot(xs, list(curve.values()), marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("K (rationales averaged per candidate)")
        ax.set_ylabel(f"Best-of-{results['N']} accuracy")
        ax.set_title(f"Best-of-N vs K {title}".strip())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(out_dir / "best_of_n_vs_k.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths
