"""A sweep's grid and folder: the swept axes and their values, the points, which run settings are on the
verifier side (so the points can share their candidates), and `Sweep`, the folder of `genrm sweep`."""

from __future__ import annotations

from dataclasses import fields, replace
from itertools import product
from pathlib import Path
from typing import Any, Sequence

from ..core.config import RunConfig
from ..core.errors import GenrmError
from ..core.io import read_json, write_json

VERIFIER_SIZE = "verifier_size"  # a sweep axis, not a run setting: the verifiers' base pretrained at this size
AXIS_ALIASES = {"model": VERIFIER_SIZE, "data": "n_verifier_train", "k": "k_votes"}
# run settings that change only the verifier side (rows, training, scoring), never the problems or candidates
VERIFIER_SIDE = frozenset(
    {
        "n_verifier_train",
        VERIFIER_SIZE,
        "verifier_base",
        "judge",
        "judge_shots",
        "teacher",
        "methods",
        "verifier_init",
        "balance",
        "unified_lambda",
        "ver_epochs",
        "ver_steps",
        "ver_batch_size",
        "ver_lr",
        "orm_lr",
        "dpo_lr",
        "dpo_beta",
        "ver_max_seconds",
        "ver_grad_accum",
        "lora_r",
        "lora_alpha",
        "max_length",
        "gradient_checkpointing",
        "k_votes",
        "cot_temperature",
        "cot_max_new_tokens",
        "score_engine",
    }
)
# the generator-side stages a verifier-side sweep runs once, in OUT/shared
SHARED_STAGES = ("problems", "generator", "sample_verifier_train", "label_verifier_train")


# -- the grid -------------------------------------------------------------------------------------------------
def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """`['n_verifier_train=1500,3000', 'model=nano,tiny']` -> `{field: [values]}`, each value of the field's type.

    A field is a run setting (`genrm run --help`) or `verifier_size` (alias `model`): nano, tiny, small, base."""
    from ..models.model import SIZES

    types = {f.name: str(f.type) for f in fields(RunConfig)}
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = AXIS_ALIASES.get(name.strip().replace("-", "_"), name.strip().replace("-", "_"))
        raw = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not raw:
            raise GenrmError(f"--grid {spec!r}: write FIELD=V1,V2,... (e.g. n_verifier_train=1500,3000,6000)")
        if name != VERIFIER_SIZE and name not in types:
            raise GenrmError(
                f"--grid {spec!r}: {name!r} is not a run setting; sweep a field of `genrm run --help` (with "
                "underscores) or verifier_size"
            )
        if name in grid:
            raise GenrmError(f"--grid {spec!r}: {name} is swept twice; give all its values in one --grid")
        if name == VERIFIER_SIZE:
            bad = [v for v in raw if v not in SIZES]
            if bad:
                raise GenrmError(f"--grid {spec!r}: unknown size(s) {', '.join(bad)}; use {', '.join(SIZES)}")
            grid[name] = raw
        else:
            grid[name] = [_cast(spec, types[name], v) for v in raw]
        if len(set(map(str, grid[name]))) != len(grid[name]):
            raise GenrmError(f"--grid {spec!r}: a value is repeated")
    if not grid:
        raise GenrmError("give at least one --grid FIELD=V1,V2,...")
    return grid


def _cast(spec: str, kind: str, v: str) -> Any:
    try:
        if kind == "bool":
            if v.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return v.lower() in ("true", "1")
        return {"int": int, "float": float, "str": str}[kind](v)
    except ValueError:
        raise GenrmError(f"--grid {spec!r}: {v!r} is not a valid {kind}") from None


def point_name(values: dict[str, Any]) -> str:
    return "_".join(f"{k}-{v}" for k, v in values.items())


def points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the grid's order."""
    return [dict(zip(grid, combo)) for combo in product(*grid.values())]


def shares_candidates(grid: dict[str, list[Any]]) -> bool:
    """Whether the points can share the problems, generator and candidates (every swept field verifier-side)."""
    return all(name in VERIFIER_SIDE for name in grid)


# -- the sweep folder -----------------------------------------------------------------------------------------
class Sweep:
    """A sweep folder: its base config, grid and evaluated split, and the paths of its parts."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        head = read_json(self.path / "sweep.json") if (self.path / "sweep.json").exists() else None
        if not head or "grid" not in head:
            raise GenrmError(f"{self.path} is not a sweep folder (no sweep.json); start one with `genrm sweep`")
        self.config = RunConfig.from_dict(head["config"])
        self.grid: dict[str, list[Any]] = head["grid"]
        self.split: str = head.get("split", "test")

    @classmethod
    def create(cls, path: str | Path, config: RunConfig, grid: dict[str, list[Any]], split: str = "test") -> "Sweep":
        """Start a sweep folder, or resume one with the same config, grid and split."""
        from ..core.config import RUNTIME_FIELDS
        from ..pipeline.run import EVAL_SPLITS

        if split not in EVAL_SPLITS:
            raise GenrmError(f"--split {split}: use test (the final runs) or dev (choosing settings)")
        path = Path(path)
        head: dict[str, Any] = {"config": config.to_dict(), "grid": grid, "split": split}
        if (path / "sweep.json").exists():
            old = read_json(path / "sweep.json")
            same = old.get("grid") == grid and old.get("split", "test") == split
            diff = [k for k, v in head["config"].items() if k not in RUNTIME_FIELDS and old["config"].get(k) != v]
            if not same or diff:
                what = ", ".join(diff) or "the grid or split"
                raise GenrmError(
                    f"{path} holds another sweep (differs in: {what}); use a new folder or delete the old one"
                )
        else:
            if path.exists() and any(path.iterdir()):
                raise GenrmError(f"{path} exists and is not a sweep folder; give a new or empty folder")
            for name, values in grid.items():  # every point's config must be valid before anything runs
                if name != VERIFIER_SIZE:
                    for v in values:
                        replace(config, **{name: v})
            write_json(path / "sweep.json", head)
        return cls(path)

    @property
    def shared(self) -> bool:
        return shares_candidates(self.grid)

    def points(self) -> list[dict[str, Any]]:
        return points(self.grid)

    def point_dir(self, values: dict[str, Any]) -> Path:
        return self.path / "points" / point_name(values)

    def base_dir(self, size: str) -> Path:
        return self.path / "bases" / size

    def root_config(self) -> RunConfig:
        """The shared run: the generator side of the base config, with the largest verifier data size."""
        n = max(self.grid.get("n_verifier_train", [self.config.n_verifier_train]))
        return replace(self.config, n_verifier_train=n, methods="")

    def point_config(self, values: dict[str, Any]) -> RunConfig:
        settings = {k: v for k, v in values.items() if k != VERIFIER_SIZE}
        if VERIFIER_SIZE in values:
            settings["verifier_base"] = str(self.verifier_base(values[VERIFIER_SIZE]).resolve())
        return replace(self.config, **settings)

    def verifier_base(self, size: str) -> Path:
        from ..pipeline.generation import base_in

        return base_in(self.base_dir(size), self.config.task)


# -- shared stages --------------------------------------------------------------------------------------------
