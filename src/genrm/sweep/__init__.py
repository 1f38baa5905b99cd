"""Layer 13, sweep: `genrm sweep`, grids of ordinary run folders that share what the swept values do not change.

Owns the grid and the sweep folder (`grid`), running the points locally or on Ray (`runner`) and their
results: sweep.json, sweep.md, plots and the sweep report (`results`).
Imports: every layer up to integrations (it runs pipelines and writes reports).
"""

from .grid import (
    AXIS_ALIASES,
    SHARED_STAGES,
    VERIFIER_SIDE,
    VERIFIER_SIZE,
    Sweep,
    parse_grid,
    point_name,
    points,
    shares_candidates,
)
from .runner import base_recipe, prepare, pretrain_base, run_point, run_sweep, seed_point

__all__ = [
    "AXIS_ALIASES",
    "SHARED_STAGES",
    "VERIFIER_SIDE",
    "VERIFIER_SIZE",
    "Sweep",
    "base_recipe",
    "parse_grid",
    "point_name",
    "points",
    "prepare",
    "pretrain_base",
    "run_point",
    "run_sweep",
    "seed_point",
    "shares_candidates",
]
