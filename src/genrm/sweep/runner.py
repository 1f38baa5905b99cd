"""`genrm sweep`: a grid of ordinary run folders that share the stages the swept values do not change.

    OUT/sweep.json            the base config, the grid, the points; after the last point, their numbers
    OUT/shared/               a run folder holding what no swept value changes: problems, the generator, the
                              sampled and labelled candidates, the probes (generator-side stages, run once)
    OUT/bases/<size>/         `genrm pretrain` output per verifier size (axis verifier_size), one recipe
    OUT/points/<name>/        one ordinary run folder per point: every genrm command works on it
    OUT/sweep.md, sweep_<axis>.png, report.html   (written by `genrm.sweep.results`)

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
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ..core.errors import GenrmError
from ..core.io import read_jsonl, write_jsonl
from ..core.progress import console
from .grid import VERIFIER_SIZE, Sweep


def prepare(sweep: Sweep) -> None:
    """Run the stages the points share: the generator side (once, in OUT/shared) and each verifier size's base."""
    from ..pipeline import Run, stages

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
    from ..pipeline.generation import pretrain_config

    return pretrain_config(replace(sweep.config, model_size=size))


def pretrain_base(sweep: Sweep, size: str) -> Path:
    from ..pipeline.pretrain import pretrain

    out = sweep.base_dir(size)
    if not (out / "pretrain_log.json").exists():  # `genrm pretrain` resumes from its own checkpoints
        console.print(f"[bold cyan]▶ verifier base, size {size}")
        pretrain(base_recipe(sweep, size), out)
    return out


def seed_point(sweep: Sweep, values: dict[str, Any]) -> Path:
    """Create a point's run folder; in a verifier-side sweep give it the shared problems and candidates (the first
    n verifier-training problems for a data size n) and mark those stages done."""
    from ..pipeline import Run, label
    from ..pipeline.run import SPLITS

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
    from ..core.io import write_json
    from ..pipeline import Run, run_all

    # where the point ran: under Ray, the GPUs Ray gave it are the only ones its process sees (cuda:0 is the first)
    placement = {"host": os.uname().nodename, "pid": os.getpid()}
    placement["CUDA_VISIBLE_DEVICES"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    write_json(Path(folder) / "logs" / "placement.json", placement)
    run_all(Run(folder, split))
    return folder


def _stage_count(folder: Path, split: str) -> tuple[int, int]:
    """(finished, total) stages of a point."""
    from ..pipeline import Run, stages

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
            tp = [sweep.config.tensor_parallel_size, *(int(v.get("tensor_parallel_size", 1)) for v in sweep.points())]
            _run_ray(todo, sweep.split, ray, max(tp))
        elif jobs > 1:
            _run_processes(todo, sweep.split, jobs)
        else:
            for i, f in enumerate(todo, 1):
                console.print(f"[bold magenta]point {i}/{len(todo)}: {f.name}")
                run_point(str(f), sweep.split)
                if on_point:
                    on_point(f)
    from .results import collect

    return collect(sweep)


def _finished(folder: Path, split: str) -> bool:
    done, total = _stage_count(folder, split)
    return done == total


def _watch(folders: list[Path], split: str, is_done: Callable[[], bool]) -> None:
    """A progress bar over every stage of `folders`, read from their done-markers until `is_done()`."""
    from ..core.progress import progress_bar

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


def _run_ray(folders: list[Path], split: str, address: str, gpus_per_point: int = 1) -> None:
    """Each point a Ray task of one CPU and, where the cluster has GPUs, `gpus_per_point` of them (the points'
    tensor_parallel_size): Ray then shows each task only its own GPUs, so a point's `cuda:0` is the GPU Ray gave it.
    A task with GPUs runs in a fresh worker process (`max_calls=1`: CUDA reads its visible devices once).
    `address`: auto, local or host:port."""
    try:
        import ray
    except ImportError:
        raise GenrmError(
            "--ray needs Ray: pip install -e '.[ray]' (ray>=2.41; or run the points locally with --jobs N)"
        ) from None
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=None if address == "local" else address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if gpus and gpus_per_point > gpus:
            raise GenrmError(
                f"a point needs {gpus_per_point} GPUs (tensor_parallel_size) and the Ray cluster has {gpus}; lower it"
            )
        need = {"num_gpus": gpus_per_point, "max_calls": 1} if gpus else {}
        console.print(f"Ray: {gpus} GPU(s) in the cluster; each point takes 1 CPU and {need.get('num_gpus', 0)} GPU(s)")
        remote: Any = ray.remote  # Ray's stubs type options and the task by run_point's arity poorly
        task = remote(num_cpus=1, **need)(run_point)
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
