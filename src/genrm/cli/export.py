"""`genrm export ...`: a run's problems in the dataset formats of RL frameworks."""

from __future__ import annotations

from pathlib import Path

import typer

from ..core.progress import console

export_app = typer.Typer(no_args_is_help=True, help="Write a run's problems as an RL framework's dataset.")


@export_app.command("verl")
def verl(
    run: Path = typer.Argument(..., help="a run folder (its problems/<split>.jsonl)"),
    out: Path = typer.Argument(..., help="the parquet file to write (verl's data.train_files / data.val_files)"),
    split: str = typer.Option("gen_train", help="gen_train, gen_dev, verifier_train, dev or test"),
    prompt: str = typer.Option(
        "task", help="task: the task's solve prompt as the user message; question: the bare question"
    ),
) -> None:
    """verl parquet rows with every field verl reads: `data_source`, `prompt` (one user message),
    `reward_model.ground_truth` (verl's reward managers read it; genrm ignores it) and
    `extra_info.question` (the question genrm's verl hook gives the verifier)."""
    from ..integrations.verl import verl_rows, write_verl_parquet
    from ..pipeline import Run

    r = Run(run)
    rows = verl_rows(r.problems(split), r.task, split, prompt)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = write_verl_parquet(rows, out)
    console.print(f"{n} {split} problems of {run} -> {out} (verl: data.train_files={out})")
