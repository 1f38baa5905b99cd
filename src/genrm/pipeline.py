"""A run folder and its stages. Each stage reads and writes plain files, so any stage can be
re-run or resumed from its inputs alone:

    run.json                      config + environment header
    problems/{split}.jsonl        gen_train, verifier_train, test
    models/generator/             HF folder (+ train_log.json)
    samples/{split}.jsonl         N raw samples per problem (resumable)
    candidates/{split}.jsonl      labelled candidates
    verifier_data/{kind}.jsonl    orm, genrm, genrm_cot rows (+ stats.json)
    models/{orm,genrm,genrm_cot}/ trained verifiers
    scores/{method}.jsonl         per-candidate scores, votes and rationales (resumable)
    results.json, results.md, best_of_n.png, best_of_n_vs_k.png
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from transformers.utils import logging as hf_logging

from .candidates import label_candidates, load_candidates, sample_candidates
from .config import METHODS, RunConfig, parse_counts
from .engines import TransformersEngine
from .errors import GenrmError
from .evaluate import evaluate
from .formats import VerifyFormat
from .io import JsonlAppender, environment, iter_jsonl, read_json, read_jsonl, write_json, write_jsonl
from .model import build_tiny_model, load_model
from .progress import console
from .report import markdown_table, plot
from .tasks import get_task
from .training import StopAtAccuracy, train_lm, train_orm
from .types import Problem
from .verifier_data import build_verifier_rows
from .verifiers import CoTVerifier, GenRMVerifier, ORMVerifier

SPLITS = ("gen_train", "gen_dev", "verifier_train", "test")
N_DEV = 128  # held-out training-distribution problems for the generator's stopping check


class Run:
    """A run folder: its config and the paths of its artefacts."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        header = read_json(self.path / "run.json")
        if "config" not in header:
            raise GenrmError(f"{self.path / 'run.json'} has no 'config'; start the run with `genrm init`")
        self.config = RunConfig.from_dict(header["config"])
        self.task = get_task(self.config.task)
        self.fmt = getattr(self.task, "verify_format", None) or VerifyFormat()
        if self.config.threads:
            torch.set_num_threads(self.config.threads)

    @classmethod
    def create(cls, path: str | Path, config: RunConfig, resume: bool = True) -> "Run":
        """Start a run folder, or resume one whose config matches."""
        path = Path(path)
        get_task(config.task)  # fail fast on a bad task name
        header_path = path / "run.json"
        if header_path.exists():
            old = read_json(header_path).get("config")
            if old != config.to_dict():
                diff = sorted(k for k in config.to_dict() if old is None or old.get(k) != config.to_dict()[k])
                raise GenrmError(
                    f"{path} holds a run with another config (differs in: {', '.join(diff)}); "
                    "use a new --out folder or delete the old one"
                )
            if not resume:
                raise GenrmError(f"{path} already holds a run; use a new --out folder")
        else:
            write_json(header_path, {"config": config.to_dict(), "environment": environment()})
        return cls(path)

    def file(self, *parts: str) -> Path:
        return self.path.joinpath(*parts)

    def problems(self, split: str) -> list[Problem]:
        if split not in SPLITS:
            raise GenrmError(f"unknown split '{split}': use one of {', '.join(SPLITS)}")
        rows = read_jsonl(self.file("problems", f"{split}.jsonl"), ("id", "question", "answer"))
        return [Problem(r["id"], r["question"], r["answer"], r.get("meta", {})) for r in rows]

    def done(self, marker: str) -> bool:
        return self.file(".done", marker).exists()

    def mark(self, marker: str, info: dict | None = None) -> None:
        write_json(self.file(".done", marker), {"time": time.time(), **(info or {})})


# ---------------------------------------------------------------------------- stages
def make_problems(run: Run) -> dict:
    """Disjoint problem sets (seeded): test first, then verifier training, generator dev and training.

    No question appears in two sets; the generator's dev set (its stopping check) is drawn from the
    training distribution, never from the test set.
    """
    c, task = run.config, run.task
    train_w, test_w = parse_counts(c.train_words), parse_counts(c.test_words)
    plan = [("test", c.n_test, test_w), ("verifier_train", c.n_verifier_train, train_w)]
    plan += [("gen_dev", N_DEV, train_w), ("gen_train", c.n_gen_train, train_w)]
    held: set[str] = set()
    counts = {}
    for i, (split, n, words) in enumerate(plan):
        drawn = task.make_problems(n * 2 if split != "gen_train" else n, words, seed=c.seed * 7 + i)
        ps = _unique([p for p in drawn if p.question not in held])[:n]
        held |= {p.question for p in ps}
        counts[split] = write_jsonl(run.file("problems", f"{split}.jsonl"), (p.to_dict() for p in ps))
    return counts


def _unique(ps: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in ps:
        if p.question not in seen:
            seen.add(p.question)
            out.append(p)
    return out


def train_generator(run: Run) -> dict:
    """SFT of the built-in tiny model, from scratch, on reference solutions."""
    c, task = run.config, run.task
    problems = run.problems("gen_train")
    model, tok = build_tiny_model(c.model_size, seed=c.seed)
    callbacks = []
    if c.gen_stop_accuracy > 0:
        dev = run.problems("gen_dev")
        callbacks.append(StopAtAccuracy(task, dev, tok, c.gen_stop_accuracy, c.gen_eval_every, c.max_new_tokens))
    return train_lm(
        model,
        tok,
        [task.prompt(p) for p in problems],
        [task.reference_solution(p) for p in problems],
        c.train_config("gen"),
        run.file("models", "generator"),
        what="generator",
        callbacks=callbacks,
    )


def _engine(path, run: Run) -> TransformersEngine:
    model, tok = load_model(path)
    return TransformersEngine(model, tok, batch_size=run.config.batch_size)


def sample(run: Run, split: str) -> int:
    c = run.config
    return sample_candidates(
        _engine(run.file("models", "generator"), run),
        run.task,
        run.problems(split),
        run.file("samples", f"{split}.jsonl"),
        n=c.n_candidates,
        temperature=c.temperature,
        max_new_tokens=c.max_new_tokens,
        seed=c.seed,
        description=f"sampling {split}",
    )


def label(run: Run, split: str) -> dict:
    return label_candidates(
        run.task, run.problems(split), run.file("samples", f"{split}.jsonl"), run.file("candidates", f"{split}.jsonl")
    )


def make_verifier_data(run: Run) -> dict:
    problems = run.problems("verifier_train")
    cands = load_candidates(run.file("candidates", "verifier_train.jsonl"), problems)
    rows, stats = build_verifier_rows(run.task, problems, cands, run.fmt, run.config.unified_lambda, run.config.seed)
    for kind, rs in rows.items():
        write_jsonl(run.file("verifier_data", f"{kind}.jsonl"), rs)
    write_json(run.file("verifier_data", "stats.json"), stats)
    return stats


def train_verifier(run: Run, kind: str) -> dict:
    """ORM (scalar head, BCE) or GenRM / GenRM-CoT (next-token loss on the completion)."""
    if kind not in ("orm", "genrm", "genrm_cot"):
        raise GenrmError(f"unknown verifier kind '{kind}': use orm, genrm or genrm_cot")
    c = run.config
    rows = read_jsonl(run.file("verifier_data", f"{kind}.jsonl"), ("prompt", "completion"))
    gen_dir = run.file("models", "generator")
    out = run.file("models", kind)
    if kind == "orm":
        if c.verifier_init == "generator":
            hf_logging.set_verbosity_error()  # the new scalar head is reported as "missing": expected
            model, tok = load_model(  # fp32 weights for training (bf16 autocast does the speed)
                gen_dir, kind="orm", dtype=torch.float32, num_labels=1, problem_type="multi_label_classification"
            )
        else:
            from transformers import LlamaForSequenceClassification

            base, tok = build_tiny_model(c.model_size, seed=c.seed + 1)
            base.config.num_labels, base.config.problem_type = 1, "multi_label_classification"
            model = LlamaForSequenceClassification(base.config)
        model.config.pad_token_id = tok.pad_token_id
        return train_orm(
            model,
            tok,
            [r["prompt"] + r["completion"] for r in rows],
            [r["label"] for r in rows],
            c.train_config("ver"),
            out,
            what="ORM",
        )
    if c.verifier_init == "generator":
        model, tok = load_model(gen_dir, dtype=torch.float32)
        model.train()
    else:
        model, tok = build_tiny_model(c.model_size, seed=c.seed + 1)
    return train_lm(
        model,
        tok,
        [r["prompt"] for r in rows],
        [r["completion"] for r in rows],
        c.train_config("ver"),
        out,
        what="GenRM-CoT" if kind == "genrm_cot" else "GenRM",
    )


def make_verifier(run: Run, method: str):
    c = run.config
    if method == "orm":
        return ORMVerifier.from_pretrained(run.file("models", "orm"), batch_size=c.batch_size)
    if method == "genrm":
        return GenRMVerifier(_engine(run.file("models", "genrm"), run), run.fmt)
    path = run.file("models", "genrm_cot" if method == "genrm_cot" else "generator")
    return CoTVerifier(
        _engine(path, run),
        k=c.k_votes,
        fmt=run.fmt,
        temperature=c.cot_temperature,
        max_new_tokens=c.cot_max_new_tokens,
        seed=c.seed,
    )


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
    from .progress import progress_bar

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
    results = evaluate(problems, cands, scores, seed=run.config.seed)
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
    out = [
        ("problems", lambda: make_problems(run)),
        ("generator", lambda: train_generator(run)),
        ("sample_verifier_train", lambda: sample(run, "verifier_train")),
        ("label_verifier_train", lambda: label(run, "verifier_train")),
        ("sample_test", lambda: sample(run, "test")),
        ("label_test", lambda: label(run, "test")),
        ("verifier_data", lambda: make_verifier_data(run)),
    ]
    for kind in ("orm", "genrm", "genrm_cot"):
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
