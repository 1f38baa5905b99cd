"""What the built-in models do alone (probes), and the evaluation of a run's scores into results files."""

from __future__ import annotations

from typing import Any

from ..analysis.compute import account, load_model_info
from ..analysis.evaluate import VERIFIER_NAMES, evaluate
from ..core.errors import GenrmError
from ..core.io import environment, read_json, read_jsonl, write_json
from ..core.steps import first_error_label
from ..core.types import TRAINED_KINDS
from ..data.candidates import load_candidates
from ..report.card import trained_epochs, write_card
from ..report.html import write_report
from ..report.markdown import markdown_table, plot
from .run import Run, generator_spec
from .verification import judge_context, verifier_base


def probe_models(run: Run) -> dict:
    """What the built-in models can do alone on the test problems: the generator's and the base's greedy and
    sampled (temperature `temperature`) accuracy. The base row tells what the verifiers start from."""
    from ..engines import TransformersEngine
    from ..models.model import load_model
    from .pretrain import solved

    c, task = run.config, run.task
    problems = run.problems(run.split)
    out: dict[str, Any] = {}
    same = c.roles == "one" and not c.verifier_base  # one checkpoint in every role: probe it once
    for name, spec in (("generator", generator_spec(run)), ("base", verifier_base(run))):
        if name == "base" and same:
            out["base_greedy"], out["base_sampled"] = out["generator_greedy"], out["generator_sampled"]
            out["base_greedy_correct"] = out.pop("generator_greedy_correct")
            continue
        engine = TransformersEngine(*load_model(spec), batch_size=c.batch_size)
        for mode, temp in (("greedy", 0.0), ("sampled", c.temperature)):
            ok = solved(engine, task, problems, c.max_new_tokens, c.seed, temp)
            out[f"{name}_{mode}"] = sum(ok) / len(problems)  # (base, greedy): which ones, for the oracle row
            if mode == "greedy":
                out[f"{name}_greedy_correct"] = ok
    out.pop("generator_greedy_correct", None)
    write_json(run.out("probes.json"), out)
    return out


def rationale_faithfulness(run: Run, method: str, problems, cands) -> dict | None:
    """How the sampled rationales of a CoT method compare with the oracle's, on the test candidates.

    `step_agreement`: share of checked steps written exactly as the oracle writes them (re-derived step,
    the answer's piece, ok / wrong / missing / extra, the candidate's differing step); `exact`: share of
    rationales equal to the oracle's.
    """
    task = run.task
    if not hasattr(task, "rationale_body"):
        return None
    rows = {r["problem_id"]: r["scores"] for r in read_jsonl(run.out("scores", f"{method}.jsonl"))}
    agree = steps = exact = n = 0
    for p in problems:
        for cd, sc in zip(cands[p.id], rows[p.id]):
            oracle = task.rationale_body(p, cd.text).strip()
            o_steps = oracle.removesuffix(".").split(", ")
            for r in sc.get("rationales") or []:
                r_steps = r.strip().removesuffix(".").split(", ")
                agree += sum(a == b for a, b in zip(o_steps, r_steps))
                steps += max(len(o_steps), len(r_steps))
                exact += r.strip() == oracle
                n += 1
    if not n:
        return None
    return {"step_agreement": agree / steps, "exact": exact / n, "rationales": n}


def evaluate_run(run: Run) -> dict:
    split = run.split
    problems = run.problems(split)
    cands = load_candidates(run.file("candidates", f"{split}.jsonl"), problems)
    scores = {}
    for m in run.config.method_list:
        rows = {
            r["problem_id"]: r["scores"] for r in read_jsonl(run.out("scores", f"{m}.jsonl"), ("problem_id", "scores"))
        }
        missing = [p.id for p in problems if p.id not in rows]
        if missing:
            raise GenrmError(
                f"{run.out('scores', m + '.jsonl')} lacks {len(missing)} {split} problem(s); re-run "
                f"`genrm score {run.path} {m} --split {split}`"
            )
        scores[m] = rows
    probes = read_json(run.out("probes.json")) if run.out("probes.json").exists() else {}
    base_correct = probes.pop("base_greedy_correct", None)
    first_errors = None
    if hasattr(run.task, "rationale_body"):  # step tasks: the oracle knows every candidate's first wrong step
        first_errors = {
            p.id: [first_error_label(run.task.rationale_body(p, c.text)) for c in cands[p.id]] for p in problems
        }
    results = evaluate(
        problems, cands, scores, seed=run.config.seed, base_correct=base_correct, first_errors=first_errors
    )
    results["probes"] = probes
    for m in ("genrm_cot", "judge"):
        if m in scores:
            faith = rationale_faithfulness(run, m, problems, cands)
            if faith:
                results["probes"][f"{m}_rationales"] = faith
    results["compute"] = compute_accounting(run, problems, cands, scores, results["methods"])
    results["compute"]["training"] = training_compute(run)
    results["task"] = run.config.task
    results["split"] = split
    results["config"] = run.config.to_dict()
    results["stage_logs"] = _stage_logs(run)
    write_json(run.out("results.json"), {"environment": environment(), **results})
    words = ",".join(map(str, run.config.test_counts()))
    title = f"{run.config.task}, {split} split, {words} words (verifiers trained on {run.config.train_words})"
    md = markdown_table(results, title)
    run.out("results.md").write_text(md, encoding="utf-8")
    plot(results, run.out(), title)
    write_report([run.out()], run.out("report.html"))
    for kind in TRAINED_KINDS:  # the verifiers' model cards carry these numbers
        if kind in scores and run.file("models", kind, "train_log.json").exists():
            write_card(run, kind, verifier_base(run))
    return results


def method_model(run: Run, method: str) -> str:
    """The model a method runs on: a trained verifier's folder, the judge's model, or the generator."""
    if method == "generator":
        return generator_spec(run)
    if method == "judge":
        return run.config.judge or verifier_base(run)
    return str(run.file("models", method))


def compute_accounting(run: Run, problems, cands, scores: dict, evaluated: dict | None = None) -> dict:
    """Tokens and FLOPs per problem of every method, and accuracy-vs-compute points (see `genrm.analysis.compute`)."""
    fmt, ids = run.fmt, [p.id for p in problems]
    context = judge_context(run) if "judge" in scores else ""
    readers = {
        "orm": lambda p, s: p + s,
        "dpo": lambda p, s: p + s,
        "genrm": fmt.direct_prompt,
        "judge": lambda p, s: context + fmt.cot_prompt(p, s),  # the worked examples are read too
    }
    models = {m: load_model_info(method_model(run, m)) for m in ("generator", *scores)}
    return account(
        ids,
        {p.id: run.task.prompt(p) for p in problems},
        {p.id: [c.text for c in cands[p.id]] for p in problems},
        {p.id: [bool(c.correct) for c in cands[p.id]] for p in problems},
        {p.id: [c.answer for c in cands[p.id]] for p in problems},
        scores,
        {m: readers.get(m, fmt.cot_prompt) for m in scores},
        fmt.decision,
        models,
        VERIFIER_NAMES,
        shared_prefix=run.config.score_engine == "transformers",
        seed=run.config.seed,
        evaluated=evaluated,
    )


def training_compute(run: Run) -> dict:
    """What training each verifier cost: its rows, epochs, steps, trained-on tokens and FLOPs (6 x parameters x
    tokens for forward + backward; DPO adds 2 x parameters x tokens for the frozen reference's forward passes).
    The shared pretraining and the sampling of the training candidates are the same for every verifier."""
    out = {}
    for kind in run.config.method_list:
        log_file = run.file("models", kind, "train_log.json")
        if not log_file.exists():
            continue
        log = read_json(log_file)
        params = load_model_info(str(run.file("models", kind))).params
        tokens = log.get("tokens") or log.get("tokens_per_second", 0) * log.get("seconds", 0)
        per_token = 6 + (2 if kind == "dpo" else 0)
        out[kind] = {
            "rows": log.get("rows"),
            "steps": log.get("steps"),
            "epochs": round(trained_epochs(log), 2),
            "tokens": round(tokens),
            "flops": per_token * params * tokens if params else None,
            "seconds": log.get("seconds"),
            "lr": log["config"]["lr"],
        }
    return out


def _stage_logs(run: Run) -> dict:
    """Training logs, data counts and per-stage wall times, for results.json."""
    logs = {}
    for d in ("generator", *TRAINED_KINDS):
        p = run.file("models", d, "train_log.json")
        if p.exists():
            log = read_json(p)
            keys = ("steps", "seconds", "tokens_per_second", "train_loss", "rows", "dev_accuracy")
            keys += ("source", "step", "probes", "pretrain_seconds")  # type: ignore[assignment]  # built-in generator
            logs[d] = {k: log[k] for k in keys if k in log}
    if run.file("verifier_data", "stats.json").exists():
        logs["verifier_data"] = read_json(run.file("verifier_data", "stats.json"))
    markers = sorted(run.file(".done").glob("*")) if run.file(".done").exists() else []
    done = {q.name: read_json(q) for q in markers}
    for split in ("verifier_train", "test"):
        if f"label_{split}" in done:
            logs[f"label_{split}"] = done[f"label_{split}"]
    logs["stage_seconds"] = {name: d["seconds"] for name, d in done.items() if "seconds" in d}
    return logs
