"""The `genrm` command line. Options of run commands are generated from `RunConfig`'s fields."""

import inspect
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Optional

import typer

from . import pipeline
from .config import PRESETS, RunConfig, preset_config
from .errors import GenrmError
from .progress import console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Generative verifiers (GenRM) and their baselines.")

_TYPES = {"str": str, "int": int, "float": float, "bool": bool}
RunDir = typer.Argument(..., help="run folder (made by `genrm init` or `genrm quickstart`)")


def with_config_options(fn):
    """Add one `--option` per RunConfig field (default None: the preset's value applies)."""
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.name != "overrides"]
    for f in fields(RunConfig):
        default = f.default if f.default is not MISSING else None
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Optional[_TYPES[str(f.type)]],
                default=typer.Option(
                    None, help=f"{f.metadata.get('help', '')} [default: {default}]", rich_help_panel="Run config"
                ),
            )
        )

    def wrapper(**kwargs):
        overrides = {f.name: kwargs.pop(f.name) for f in fields(RunConfig) if kwargs.get(f.name) is not None}
        for f in fields(RunConfig):
            kwargs.pop(f.name, None)
        return fn(overrides=overrides, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=params)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _finish(run: pipeline.Run) -> None:
    md = run.file("results.md").read_text()
    console.print(md, markup=False, highlight=False, soft_wrap=True)
    console.print(f"results: {run.file('results.json')}\ntable:   {run.file('results.md')}")
    for png in ("best_of_n.png", "best_of_n_vs_k.png"):
        if run.file(png).exists():
            console.print(f"plot:    {run.file(png)}")


@app.command()
@with_config_options
def quickstart(
    out: Optional[Path] = typer.Option(None, help="run folder [default: ./genrm-runs/quickstart-<task>-<preset>]"),
    preset: str = typer.Option("cpu", help=f"settings preset: {', '.join(PRESETS)}"),
    overrides: Optional[dict] = None,
):
    """Train a generator from scratch, sample, label, train and score every verifier, print the table."""
    config = preset_config(preset, **overrides)
    out = out or Path("genrm-runs") / f"quickstart-{config.task}-{preset}"
    run = pipeline.Run.create(out, config)
    console.print(f"[bold]genrm quickstart[/] → {out} (task {config.task}, preset {preset}); re-run to resume")
    pipeline.run_all(run)
    _finish(run)


@app.command()
@with_config_options
def init(
    out: Path = typer.Argument(..., help="run folder to create"),
    preset: str = typer.Option("cpu", help=f"settings preset: {', '.join(PRESETS)}"),
    overrides: Optional[dict] = None,
):
    """Create a run folder with its config (then run stages one by one, or `genrm run`)."""
    pipeline.Run.create(out, preset_config(preset, **overrides), resume=False)
    console.print(f"created {out / 'run.json'}")


@app.command("run")
def run_cmd(run: Path = RunDir):
    """Run (or resume) every stage of a run folder not yet done."""
    r = pipeline.Run(run)
    pipeline.run_all(r)
    _finish(r)


@app.command()
def problems(run: Path = RunDir):
    """Write the generator-training, verifier-training and test problems."""
    console.print(pipeline.make_problems(pipeline.Run(run)))


@app.command("train-generator")
def train_generator(run: Path = RunDir):
    """Train the built-in model from scratch on reference solutions."""
    log = pipeline.train_generator(pipeline.Run(run))
    console.print({k: log[k] for k in ("steps", "seconds", "train_loss")})


@app.command()
def sample(run: Path = RunDir, split: str = typer.Option("test", help="verifier_train or test")):
    """Sample N candidates per problem (resumes where it stopped)."""
    console.print(f"sampled {pipeline.sample(pipeline.Run(run), split)} problems")


@app.command()
def label(run: Path = RunDir, split: str = typer.Option("test", help="verifier_train or test")):
    """Label sampled candidates with the task's answer check."""
    console.print(pipeline.label(pipeline.Run(run), split))


@app.command("verifier-data")
def verifier_data(run: Path = RunDir):
    """Build balanced ORM / GenRM / GenRM-CoT training rows (with unified-training rows)."""
    console.print(pipeline.make_verifier_data(pipeline.Run(run)))


@app.command("train-verifier")
def train_verifier(run: Path = RunDir, kind: str = typer.Argument(..., help="orm, genrm or genrm_cot")):
    """Train one verifier."""
    log = pipeline.train_verifier(pipeline.Run(run), kind)
    console.print({k: log[k] for k in ("steps", "seconds", "train_loss")})


@app.command()
def score(run: Path = RunDir, method: str = typer.Argument(..., help="orm, genrm, genrm_cot or judge")):
    """Score the test candidates with one verifier (resumes per problem)."""
    console.print(f"scored {pipeline.score(pipeline.Run(run), method)} problems")


@app.command()
def evaluate(run: Path = RunDir):
    """Compute Best-of-N tables, plots and results.json from the scores."""
    r = pipeline.Run(run)
    pipeline.evaluate_run(r)
    _finish(r)


@app.command("import-release")
def import_release(
    src: Path = typer.Argument(..., help="folder of the GenRM release (rm_*.zip, critiques_*.zip)"),
    out: Path = typer.Option(..., help="folder to write verifier_data/, problems/, candidates/ and stats.json"),
    max_rows: int = typer.Option(0, help="keep a random slice of this many training rows per kind (0: all)"),
    seed: int = typer.Option(0, help="seed of that slice"),
):
    """Import the paper's released GSM8K verifier data (use with --verifier-data-dir / --test-candidates)."""
    from .released import import_release as run_import

    console.print(run_import(src, out, max_rows=max_rows, seed=seed))


@app.command("merge-lora")
def merge_lora(
    adapter: Path = typer.Argument(..., help="a LoRA adapter folder (e.g. RUN/models/genrm)"),
    out: Path = typer.Argument(..., help="folder for the merged model"),
    kind: str = typer.Option("causal", help="causal (generator, GenRM) or orm"),
):
    """Fold a LoRA adapter into its base model and save a plain Hugging Face folder."""
    from .model import merge_lora as run_merge

    console.print(f"merged model saved to {run_merge(adapter, out, kind=kind)}")


@app.command()
def tasks():
    """List the registered tasks."""
    from .tasks import TASKS

    for name in sorted(TASKS):
        console.print(name)


def main() -> None:
    try:
        app()
    except GenrmError as e:
        console.print(f"[red]error:[/] {e}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted: finished stages and rows are kept; run the same command again to resume")
        sys.exit(130)
