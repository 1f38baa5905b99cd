"""A run folder and its stages. Each stage reads and writes plain files, so any stage can be
re-run or resumed from its inputs alone:

    run.json                      config + environment header
    problems/{split}.jsonl        gen_train, gen_dev, verifier_train, test
    models/pretrained/            base=pretrain only: `genrm pretrain`'s output for this run
    models/generator/             HF folder (a pretraining checkpoint; + train_log.json)
    samples/{split}.jsonl         N raw samples per problem (resumable)
    candidates/{split}.jsonl      labelled candidates
    verifier_data/{kind}.jsonl    orm, genrm, genrm_cot rows (+ stats.json, teacher_raw.jsonl)
    models/{orm,genrm,genrm_cot}/ trained verifiers (full models or LoRA adapters)
    probes.json                   the generator's and the base's own accuracy on the test problems
    scores/{method}.jsonl         per-candidate scores, votes and rationales (resumable)
    results.json, results.md, best_of_n.png, best_of_n_vs_k.png

Modules: `run` (the folder, engines over its models), `problems`, `generation` (train the
built-in generator, sample, label), `verification` (rows, training, verifier objects); scoring,
evaluation and the stage list are here.
"""

from __future__ import annotations

import time

from ..candidates import load_candidates
from ..errors import GenrmError
from ..evaluate import evaluate
from ..io import JsonlAppender, environment, iter_jsonl, read_json, read_jsonl, write_json
from ..progress import console, progress_bar
from ..report import markdown_table, plot
from ..types import METHODS, TRAINED_KINDS
from .generation import label, sample, train_generator
from .problems import make_problems
from .run import N_DEV, SPLITS, Run, generator_spec
from .verification import make_verifier, make_verifier_data, train_verifier, verifier_base


def score(run: Run, method: str, split: str = "test", chunk: int = 32) -> int:
    """Score every candidate of `split` with `method`; resumes per problem."""
    if method not in METHODS:
        raise GenrmError(f"unknown method '{method}': use one of {', '.join(METHODS)}")
    problems = run.problems(split)
    cands = load_candidates(run.file("candidates", f"{split}.jsonl"), problems)
    out = run.file("scores", f"{method}.jsonl")
    done = set()
    if out.exists():
        done = {r["problem_id"] for r in iter_jsonl(out, ("problem_id", "scores"), tolerate_torn_tail=True)}
    todo = [p for p in problems if p.id not in done]
    if not todo:
        return 0
    verifier = make_verifier(run, method)
    with JsonlAppender(out) as w, progress_bar(f"scoring {method}", len(problems)) as (bar, tid):
        bar.advance(tid, len(problems) - len(todo))
        for i in range(0, len(todo), chunk):
            part = todo[i : i + chunk]
            items = [(run.task.prompt(p), cd.text) for p in part for cd in cands[p.id]]
            unique = list(dict.fromkeys(items))  # identical candidates are scored once
            scored = dict(zip(unique, verifier.score(unique)))
            results = [scored[it] for it in items]
            k = 0
            for p in part:
                rs = results[k : k + len(cands[p.id])]
                k += len(cands[p.id])
                w.write(
                    {
                        "problem_id": p.id,
                        "scores": [
                            {"index": cd.index, "score": r[0], "votes": r[1], "rationales": r[2]}
                            for cd, r in zip(cands[p.id], rs)
                        ],
                    }
                )
            bar.advance(tid, len(part))
    return len(todo)


def probe_models(run: Run) -> dict:
    """What the built-in models can do alone on the test problems: the generator's and the base's greedy and
    sampled (temperature `temperature`) accuracy. The base row tells what the verifiers start from."""
    from ..engines import TransformersEngine
    from ..model import load_model
    from ..pretrain import solved

    c, task = run.config, run.task
    problems = run.problems("test")
    out = {}
    for name, spec in (("generator", generator_spec(run)), ("base", verifier_base(run))):
        engine = TransformersEngine(*load_model(spec), batch_size=c.batch_size)
        for mode, temp in (("greedy", 0.0), ("sampled", c.temperature)):
            ok = solved(engine, task, problems, c.max_new_tokens, c.seed, temp)
            out[f"{name}_{mode}"] = sum(ok) / len(problems)
            if (name, mode) == ("base", "greedy"):
                out["base_greedy_correct"] = ok
    write_json(run.file("probes.json"), out)
    return out


def rationale_faithfulness(run: Run, method: str, problems, cands) -> dict | None:
    """How the sampled rationales of a CoT method compare with the oracle's, on the test candidates.

    `step_agreement`: share of checked steps written exactly as the oracle writes them (re-derived step,
    the candidate's result, ok / wrong / missing / extra); `exact`: share of rationales equal to the oracle's.
    """
    task = run.task
    if not hasattr(task, "rationale_body"):
        return None
    rows = {r["problem_id"]: r["scores"] for r in read_jsonl(run.file("scores", f"{method}.jsonl"))}
    agree = steps = exact = n = 0
    for p in problems:
        for cd, sc in zip(cands[p.id], rows[p.id]):
            oracle = task.rationale_body(p, cd.text).strip()
            o_steps = oracle.split(". Expected")[0].split(", ")
            for r in sc.get("rationales") or []:
                r_steps = r.strip().split(". Expected")[0].split(", ")
                agree += sum(a == b for a, b in zip(o_steps, r_steps))
                steps += max(len(o_steps), len(r_steps))
                exact += r.strip() == oracle
                n += 1
    if not n:
        return None
    return {"step_agreement": agree / steps, "exact": exact / n, "rationales": n}


def evaluate_run(run: Run) -> dict:
    problems = run.problems("test")
    cands = load_candidates(run.file("candidates", "test.jsonl"), problems)
    scores = {}
    for m in run.config.method_list:
        rows = {
            r["problem_id"]: r["scores"] for r in read_jsonl(run.file("scores", f"{m}.jsonl"), ("problem_id", "scores"))
        }
        missing = [p.id for p in problems if p.id not in rows]
        if missing:
            raise GenrmError(f"scores/{m}.jsonl lacks {len(missing)} test problem(s); re-run `genrm score {m}`")
        scores[m] = rows
    probes = read_json(run.file("probes.json")) if run.file("probes.json").exists() else {}
    base_correct = probes.pop("base_greedy_correct", None)
    results = evaluate(problems, cands, scores, seed=run.config.seed, base_correct=base_correct)
    results["probes"] = probes
    for m in ("genrm_cot", "judge"):
        if m in scores:
            faith = rationale_faithfulness(run, m, problems, cands)
            if faith:
                results["probes"][f"{m}_rationales"] = faith
    results["task"] = run.config.task
    results["config"] = run.config.to_dict()
    results["stage_logs"] = _stage_logs(run)
    write_json(run.file("results.json"), {"environment": environment(), **results})
    title = f"{run.config.task}, test words {run.config.test_words}"
    md = markdown_table(results, title)
    run.file("results.md").write_text(md, encoding="utf-8")
    plot(results, run.path, title)
    return results


def _stage_logs(run: Run) -> dict:
    """Training logs, data counts and per-stage wall times, for results.json."""
    logs = {}
    for d in ("generator", "orm", "genrm", "genrm_cot"):
        p = run.file("models", d, "train_log.json")
        if p.exists():
            log = read_json(p)
            keys = ("steps", "seconds", "tokens_per_second", "train_loss", "rows", "dev_accuracy")
            keys += ("source", "step", "probes", "pretrain_seconds")  # the built-in generator: a pretraining checkpoint
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


def stages(run: Run):
    """The ordered (marker, function) list that a full run executes."""
    c = run.config
    out = [("problems", lambda: make_problems(run))]
    if not c.generator:
        out.append(("generator", lambda: train_generator(run)))
    if not c.verifier_data_dir:
        out.append(("sample_verifier_train", lambda: sample(run, "verifier_train")))
        out.append(("label_verifier_train", lambda: label(run, "verifier_train")))
    if not c.test_candidates:
        out.append(("sample_test", lambda: sample(run, "test")))
        out.append(("label_test", lambda: label(run, "test")))
    if not (c.generator or c.verifier_base or c.test_candidates):
        out.append(("probe", lambda: probe_models(run)))
    if any(k in c.method_list for k in TRAINED_KINDS):
        out.append(("verifier_data", lambda: make_verifier_data(run)))
    for kind in TRAINED_KINDS:
        if kind in c.method_list:
            out.append((f"train_{kind}", lambda kind=kind: train_verifier(run, kind)))
    for m in c.method_list:
        out.append((f"score_{m}", lambda m=m: score(run, m)))
    out.append(("evaluate", lambda: evaluate_run(run)))
    return out


def run_all(run: Run) -> dict:
    """Run every stage not yet done (a re-run resumes after the last finished stage)."""
    result = None
    for marker, fn in stages(run):
        if run.done(marker):
            continue
        console.print(f"[bold cyan]▶ {marker}")
        t0 = time.time()
        result = fn()
        info = {"seconds": round(time.time() - t0, 1)}
        if isinstance(result, dict) and marker.startswith("label"):
            info.update(result)
        run.mark(marker, info)
    return read_json(run.file("results.json"))


__all__ = [
    "N_DEV",
    "SPLITS",
    "Run",
    "evaluate_run",
    "generator_spec",
    "label",
    "make_problems",
    "make_verifier",
    "make_verifier_data",
    "probe_models",
    "run_all",
    "sample",
    "score",
    "stages",
    "train_generator",
    "train_verifier",
    "verifier_base",
]
