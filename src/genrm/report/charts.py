"""Inline SVG charts for report.html (no plotting library in the page): line charts with bands, and the
escaping and number formatting every table of the report shares."""

from __future__ import annotations

import html
import math
from typing import Any, Sequence

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.{digits}f}" if abs(v) < 1e4 else f"{v:.3g}"
    return "–" if v is None else esc(v)


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
                f"<title>{esc(s['name'])}: x={x:.4g}, y={y:.3f}</title></circle>"
            )
        ly = T + 12 + 16 * i
        out.append(f'<rect x="{L + pw + 10}" y="{ly - 9}" width="12" height="4" fill="{color}"/>')
        out.append(f'<text x="{L + pw + 26}" y="{ly - 3}" class="legend">{esc(s["name"])}</text>')
    out.append(f'<text x="{L + pw / 2}" y="{height - 6}" text-anchor="middle" class="axis">{esc(xlabel)}</text>')
    out.append(
        f'<text x="14" y="{T + ph / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 14 {T + ph / 2})">{esc(ylabel)}</text>'
    )
    out.append("</svg>")
    return "".join(out)
