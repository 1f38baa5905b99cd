"""Sampling and scoring spread over several engine processes (`--workers N`), or over machines (`--shard W/N`).

A stage's problems are cut into the chunks its resumable loop uses anyway (`genrm.core.io.resume_jsonl`: 64
problems for sampling, 32 for scoring, each with a seed from its offset in the whole list). Worker `w` of `n` does
chunks w, w+n, w+2n, ... into a file of its own (`samples/test.jsonl.shard-0-of-2`), resumable like the whole
file; when all are done their rows are merged into the stage's file in problem order and the shard files are
removed. So a sharded run writes the rows an unsharded one writes, in the same order, whatever `n` is (the rows
depend on the chunk, its seed and the engine, not on which process ran it).

`--workers N` starts the N processes here, one `genrm sample|score ... --shard w/N` each: on GPUs each sees its
own `tensor_parallel_size` of them (`CUDA_VISIBLE_DEVICES`), on CPUs each gets an equal share of the cores. On
several machines with a shared file system, start `genrm sample RUN --shard w/N` on each (any launcher: Slurm,
Ray, ssh), then `genrm sample RUN` once more merges (and does whatever a lost worker left undone).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Hashable, Iterable, Sequence

from ..core.errors import GenrmError
from ..core.io import iter_jsonl, write_jsonl
from ..core.progress import console, progress_bar
from .run import Run

Row = dict


def parse_shard(text: str) -> tuple[int, int]:
    """`W/N` -> (W, N), 0 <= W < N."""
    try:
        w, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise GenrmError(f"--shard {text!r}: use W/N, this worker's index W of N workers (0/2 and 1/2)") from None
    if not 0 <= w < n:
        raise GenrmError(f"--shard {text}: the worker's index must be in 0..{n - 1}")
    return w, n


def shard_file(path: Path, shard: tuple[int, int]) -> Path:
    """Where worker `shard = (w, n)` writes the rows of the stage file `path`."""
    return path.with_name(f"{path.name}.shard-{shard[0]}-of-{shard[1]}")


def merge_shards(
    path: Path,
    keys: Sequence[Hashable],
    row_key: Callable[[Row], Hashable],
    required: Iterable[str],
    complete: Callable[[Row], bool] = lambda row: True,
) -> int:
    """Fold every shard file of `path` (any number of workers) into it, rows in the order of `keys` (a shard's row
    wins over the file's), then remove the shard files. Returns the rows taken from shards. A chunk a killed
    worker left half-done is merged as it is: the stage's loop redoes it whole when it resumes."""
    shards = sorted(path.parent.glob(path.name + ".shard-*-of-*"))
    if not shards:
        return 0
    required = tuple(required)
    rows: dict[Hashable, Row] = {}
    if path.exists():
        rows = {row_key(r): r for r in iter_jsonl(path, required, tolerate_torn_tail=True) if complete(r)}
    taken = 0
    for f in shards:
        for r in iter_jsonl(f, required, tolerate_torn_tail=True):
            if complete(r):
                rows[row_key(r)] = r
                taken += 1
    order = list(dict.fromkeys(keys))
    known = set(order)
    write_jsonl(path, [rows[k] for k in order if k in rows] + [r for k, r in rows.items() if k not in known])
    for f in shards:
        f.unlink()
    return taken


def worker_environments(n: int, tensor_parallel_size: int = 1) -> list[dict[str, str]]:
    """The environment of each of `n` workers: its own GPUs (`tensor_parallel_size` each) where there are GPUs,
    else an equal share of the CPU cores."""
    import torch

    base = {**os.environ, "GENRM_QUIET": "1"}  # bars of N processes would overwrite each other; the parent draws one
    if torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        gpus = visible.split(",") if visible else [str(i) for i in range(torch.cuda.device_count())]
        need = n * tensor_parallel_size
        if need > len(gpus):
            raise GenrmError(
                f"--workers {n} x --tensor-parallel-size {tensor_parallel_size} needs {need} GPUs; {len(gpus)} are "
                "visible: lower --workers"
            )
        per = tensor_parallel_size
        return [{**base, "CUDA_VISIBLE_DEVICES": ",".join(gpus[w * per : (w + 1) * per])} for w in range(n)]
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // n))
    return [{**base, "OMP_NUM_THREADS": threads} for _ in range(n)]


def gather(
    run: Run,
    argv: Sequence[str],
    path: Path,
    keys: Sequence[Hashable],
    row_key: Callable[[Row], Hashable],
    required: Iterable[str],
    complete: Callable[[Row], bool] = lambda row: True,
    *,
    description: str,
) -> int | None:
    """A whole stage's start: merge the shares other machines wrote (`--shard W/N`) or an interrupted spread left,
    then with `workers` > 1 run `genrm ARGV --shard w/N` in that many processes here and merge their rows into
    `path`. Returns the rows the workers wrote where nothing is left to do, else None (the caller's own loop does
    the rest, or all of it). A worker that fails fails the stage, with its log; what every worker finished is
    kept."""
    workers, required = run.config.workers, tuple(required)
    merge_shards(path, keys, row_key, required, complete)
    if workers <= 1:
        return None
    envs = worker_environments(workers, run.config.tensor_parallel_size)
    logs = run.file("logs")
    logs.mkdir(parents=True, exist_ok=True)
    files = [logs / f"{path.parent.name}-{path.stem}.worker-{w}-of-{workers}.log" for w in range(workers)]
    procs = []
    for w, (env, log) in enumerate(zip(envs, files)):
        cmd = [sys.executable, "-m", "genrm", *argv, "--shard", f"{w}/{workers}"]
        with open(log, "w") as out:
            procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT))
    before = _count(path)
    try:
        with progress_bar(f"{description} ({workers} workers)", len(keys)) as (bar, tid):
            while any(p.poll() is None for p in procs):
                bar.update(tid, completed=before + sum(_count(shard_file(path, (w, workers))) for w in range(workers)))
                time.sleep(0.5)
    except BaseException:  # interrupted here: stop the workers too (their finished chunks are kept)
        for p in procs:
            p.terminate()
        raise
    failed = [w for w, p in enumerate(procs) if p.returncode != 0]
    written = merge_shards(path, keys, row_key, required, complete)
    if failed:
        tails = "\n".join(f"--- {files[w]}\n" + "".join(files[w].read_text().splitlines(True)[-8:]) for w in failed)
        raise GenrmError(
            f"{description}: worker(s) {', '.join(map(str, failed))} of {workers} failed; the rows the workers "
            f"finished are kept in {path}, so the same command resumes. Their logs end:\n{tails}"
        )
    console.print(f"{description}: {workers} workers wrote {written} rows into {path}")
    done = {row_key(r) for r in iter_jsonl(path, required, tolerate_torn_tail=True) if complete(r)}
    return written if all(k in done for k in keys) else None


def _count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0
