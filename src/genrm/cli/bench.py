"""`genrm bench ...`: a verifier on ProcessBench, BIG-Bench Mistake, a Best-of-N file, and the master-key audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ..benchmarks.data import BBM_TASKS, PROCESSBENCH_SUBSETS
from ..core.errors import GenrmError
from ..core.progress import console

bench_app = typer.Typer(
    no_args_is_help=True, help="Evaluate a verifier on public verifier benchmarks (ProcessBench, BBM, Best-of-N)."
)

Verifier = typer.Option(
    ...,
    help="a run folder, a trained verifier folder (RUN/models/genrm), or any model spec (folder, Hub id, "
    "vllm:<model>, http://host:port) with --method",
)
Method = typer.Option(
    None,
    help="orm, dpo, genrm, genrm_cot or judge (prefix scoring), or critic (the benchmark authors' critique "
    "prompt on a generative model) [default: a run's first trained verifier]",
)
Task = typer.Option(None, help="the prompt format of a verifier outside a run (default gsm8k)")
Limit = typer.Option(0, help="N solutions of each subset, drawn at random (seed 0) in file order (0: all)")
Threshold = typer.Option(0.5, help="prefix scoring: the first step prefix scored below this is the first error")
Votes = typer.Option(1, help="critic: critiques sampled per solution (majority of the parsed indices)")
MaxNew = typer.Option(2048, help="critic: token cap of a critique")
BatchSize = typer.Option(64, help="items per model call")


def _judge(
    verifier: str, method: Optional[str], task: Optional[str], threshold: float, votes: int, max_new: int, batch: int
):
    from ..benchmarks.judges import CritiqueJudge, PrefixJudge

    if method == "critic":
        from ..engines import make_engine

        engine = make_engine(verifier, batch_size=batch, chat_template="auto")
        return CritiqueJudge(engine, Path(verifier).name or verifier, votes=votes, max_new_tokens=max_new)
    return PrefixJudge(_reward_model(verifier, method, task, batch), threshold=threshold)


def _reward_model(verifier: str, method: Optional[str], task: Optional[str], batch: int):
    from ..serving.reward import RewardModel

    return RewardModel.load(verifier, method, task=task, batch_size=batch)


def _settings(**kw: Any) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in kw.items()}


def _finish(out: Path, items: Optional[dict] = None) -> None:
    from ..report.benchmarks import write_bench_report

    report = write_bench_report(out, items)
    console.print((out / "results.md").read_text(), markup=False, highlight=False)
    console.print(f"results: {out / 'results.json'}\nreport:  {report}")


def _run_steps(
    kind: str,
    items: dict,
    verifier: str,
    method: Optional[str],
    task: Optional[str],
    limit: int,
    threshold: float,
    votes: int,
    max_new_tokens: int,
    batch_size: int,
    out: Path,
) -> None:
    """A step benchmark (ProcessBench, BIG-Bench Mistake): predictions, metrics, results.md and report.html."""
    from ..benchmarks.run import run_step_benchmark

    judge = _judge(verifier, method, task, threshold, votes, max_new_tokens, batch_size)
    settings = _settings(verifier=verifier, method=method, task=task, limit=limit, threshold=threshold, votes=votes)
    run_step_benchmark(kind, judge, items, out, settings)
    _finish(out, items)


@bench_app.command()
def processbench(
    verifier: str = Verifier,
    method: Optional[str] = Method,
    task: Optional[str] = Task,
    subset: list[str] = typer.Option(  # noqa: B006 (typer reads the default)
        list(PROCESSBENCH_SUBSETS), help="ProcessBench subsets (repeat the option)"
    ),
    data: Optional[str] = typer.Option(
        None, help="folder of the authors' JSON files [default: the Hub dataset Qwen/ProcessBench]"
    ),
    limit: int = Limit,
    threshold: float = Threshold,
    votes: int = Votes,
    max_new_tokens: int = MaxNew,
    batch_size: int = BatchSize,
    out: Path = typer.Option(Path("genrm-bench/processbench"), help="results folder (a re-run resumes)"),
):
    """ProcessBench: the first wrong step of 3,400 math solutions; the authors' F1 per subset and averaged."""
    from ..benchmarks.data import load_processbench, take

    items = {s: take(load_processbench(data, s), limit) for s in subset}
    _run_steps("processbench", items, verifier, method, task, limit, threshold, votes, max_new_tokens, batch_size, out)


@bench_app.command("big-bench-mistake")
def big_bench_mistake(
    verifier: str = Verifier,
    method: Optional[str] = Method,
    task: Optional[str] = Task,
    subset: list[str] = typer.Option(  # noqa: B006
        list(BBM_TASKS), help="BIG-Bench Mistake tasks (repeat the option)"
    ),
    data: str = typer.Option(..., help="folder of the task files (e.g. ../shared/data/benchmarks/big-bench-mistake)"),
    limit: int = Limit,
    threshold: float = Threshold,
    votes: int = Votes,
    max_new_tokens: int = MaxNew,
    batch_size: int = BatchSize,
    out: Path = typer.Option(Path("genrm-bench/big-bench-mistake"), help="results folder (a re-run resumes)"),
):
    """BIG-Bench Mistake: mistake location accuracy and the verdict's AUROC on "has a mistake", per task."""
    from ..benchmarks.data import load_bbm, take

    items = {t: take(load_bbm(data, t), limit) for t in subset}
    _run_steps(
        "big-bench-mistake", items, verifier, method, task, limit, threshold, votes, max_new_tokens, batch_size, out
    )


@bench_app.command()
def bon(
    file: Path = typer.Argument(..., help="JSONL: per problem `pred`, `score` (correct?), optional `pred_score`"),
    verifier: Optional[str] = typer.Option(None, help="also rank with this verifier (see processbench --verifier)"),
    method: Optional[str] = Method,
    task: Optional[str] = Task,
    limit: int = typer.Option(0, help="N problems drawn at random (seed 0) in file order (0: all)"),
    batch_size: int = BatchSize,
    out: Path = typer.Option(Path("genrm-bench/bon"), help="results folder (a re-run resumes)"),
):
    """Best-of-N, self-consistency, weighted SC and pass@N at every N (genrm's and the authors' definitions)."""
    from ..benchmarks.data import load_bon, take
    from ..benchmarks.run import run_bon

    problems = take(load_bon(file), limit)
    rm = _reward_model(verifier, method, task, batch_size) if verifier else None
    run_bon(problems, rm, out, _settings(file=file, verifier=verifier, method=method, task=task, limit=limit))
    _finish(out)


@bench_app.command("master-keys")
def master_keys(
    verifier: str = typer.Option(..., help="a run folder: its verifier, task and real wrong test candidates"),
    method: Optional[str] = Method,
    split: str = typer.Option("test", help="the run's split whose candidates are the real wrong ones"),
    limit: int = typer.Option(0, help="the run's first N problems, drawn in random order at its start (0: all)"),
    out: Path = typer.Option(Path("genrm-bench/master-keys"), help="results folder"),
):
    """Degenerate candidates ("", ":", an opener, the question, a bare wrong answer, a repetition) against the
    real wrong ones: the share of problems where one outscores every real wrong candidate, and the mean gap."""
    from ..benchmarks.master_keys import audit
    from ..core.io import environment, write_json
    from ..data.candidates import load_candidates
    from ..pipeline.run import Run
    from ..report.benchmarks import master_keys_markdown

    if not (Path(verifier) / "run.json").exists():
        raise GenrmError(f"{verifier} is not a run folder: the audit needs a run's labelled candidates")
    run = Run(Path(verifier), split)
    problems = run.problems(split)[: limit or None]
    cands = load_candidates(run.file("candidates", f"{split}.jsonl"), problems)
    rm = _reward_model(verifier, method, None, 64)
    result = {"verifier": rm.name, "task": run.config.task, "split": split, **audit(rm, run.task, problems, cands)}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", {"environment": environment(), **result})
    (out / "results.md").write_text(master_keys_markdown(result), encoding="utf-8")
    console.print((out / "results.md").read_text(), markup=False, highlight=False)
    console.print(f"results: {out / 'results.json'}")
