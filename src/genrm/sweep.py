"""`genrm sweep`: a grid of ordinary run folders that share the stages the swept values do not change.

    OUT/sweep.json            the base config, the grid, the points; after the last point, their numbers
    OUT/shared/               a run folder holding what no swept value changes: problems, the generator, the
                              sampled and labelled candidates, the probes (generator-side stages, run once)
    OUT/bases/<size>/         `genrm pretrain` output per verifier size (axis verifier_size), one recipe
    OUT/points/<name>/        one ordinary run folder per point: every genrm command works on it
    OUT/sweep.md, sweep_<axis>.png, report.html   (written by `sweep_results`)

When every swept field is on the verifier side (`VERIFIER_SIDE`: verifier data size, verifier size, training
and scoring settings), every point gets the shared run's problems and candidates, copied into its folder and
its stages marked done; with `n_verifier_train` swept, a point's verifier-training problems are the first n of
the largest point's (a random slice: problems are drawn in random order), with their candidates, so a smaller
data size is a subset of a larger one's rows. A swept field that changes the candidates (the seed, the task,
the generator...) makes every point a full run of its own. Points run one after another in this process,
in `jobs` local processes, or as Ray tasks (`ray`: a cluster address, `auto`, or `local` for a new local
instance; every worker must see OUT at the same path). A re-run resumes: finished points are skipped, a
point stopped midway resumes from its last finished stage.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import fields, replace
from itertools import product
from pathlib import Path
from typing import Any, Callable, Sequence

from .config import RunConfig
from .errors import GenrmError
from .io import read_json, read_jsonl, write_json, write_jsonl
from .progress import console

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
    from .model import SIZES

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
        from .config import RUNTIME_FIELDS
        from .pipeline.run import EVAL_SPLITS

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
        from .pipeline.generation import base_in

        return base_in(self.base_dir(size), self.config.task)


# -- shared stages --------------------------------------------------------------------------------------------
def prepare(sweep: Sweep) -> None:
    """Run the stages the points share: the generator side (once, in OUT/shared) and each verifier size's base."""
    from .pipeline import Run, stages

    if sweep.shared:
        root = Run.create(sweep.path / "shared", sweep.root_config(), split=sweep.split)
        for marker, fn in stages(root):
            if marker.startswith(("verifier_data", "train_", "score_", "evaluate")) or root.done(marker):
                continue
            console.print(f"[bold cyan]▶ shared: {marker}")
            t0 = time.time()
            info = fn()
            root.mark(marker, {"seconds": round(time.time() - t0, 1), **(info if isinstance(info, dict) else {})})
    for size in sweep.grid.get(VERIFIER_SIZE, []):
        pretrain_base(sweep, size)


def base_recipe(sweep: Sweep, size: str):
    """One recipe for every verifier size: the run's pretraining settings (`--gen-steps`, `--gen-batch-size`,
    `--gen-lr`, `--n-gen-train`, the task and its word counts, the seed); only the model size differs, so every
    size is trained on the same tokens (steps x batch x sequence length)."""
    from .pipeline.generation import pretrain_config

    return pretrain_config(replace(sweep.config, model_size=size))


def pretrain_base(sweep: Sweep, size: str) -> Path:
    from .pretrain import pretrain

    out = sweep.base_dir(size)
    if not (out / "pretrain_log.json").exists():  # `genrm pretrain` resumes from its own checkpoints
        console.print(f"[bold cyan]▶ verifier base, size {size}")
        pretrain(base_recipe(sweep, size), out)
    return out


def seed_point(sweep: Sweep, values: dict[str, Any]) -> Path:
    """Create a point's run folder; in a verifier-side sweep give it the shared problems and candidates (the first
    n verifier-training problems for a data size n) and mark those stages done."""
    from .pipeline import Run, label
    from .pipeline.run import SPLITS

    folder = sweep.point_dir(values)
    run = Run.create(folder, sweep.point_config(values), split=sweep.split)
    if not sweep.shared or run.done("label_verifier_train"):
        return folder
    root = Run(sweep.path / "shared", sweep.split)
    split = sweep.split
    t0 = time.time()
    keep = None
    for s in SPLITS:
        rows = read_jsonl(root.file("problems", f"{s}.jsonl"))
        if s == "verifier_train":
            rows = rows[: run.config.n_verifier_train]
            keep = {r["id"] for r in rows}
        write_jsonl(run.file("problems", f"{s}.jsonl"), rows)
    for model in ("generator", "pretrained"):  # linked, not copied (pretrained: a --base pretrain run's base)
        src, dst = root.file("models", model), run.file("models", model)
        if src.exists() and not dst.is_symlink():
            dst.parent.mkdir(parents=True, exist_ok=True)  # relative: the links survive moving the sweep folder
            os.symlink(os.path.relpath(src, dst.parent), dst, target_is_directory=True)
    for s in ("verifier_train", split):
        rows = read_jsonl(root.file("samples", f"{s}.jsonl"))
        if s == "verifier_train":
            rows = [r for r in rows if r["problem_id"] in keep]  # type: ignore[operator]
        write_jsonl(run.file("samples", f"{s}.jsonl"), rows)
    copied = {"shared": str(root.path.resolve()), "seconds": round(time.time() - t0, 1)}
    probe = root.out("probes.json")
    if probe.exists() and not run.config.verifier_base:  # the base row is the shared base's only without one
        shutil.copy(probe, run.out("probes.json"))
        run.mark(run.stage("probe"), copied)
    for marker in ("problems", "generator", "sample_verifier_train", f"sample_{split}"):
        run.mark(marker, copied)
    for s in (split, "verifier_train"):  # labelling is a cheap answer check: redone on the copied samples
        run.mark(f"label_{s}", {**copied, **label(run, s)})
    return folder


# -- running the points ---------------------------------------------------------------------------------------
def run_point(folder: str, split: str = "test", threads: int = 0, quiet: bool = False) -> str:
    """Run (or resume) one point's run folder to its results; what a local process or a Ray task executes."""
    if quiet:
        os.environ["GENRM_QUIET"] = "1"
    if threads:
        import torch

        torch.set_num_threads(threads)
    from .pipeline import Run, run_all

    run_all(Run(folder, split))
    return folder


def _stage_count(folder: Path, split: str) -> tuple[int, int]:
    """(finished, total) stages of a point."""
    from .pipeline import Run, stages

    run = Run(folder, split)
    markers = [m for m, _ in stages(run)]
    return sum(run.done(m) for m in markers), len(markers)


def run_sweep(sweep: Sweep, jobs: int = 1, ray: str = "", on_point: Callable[[Path], None] | None = None) -> dict:
    """Prepare the shared stages, run every unfinished point (in this process, `jobs` processes, or on Ray), and
    collect the results into sweep.json, sweep.md, the plots and report.html."""
    prepare(sweep)
    folders = [seed_point(sweep, v) for v in sweep.points()]
    todo = [f for f in folders if not _finished(f, sweep.split)]
    console.print(
        f"[bold]sweep[/] {sweep.path}: {len(folders)} points, {len(folders) - len(todo)} finished; "
        + ("candidates shared" if sweep.shared else "no shared candidates (a swept field changes them)")
    )
    if todo:
        if ray:
            _run_ray(todo, sweep.split, ray)
        elif jobs > 1:
            _run_processes(todo, sweep.split, jobs)
        else:
            for i, f in enumerate(todo, 1):
                console.print(f"[bold magenta]point {i}/{len(todo)}: {f.name}")
                run_point(str(f), sweep.split)
                if on_point:
                    on_point(f)
    from .sweep_results import collect

    return collect(sweep)


def _finished(folder: Path, split: str) -> bool:
    done, total = _stage_count(folder, split)
    return done == total


def _watch(folders: list[Path], split: str, is_done: Callable[[], bool]) -> None:
    """A progress bar over every stage of `folders`, read from their done-markers until `is_done()`."""
    from .progress import progress_bar

    total = sum(_stage_count(f, split)[1] for f in folders)
    with progress_bar(f"sweep: {len(folders)} points", total) as (bar, tid):
        shown = 0
        while True:
            finished = is_done()
            now = sum(_stage_count(f, split)[0] for f in folders)
            bar.advance(tid, now - shown)
            shown = now
            if finished:
                return
            time.sleep(1.0)


def _threads(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // jobs)


def _run_processes(folders: list[Path], split: str, jobs: int) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(run_point, str(f), split, _threads(jobs), True) for f in folders]
        _watch(folders, split, lambda: all(f.done() for f in futures))
        for f in futures:
            f.result()  # a point's error, raised here with its own message


def _run_ray(folders: list[Path], split: str, address: str) -> None:
    """Each point a Ray task (one CPU each unless the cluster says otherwise); `address`: auto, local or host:port."""
    try:
        import ray
    except ImportError:
        raise GenrmError("--ray needs Ray: pip install 'ray>=2.41' (or run the points locally with --jobs N)") from None
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=None if address == "local" else address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        task: Any = ray.remote(num_cpus=1)(run_point)  # Ray's stubs type the task by run_point's arity poorly
        refs = [task.remote(str(f.resolve()), split, 1, True) for f in folders]
        pending = list(refs)

        def is_done() -> bool:
            nonlocal pending
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=0)
            return not pending

        _watch(folders, split, is_done)
        ray.get(refs)  # a point's error, raised here
    finally:
        if started:
            ray.shutdown()
