"""The generator stages: the built-in generator (a pretraining checkpoint), sample N candidates, label them."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..core.config import RunConfig, parse_counts
from ..core.errors import GenrmError
from ..core.io import read_json, write_json
from ..core.train_config import PretrainConfig
from ..data.candidates import label_candidates, sample_candidates
from .pretrain import builtin_dir, pretrain
from .run import Run, _engine, generator_spec
from .shards import gather, shard_file


def pretrained_dir(run: Run) -> Path:
    """Where the built-in base and generators come from: shipped with genrm (`builtin`: never saw verification
    text; `builtin-verify`: the ablation pretrained on GenRM-CoT documents), pretrained in this run, or a folder."""
    c = run.config
    if c.base == "builtin":
        return builtin_dir()
    if c.base == "builtin-verify":
        return builtin_dir() / "verify-pretrained"
    if c.base == "pretrain":
        return run.file("models", "pretrained")
    return Path(c.base)


def base_dir(run: Run) -> Path:
    """The built-in base the verifiers start from (see `base_in`)."""
    return base_in(pretrained_dir(run), run.task.name)


def base_in(folder: Path, task: str) -> Path:
    """The base of a pretraining folder: `base-<task>/` if it has one, else `base/` (one base for every task of a
    multi-task pretraining run)."""
    per_task = folder / f"base-{task}"
    return per_task if (per_task / "config.json").exists() else folder / "base"


def pretrain_config(c: RunConfig) -> PretrainConfig:
    """`--base pretrain`: the shipped recipe on the run's task, with the run's generator settings."""
    return PretrainConfig(
        tasks=c.task,
        words=f"1-{max(parse_counts(c.train_words))}",
        n_problems=c.n_gen_train,
        model_size=c.model_size,
        steps=c.gen_steps,
        batch_size=c.gen_batch_size,
        lr=c.gen_lr,
        max_seconds=c.gen_max_seconds,
        eval_every=c.gen_eval_every,
        generator_accuracy=c.gen_stop_accuracy,
        max_new_tokens=c.max_new_tokens,
        checkpoint_steps=c.checkpoint_steps,
        checkpoint_minutes=c.checkpoint_minutes,
        seed=c.seed,
        probe_words=",".join(str(n) for n in c.test_counts() if n not in parse_counts(c.train_words)),
    )


def train_generator(run: Run) -> dict:
    """The built-in generator: with `roles=one` (the paper's setting) the base itself, the one checkpoint that
    is also the verifiers' base, the DPO reference and the judge; with `roles=split` the pretraining run's
    first checkpoint at the target dev accuracy on this task.

    With `base=pretrain` the pretraining runs here first (`models/pretrained/`); otherwise the shipped
    (`builtin`) or given pretraining folder is used. The checkpoint is copied to `models/generator/`.
    """
    c, task = run.config, run.task
    if c.generator:
        raise GenrmError(f"this run samples from the pretrained generator {c.generator}; there is none to train")
    src = pretrained_dir(run)
    if c.base == "pretrain" and not (src / "pretrain_log.json").exists():
        pretrain(pretrain_config(c), src)
    folder = base_dir(run) if c.roles == "one" else src / f"generator-{task.name}"
    if not (folder / "config.json").exists():
        raise GenrmError(
            f"{src} has no generator for task {task.name}; pretrain one (`genrm pretrain OUT --tasks {task.name}`) "
            "and pass --base OUT, or use --base pretrain"
        )
    log = read_json(
        folder / "pretrain_log.json" if (folder / "pretrain_log.json").exists() else src / "pretrain_log.json"
    )
    out = run.file("models", "generator")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(folder, out, ignore=shutil.ignore_patterns("pretrain_log.json"))
    info = {
        "source": str(folder),
        "roles": c.roles,
        "step": log["steps"] if c.roles == "one" else log["generator_step"].get(task.name),
        "dev_accuracy": [(r["step"], r[task.name]) for r in log["dev_accuracy"] if task.name in r],
        "probes": {k: v for k, v in log["probes"].items() if k.endswith("/" + task.name)},
        "pretrain_seconds": log["train_seconds"],
    }
    write_json(out / "train_log.json", info)
    return info


def sample(run: Run, split: str, shard: tuple[int, int] | None = None) -> int:
    """N candidates per problem of `split` (`n_train_samples` for verifier-training problems, when set). With
    `workers` > 1 the problems are spread over that many engine processes (`genrm.pipeline.shards`); `shard=(w, n)`
    is one such worker's share."""
    c = run.config
    n = c.n_train_samples if split == "verifier_train" and c.n_train_samples else c.n_candidates
    problems = run.problems(split)
    if not problems:
        raise GenrmError(
            f"{run.file('problems', split + '.jsonl')} holds no problems: a run with --test-candidates has no "
            "dev split (tune on another run), and a dataset needs more training problems than --n-verifier-train"
        )
    out = run.file("samples", f"{split}.jsonl")
    if shard is None:
        argv = ["sample", str(run.path), "--split", split]
        written = gather(
            run,
            argv,
            out,
            [p.id for p in problems],
            lambda row: row["problem_id"],
            ("problem_id", "samples"),
            lambda row: len(row["samples"]) == n,
            description=f"sampling {split}",
        )
        if written is not None:
            return written
    return sample_candidates(
        _engine(generator_spec(run), run, chat=bool(c.generator)),
        run.task,
        problems,
        out if shard is None else shard_file(out, shard),
        n=n,
        temperature=c.temperature,
        max_new_tokens=c.max_new_tokens,
        seed=c.seed,
        description=f"sampling {split}",
        shard=shard,
        done_in=out if shard else None,
    )


def label(run: Run, split: str) -> dict:
    return label_candidates(
        run.task, run.problems(split), run.file("samples", f"{split}.jsonl"), run.file("candidates", f"{split}.jsonl")
    )
