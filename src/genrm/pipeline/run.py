"""The run folder: its config, task, verification format and artefact paths; engines over its models."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ..core.config import RUNTIME_FIELDS, RunConfig
from ..core.errors import GenrmError
from ..core.io import environment, read_json, write_json
from ..core.schemas import ProblemRow, read_rows
from ..core.types import Problem
from ..engines import make_engine
from ..tasks import get_task

SPLITS = ("gen_train", "gen_dev", "verifier_train", "dev", "test")
EVAL_SPLITS = ("test", "dev")  # what a run scores and evaluates: the final test split, or dev (tuning)
N_DEV = 128  # held-out training-distribution problems for the generator's stopping check


class Run:
    """A run folder: its config and the paths of its artefacts."""

    def __init__(self, path: str | Path, split: str = "test"):
        if split not in EVAL_SPLITS:
            raise GenrmError(f"split '{split}': use test (the final runs) or dev (choosing settings)")
        self.path = Path(path)
        self.split = split  # the evaluated split: its scores and results live in `out()`
        header = read_json(self.path / "run.json")
        if "config" not in header:
            raise GenrmError(f"{self.path / 'run.json'} has no 'config'; start the run with `genrm init`")
        self.config = RunConfig.from_dict(header["config"])
        self.task = get_task(self.config.task, data=self.config.data or None)
        self.fmt = self.task.verify_format
        if self.config.threads:
            torch.set_num_threads(self.config.threads)

    @classmethod
    def create(cls, path: str | Path, config: RunConfig, resume: bool = True, split: str = "test") -> "Run":
        """Start a run folder, or resume one whose config matches."""
        path = Path(path)
        task = get_task(config.task, data=config.data or None)  # fail fast on a bad task name
        if "genrm_cot" in config.method_list and not task.has_oracle:
            if not (config.teacher or config.verifier_data_dir):
                raise GenrmError(
                    f"task {config.task} has no oracle rationales for GenRM-CoT: set --teacher MODEL, give "
                    "--verifier-data-dir (genrm import-release), or drop genrm_cot from --methods"
                )
        header_path = path / "run.json"
        if header_path.exists():
            old = read_json(header_path).get("config")
            new, defaults = config.to_dict(), RunConfig().to_dict()
            # how often to checkpoint, or where logs go, does not change what a run computes; a field added since
            # uses its default
            diff = sorted(
                k for k in new if k not in RUNTIME_FIELDS and (old is None or old.get(k, defaults[k]) != new[k])
            )
            if diff:
                raise GenrmError(
                    f"{path} holds a run with another config (differs in: {', '.join(diff)}); "
                    "use a new --out folder or delete the old one"
                )
            if not resume:
                raise GenrmError(f"{path} already holds a run; use a new --out folder")
        else:
            write_json(header_path, {"config": config.to_dict(), "environment": environment()})
        return cls(path, split)

    def file(self, *parts: str) -> Path:
        return self.path.joinpath(*parts)

    def out(self, *parts: str) -> Path:
        """Where the evaluated split's artefacts go (scores/, probes.json, results.*, report.html): the run folder
        for the test split, `dev/` in it for the dev split (so tuning never overwrites or reads test results)."""
        return self.path.joinpath(*parts) if self.split == "test" else self.path.joinpath("dev", *parts)

    def stage(self, name: str) -> str:
        """The done-marker of a stage that depends on the evaluated split."""
        return name if self.split == "test" else f"{name}@{self.split}"

    def problems(self, split: str) -> list[Problem]:
        if split not in SPLITS:
            raise GenrmError(f"unknown split '{split}': use one of {', '.join(SPLITS)}")
        rows = read_rows(self.file("problems", f"{split}.jsonl"), ProblemRow, key="id")
        return [Problem(r["id"], r["question"], r["answer"] or "", r["meta"]) for r in rows]

    def done(self, marker: str) -> bool:
        return self.file(".done", marker).exists()

    def mark(self, marker: str, info: dict | None = None) -> None:
        write_json(self.file(".done", marker), {"time": time.time(), **(info or {})})


def generator_spec(run: Run) -> str:
    """The generator: a pretrained model or engine named in the config, else the trained tiny model."""
    return run.config.generator or str(run.file("models", "generator"))


def _engine(spec, run: Run, chat: bool = False):
    """An engine over a model folder, Hub id, .gguf file, `vllm:<model>` or server URL."""
    c = run.config
    return make_engine(
        spec,
        batch_size=c.batch_size,
        chat_template=c.chat_template if chat else "never",
        tensor_parallel_size=c.tensor_parallel_size,
        load_kwargs=c.load_kwargs(),
        concurrency=c.http_concurrency,
    )
