"""The `genrm` command line. Options of run commands are generated from `RunConfig`'s fields."""

import inspect
import sys
from dataclasses import MISSING, fields, replace
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from .. import pipeline
from ..core.config import PRESETS, RunConfig, ServeLimits, preset_config
from ..core.errors import GenrmError
from ..core.progress import console
from ..core.train_config import REPORT_TO_HELP
from .bench import bench_app
from .export import export_app
from .version import version_text

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Generative verifiers (GenRM) and their baselines.")
app.add_typer(bench_app, name="bench")
app.add_typer(export_app, name="export")


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())  # stdout (the console writes to stderr)
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version (and git revision) and exit"
    ),
) -> None:
    """Generative verifiers (GenRM) and their baselines."""


_TYPES = {"str": str, "int": int, "float": float, "bool": bool}
RunDir = typer.Argument(..., help="run folder (made by `genrm init` or `genrm quickstart`)")
Split = typer.Option("test", help="split to sample, score and evaluate: test (final runs) or dev (choosing settings)")
ReportTo = typer.Option(None, help=f"{REPORT_TO_HELP} [default: the run's report_to]")
Workers = typer.Option(
    None,
    min=1,
    help="engine processes sampling and scoring side by side (one per GPU, or per tensor_parallel_size GPUs), each "
    "on its own share of the problems; the rows equal one process's [default: the run's workers]",
)
Shard = typer.Option(
    None,
    help="W/N: do only this worker's share of the problems into a file of its own (one per machine, any launcher); "
    "the same command without --shard merges the shares",
)


def _open(
    run: Path, split: str = "test", report_to: Optional[str] = None, workers: Optional[int] = None
) -> pipeline.Run:
    """The run folder; `report_to` and `workers` replace its settings for this command (they change no result)."""
    r = pipeline.Run(run, split)
    if report_to is not None:
        r.config = replace(r.config, report_to=report_to)
    if workers is not None:
        r.config = replace(r.config, workers=workers)
    return r


def _shard(text: Optional[str]) -> Optional[tuple[int, int]]:
    from ..pipeline.shards import parse_shard

    return parse_shard(text) if text else None


def with_config_options(fn, config_class=RunConfig, panel: str = "Run config"):
    """Add one `--option` per field of `config_class` (default None: the preset's value applies)."""
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.name != "overrides"]
    for f in fields(config_class):
        default = f.default if f.default is not MISSING else None
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Optional[_TYPES[str(f.type)]],
                default=typer.Option(
                    None, help=f"{f.metadata.get('help', '')} {escape(f'[default: {default}]')}", rich_help_panel=panel
                ),
            )
        )

    def wrapper(**kwargs):
        overrides = {f.name: kwargs.pop(f.name) for f in fields(config_class) if kwargs.get(f.name) is not None}
        for f in fields(config_class):
            kwargs.pop(f.name, None)
        return fn(overrides=overrides, **kwargs)

    setattr(wrapper, "__signature__", sig.replace(parameters=params))  # noqa: B010 (typer reads it)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def with_config_options_of(config_class, panel: str):
    return lambda fn: with_config_options(fn, config_class, panel)


def _finish(run: pipeline.Run) -> None:
    md = run.out("results.md").read_text()
    console.print(md, markup=False, highlight=False, soft_wrap=True)
    console.print(f"results: {run.out('results.json')}\ntable:   {run.out('results.md')}")
    for png in ("best_of_n.png", "best_of_n_vs_k.png"):
        if run.out(png).exists():
            console.print(f"plot:    {run.out(png)}")
    if run.out("report.html").exists():
        console.print(f"report:  {run.out('report.html')}  (open it in a browser; works offline)")


@app.command()
@with_config_options
def quickstart(
    out: Optional[Path] = typer.Option(None, help="run folder [default: ./genrm-runs/quickstart-<task>-<preset>]"),
    preset: str = typer.Option("cpu", help=f"settings preset: {', '.join(PRESETS)}"),
    from_scratch: bool = typer.Option(
        False, "--from-scratch", help="pretrain the built-in base and generator in this run (same as --base pretrain)"
    ),
    split: str = Split,
    overrides: Optional[dict[str, Any]] = None,
):
    """Sample from the built-in generator, train and score every verifier from the built-in base, print the table."""
    if from_scratch:
        overrides = {**(overrides or {}), "base": "pretrain"}
    config = preset_config(preset, **(overrides or {}))
    out = out or Path("genrm-runs") / f"quickstart-{config.task}-{preset}"
    run = pipeline.Run.create(out, config, split=split)
    console.print(
        f"[bold]genrm quickstart[/] → {out} (task {config.task}, preset {preset}, {split} split); re-run to resume"
    )
    pipeline.run_all(run)
    _finish(run)


def _pretrain_options(fn):
    from ..core.train_config import PretrainConfig

    return with_config_options(fn, PretrainConfig, "Pretraining")


@app.command()
@_pretrain_options
def pretrain(
    out: Path = typer.Argument(..., help="output folder (base/, generator-<task>/, pretrain_log.json, README.md)"),
    overrides: Optional[dict[str, Any]] = None,
):
    """Pretrain the built-in model from scratch on a packed corpus of solved and verified problems."""
    from ..core.train_config import PretrainConfig
    from ..pipeline.pretrain import pretrain as run_pretrain

    log = run_pretrain(PretrainConfig(**(overrides or {})), out)
    console.print((Path(out) / "README.md").read_text(), markup=False, highlight=False)
    console.print(f"steps {log['steps']}, {log['train_seconds']} s; generators at steps {log['generator_step']}")


@app.command()
@with_config_options
def init(
    out: Path = typer.Argument(..., help="run folder to create"),
    preset: str = typer.Option("cpu", help=f"settings preset: {', '.join(PRESETS)}"),
    overrides: Optional[dict[str, Any]] = None,
):
    """Create a run folder with its config (then run stages one by one, or `genrm run`)."""
    pipeline.Run.create(out, preset_config(preset, **(overrides or {})), resume=False)
    console.print(f"created {out / 'run.json'}")


@app.command("run")
def run_cmd(
    run: Path = RunDir, split: str = Split, report_to: Optional[str] = ReportTo, workers: Optional[int] = Workers
):
    """Run (or resume) every stage of a run folder not yet done (`--split dev` to choose settings)."""
    r = _open(run, split, report_to, workers)
    pipeline.run_all(r)
    _finish(r)


@app.command()
def problems(run: Path = RunDir):
    """Write the generator-training, verifier-training and test problems."""
    console.print(pipeline.make_problems(pipeline.Run(run)))


@app.command("train-generator")
def train_generator(run: Path = RunDir):
    """The built-in generator: a pretraining checkpoint (pretrained here first with --base pretrain)."""
    log = pipeline.train_generator(pipeline.Run(run))
    console.print({k: log[k] for k in ("source", "step", "probes")})


@app.command()
def sample(
    run: Path = RunDir,
    split: str = typer.Option("test", help="verifier_train, dev or test"),
    workers: Optional[int] = Workers,
    shard: Optional[str] = Shard,
):
    """Sample N candidates per problem (resumes where it stopped)."""
    console.print(f"sampled {pipeline.sample(_open(run, workers=workers), split, shard=_shard(shard))} problems")


@app.command()
def label(run: Path = RunDir, split: str = typer.Option("test", help="verifier_train, dev or test")):
    """Label sampled candidates with the task's answer check."""
    console.print(pipeline.label(pipeline.Run(run), split))


@app.command("verifier-data")
def verifier_data(run: Path = RunDir):
    """Build balanced ORM / GenRM / GenRM-CoT training rows (with unified-training rows)."""
    console.print(pipeline.make_verifier_data(pipeline.Run(run)))


@app.command("train-verifier")
def train_verifier(
    run: Path = RunDir,
    kind: str = typer.Argument(..., help="orm, dpo, genrm or genrm_cot"),
    report_to: Optional[str] = ReportTo,
):
    """Train one verifier."""
    log = pipeline.train_verifier(_open(run, report_to=report_to), kind)
    console.print({k: log[k] for k in ("steps", "seconds", "train_loss")})


@app.command()
def score(
    run: Path = RunDir,
    method: str = typer.Argument(..., help="orm, dpo, genrm, genrm_cot or judge"),
    split: str = Split,
    workers: Optional[int] = Workers,
    shard: Optional[str] = Shard,
):
    """Score the split's candidates with one verifier (resumes per problem)."""
    scored = pipeline.score(_open(run, split, workers=workers), method, shard=_shard(shard))
    console.print(f"scored {scored} problems")


@app.command()
def evaluate(run: Path = RunDir, split: str = Split):
    """Compute Best-of-N tables, plots and results.json from the scores."""
    r = pipeline.Run(run, split)
    pipeline.evaluate_run(r)
    _finish(r)


@app.command()
@with_config_options
def sweep(
    out: Path = typer.Argument(..., help="sweep folder (one run folder per point under points/)"),
    grid: list[str] = typer.Option(
        ...,
        help="FIELD=V1,V2,...: a run setting (e.g. n_verifier_train=1500,3000,6000) or verifier_size=nano,tiny,small "
        "(alias model); repeat for a grid",
    ),
    preset: str = typer.Option("cpu", help=f"settings preset of every point: {', '.join(PRESETS)}"),
    split: str = Split,
    jobs: int = typer.Option(1, help="points run at once, each in its own process (1: in this process)"),
    ray: str = typer.Option(
        "", help="run the points as Ray tasks: auto (a running cluster), local (a new local instance) or an address"
    ),
    overrides: Optional[dict[str, Any]] = None,
):
    """Run a grid of runs that share what the swept values do not change; sweep.json, sweep.md, plots, report."""
    from ..sweep import Sweep, parse_grid, run_sweep

    if jobs < 1:
        raise GenrmError(f"--jobs {jobs}: give 1 or more")
    sw = Sweep.create(out, preset_config(preset, **(overrides or {})), parse_grid(grid), split=split)
    summary = run_sweep(sw, jobs=jobs, ray=ray)
    console.print((out / "sweep.md").read_text(), markup=False, highlight=False, soft_wrap=True)
    for png in sorted(out.glob("sweep_*.png")):
        console.print(f"plot:    {png}")
    console.print(f"results: {out / 'sweep.json'}\nreport:  {out / 'report.html'}")
    if not summary["complete"]:
        raise GenrmError(f"{out}: some points have no results; run the same command again to resume")


def _results_file(run: Path) -> Path:
    """`run`/results.json, or an error saying how to make it."""
    if not (run / "results.json").exists():
        raise GenrmError(f"{run} has no results.json: run `genrm evaluate {run}` (or finish the run) first")
    return run / "results.json"


@app.command()
def report(
    runs: list[Path] = typer.Argument(..., help="one or more run folders (evaluated), or one sweep folder"),
    out: Optional[Path] = typer.Option(None, help="HTML file [default: RUN/report.html, or ./report.html for several]"),
):
    """Write one self-contained HTML report of one or more runs (side by side), or of a sweep folder."""
    from ..report.html import write_report

    if len(runs) == 1 and (runs[0] / "sweep.json").exists():
        from ..sweep import Sweep
        from ..sweep.results import collect, write_sweep_report

        collect(Sweep(runs[0]))  # the points finished so far; writes SWEEP/report.html
        console.print(f"report: {write_sweep_report(runs[0], out) if out else runs[0] / 'report.html'}")
        return
    for r in runs:
        _results_file(r)
    target = out or (runs[0] / "report.html" if len(runs) == 1 else Path("report.html"))
    console.print(f"report: {write_report(runs, target)}")


@app.command()
def plan(
    run: Path = RunDir,
    budget: float = typer.Option(..., help="compute per problem you can spend (in --unit)"),
    unit: str = typer.Option("flops", help="flops or tokens (generated + prefilled, all models)"),
):
    """The method and (N, K) with the best measured accuracy within a compute budget per problem, and the runner-up."""
    from ..analysis.compute import plan as rank
    from ..analysis.evaluate import VERIFIER_NAMES
    from ..core.io import read_json

    if unit not in ("flops", "tokens"):
        raise GenrmError(f"--unit {unit!r}: use flops or tokens")
    compute = read_json(_results_file(run)).get("compute")
    if not compute:
        raise GenrmError(f"{run}/results.json has no compute accounting (older genrm): run `genrm evaluate {run}`")
    points = compute["accuracy_vs_compute"]
    best = rank(points, budget, unit)
    if not best:
        cheapest = min((p[unit] for p in points if p.get(unit) is not None), default=None)
        if cheapest is None:  # a model's parameters were unknown (a server): only tokens were counted
            raise GenrmError(f"{run} has no {unit} counts (a model's size is unknown); use --unit tokens")
        raise GenrmError(f"nothing fits {budget:g} {unit} per problem; the cheapest point needs {cheapest:.4g}")
    console.print(f"[bold]within {budget:g} {unit} per problem[/] (measured on {run.name}'s test problems)")
    names = {v: k for k, v in VERIFIER_NAMES.items()}  # display name -> method
    runner_up = next((p for p in best[1:] if (p["method"], p["K"]) != (best[0]["method"], best[0]["K"])), None)
    for label, p in (("best", best[0]), ("runner-up", runner_up)):
        if p is None:
            continue
        k = f", K={p['K']}" if p.get("K") else ""
        lo, hi = p["ci95"]
        console.print(
            f"{label:9s}  {p['method']}: N={p['N']}{k}  accuracy {p['accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f})  "
            f"{p[unit]:.4g} {unit}",
            soft_wrap=True,
        )
    top = best[0]
    if top["method"] in names:
        k = f" --k {top['K']}" if top.get("K") else ""
        serve = f"genrm serve {run} --method {names[top['method']]}{k}"
        console.print(f"serve it:   {serve}   (sample N={top['N']} per prompt)", soft_wrap=True)


@app.command("import-release")
def import_release(
    src: Path = typer.Argument(..., help="folder of the GenRM release (rm_*.zip, critiques_*.zip)"),
    out: Path = typer.Option(..., help="folder to write verifier_data/, problems/, candidates/ and stats.json"),
    max_rows: int = typer.Option(0, help="keep a random slice of this many training rows per kind (0: all)"),
    seed: int = typer.Option(0, help="seed of that slice"),
):
    """Import the paper's released GSM8K verifier data (use with --verifier-data-dir / --test-candidates)."""
    from ..data.released import import_release as run_import

    console.print(run_import(src, out, max_rows=max_rows, seed=seed))


@app.command("merge-lora")
def merge_lora(
    adapter: Path = typer.Argument(..., help="a LoRA adapter folder (e.g. RUN/models/genrm)"),
    out: Path = typer.Argument(..., help="folder for the merged model"),
    kind: str = typer.Option("causal", help="causal (generator, GenRM) or orm"),
):
    """Fold a LoRA adapter into its base model and save a plain Hugging Face folder."""
    from ..models.model import merge_lora as run_merge

    console.print(f"merged model saved to {run_merge(adapter, out, kind=kind)}")


@app.command()
@with_config_options_of(ServeLimits, "Serving")
def serve(
    source: str = typer.Argument(
        ..., help="run folder, verifier folder (RUN/models/genrm), or model spec with --method"
    ),
    method: Optional[str] = typer.Option(
        None, help="orm, genrm, genrm_cot or judge (default: the run's first trained verifier)"
    ),
    task: Optional[str] = typer.Option(None, help="prompt format of a model outside a run (default: gsm8k)"),
    data: Optional[str] = typer.Option(None, help="data of that task, if it needs one (jsonl)"),
    host: str = typer.Option("127.0.0.1", help="address to bind; beyond loopback an --api-key is required"),
    port: int = typer.Option(8000, help="port (0: any free port; the address is printed)"),
    api_key: Optional[str] = typer.Option(
        None, envvar="GENRM_SERVE_API_KEY", help="bearer token clients must send (env GENRM_SERVE_API_KEY)"
    ),
    k: Optional[int] = typer.Option(None, help="GenRM-CoT/judge: votes per item (default: the run's k_votes)"),
    temperature: Optional[float] = typer.Option(None, help="GenRM-CoT/judge: rationale temperature"),
    max_new_tokens: Optional[int] = typer.Option(None, help="GenRM-CoT/judge: token cap of a rationale"),
    batch_size: Optional[int] = typer.Option(None, help="sequences per forward pass (default: the run's)"),
    score_engine: Optional[str] = typer.Option(None, help="transformers or vllm (default: the run's)"),
    log_level: str = typer.Option("warning", help="uvicorn log level (info logs every request)"),
    overrides: Optional[dict[str, Any]] = None,
):
    """Serve a trained verifier over HTTP: POST /score, POST /get_reward (OpenRLHF), GET /health, /docs."""
    from ..serving.reward import RewardModel
    from ..serving.server import bind_socket, check_bind, socket_url
    from ..serving.server import serve as run_server

    check_bind(host, api_key)  # before minutes of model loading, and the port too
    sock = bind_socket(host, port)
    limits = ServeLimits(**(overrides or {}))
    console.print(f"loading {source} ...")
    model = RewardModel.load(
        source,
        method,
        task=task,
        data=data,
        k=k,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        score_engine=score_engine,
    )
    from ..report.card import card_summary

    folder = Path(source) / "models" / model.method if (Path(source) / "run.json").exists() else Path(source)
    summary = card_summary(folder)
    if summary:
        console.print(f"model card: {summary}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"serving {model.name} ({model.method}) at {socket_url(sock)}  (API docs: /docs; "
        f"{'bearer token required' if api_key else 'no token'}; Ctrl-C stops)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    run_server(model, host=host, limits=limits, api_key=api_key, log_level=log_level, sock=sock)


@app.command()
def tasks():
    """List the registered tasks."""
    from ..tasks import TASKS

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
