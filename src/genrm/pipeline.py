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

import random
import time
from pathlib import Path

import torch
from transformers.utils import logging as hf_logging

from .candidates import label_candidates, load_candidates, sample_candidates
from .config import METHODS, RunConfig, parse_counts
from .engines import make_engine
from .errors import GenrmError
from .evaluate import evaluate
from .formats import VerifyFormat
from .io import JsonlAppender, environment, iter_jsonl, read_json, read_jsonl, write_json, write_jsonl
from .model import build_tiny_model, load_model, merge_lora
from .progress import console
from .report import markdown_table, plot
from .tasks import DataTask, get_task
from .teacher import teacher_rationales
from .training import StopAtAccuracy, train_lm, train_orm
from .types import Problem
from .verifier_data import balanced_pairs, build_verifier_rows
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
        self.task = get_task(self.config.task, data=self.config.data or None)
        self.fmt = getattr(self.task, "verify_format", None) or VerifyFormat()
        if self.config.threads:
            torch.set_num_threads(self.config.threads)

    @classmethod
    def create(cls, path: str | Path, config: RunConfig, resume: bool = True) -> "Run":
        """Start a run folder, or resume one whose config matches."""
        path = Path(path)
        task = get_task(config.task, data=config.data or None)  # fail fast on a bad task name
        if "genrm_cot" in config.method_list and not getattr(task, "has_oracle", True):
            if not (config.teacher or config.verifier_data_dir):
                raise GenrmError(
                    f"task {config.task} has no oracle rationales for GenRM-CoT: set --teacher MODEL, give "
                    "--verifier-data-dir (genrm import-release), or drop genrm_cot from --methods"
                )
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
    if c.test_candidates:
        return _import_test_set(run)
    if isinstance(task, DataTask):
        return _data_problems(run)
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


def _data_problems(run: Run) -> dict:
    """Dataset tasks: test problems from the test split (or carved out of a single file), the rest from train."""
    c, task = run.config, run.task
    rng = random.Random(c.seed)
    if task.single_file():
        pool = _unique(task.load("all"))
        rng.shuffle(pool)
        test, train = pool[: c.n_test], pool[c.n_test :]
    else:
        test = _unique(task.load("test"))
        rng.shuffle(test)
        test = test[: c.n_test]
        held = {p.question for p in test}
        train = [p for p in _unique(task.load("train")) if p.question not in held]
        rng.shuffle(train)
    n_dev = min(N_DEV, max(0, len(train) - c.n_verifier_train))
    splits = {
        "test": test,
        "verifier_train": train[: c.n_verifier_train],
        "gen_dev": train[c.n_verifier_train : c.n_verifier_train + n_dev],
        "gen_train": train[c.n_verifier_train + n_dev :][: c.n_gen_train],
    }
    if not test or not splits["verifier_train"]:
        raise GenrmError(f"task {task.name}: {len(test)} test and {len(train)} training problems; need both")
    return {k: write_jsonl(run.file("problems", f"{k}.jsonl"), (p.to_dict() for p in v)) for k, v in splits.items()}


def _import_test_set(run: Run) -> dict:
    """A ready labelled test set (`test_candidates`: a folder with problems/ and candidates/test.jsonl)."""
    src = Path(run.config.test_candidates)
    rows = read_jsonl(src / "problems" / "test.jsonl", ("id", "question"))
    cands = read_jsonl(src / "candidates" / "test.jsonl", ("problem_id", "candidates"))
    write_jsonl(run.file("problems", "test.jsonl"), rows)
    write_jsonl(run.file("candidates", "test.jsonl"), cands)
    for split in ("verifier_train", "gen_dev", "gen_train"):
        write_jsonl(run.file("problems", f"{split}.jsonl"), [])
    n = sum(len(c["candidates"]) for c in cands)
    return {"test": len(rows), "test_candidates": n, "source": str(src)}


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
    if c.generator:
        raise GenrmError(f"this run samples from the pretrained generator {c.generator}; there is none to train")
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
    )


def sample(run: Run, split: str) -> int:
    c = run.config
    return sample_candidates(
        _engine(generator_spec(run), run, chat=bool(c.generator)),
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
    """Verifier rows: imported (`verifier_data_dir`), or built from labelled candidates with oracle or
    teacher rationales for GenRM-CoT."""
    c, task = run.config, run.task
    if c.verifier_data_dir:
        return _copy_verifier_rows(run)
    problems = run.problems("verifier_train")
    cands = load_candidates(run.file("candidates", "verifier_train.jsonl"), problems)
    pairs, stats = balanced_pairs(problems, cands, c.seed)
    rationales = None
    if not getattr(task, "has_oracle", True):
        if c.teacher:
            rationales, stats["teacher"] = teacher_rationales(
                _engine(c.teacher, run, chat=True),
                task,
                pairs,
                run.file("verifier_data", "teacher_raw.jsonl"),
                k=c.k_votes,
                temperature=c.cot_temperature,
                max_new_tokens=c.cot_max_new_tokens,
                seed=c.seed,
                fmt=run.fmt,
            )
        elif "genrm_cot" in c.method_list:
            raise GenrmError(
                f"task {task.name} has no oracle rationales: set --teacher MODEL, give --verifier-data-dir "
                "(genrm import-release), or drop genrm_cot from --methods"
            )
    rows, more = build_verifier_rows(task, pairs, run.fmt, c.unified_lambda, c.seed, rationales=rationales)
    stats.update(more)
    for kind, rs in rows.items():
        write_jsonl(run.file("verifier_data", f"{kind}.jsonl"), rs)
    write_json(run.file("verifier_data", "stats.json"), stats)
    return stats


def _copy_verifier_rows(run: Run) -> dict:
    src = Path(run.config.verifier_data_dir)
    src = src / "verifier_data" if (src / "verifier_data").is_dir() else src
    stats = {"source": str(src)}
    for kind in ("orm", "genrm", "genrm_cot"):
        if kind not in run.config.method_list:
            continue
        f = src / f"{kind}.jsonl"
        if not f.exists():
            raise GenrmError(f"{src} has no {kind}.jsonl; run genrm import-release or drop {kind} from --methods")
        rows = read_jsonl(f, ("prompt", "completion", "label"))
        if run.config.n_verifier_train and len(rows) > run.config.n_verifier_train:
            rows = rows[: run.config.n_verifier_train]  # imported rows are shuffled: a prefix is a random slice
        stats[kind] = {"rows": len(rows), "yes": sum(bool(r["label"]) for r in rows)}
        write_jsonl(run.file("verifier_data", f"{kind}.jsonl"), rows)
    write_json(run.file("verifier_data", "stats.json"), stats)
    return stats


def verifier_base(run: Run) -> str:
    """What verifiers are fine-tuned from: `verifier_base`, else the generator (its weights, not its server)."""
    spec = run.config.verifier_base or generator_spec(run)
    if spec.startswith(("http://", "https://", "openai:")):
        raise GenrmError(f"verifiers cannot be fine-tuned from the server {spec}; set --verifier-base to a model")
    return spec.removeprefix("vllm:")


def train_verifier(run: Run, kind: str) -> dict:
    """ORM (scalar head, BCE) or GenRM / GenRM-CoT (next-token loss on the completion)."""
    if kind not in ("orm", "genrm", "genrm_cot"):
        raise GenrmError(f"unknown verifier kind '{kind}': use orm, genrm or genrm_cot")
    c = run.config
    rows = read_jsonl(run.file("verifier_data", f"{kind}.jsonl"), ("prompt", "completion"))
    base = verifier_base(run)
    scratch = c.verifier_init == "scratch" and not (c.generator or c.verifier_base)
    out = run.file("models", kind)
    lk = c.load_kwargs()
    if kind == "orm":
        if not scratch:
            hf_logging.set_verbosity_error()  # the new scalar head is reported as "missing": expected
            model, tok = load_model(  # fp32 weights for training (bf16 autocast does the speed)
                base, kind="orm", dtype=torch.float32, num_labels=1, problem_type="multi_label_classification", **lk
            )
        else:
            from transformers import LlamaForSequenceClassification

            tiny, tok = build_tiny_model(c.model_size, seed=c.seed + 1)
            tiny.config.num_labels, tiny.config.problem_type = 1, "multi_label_classification"
            model = LlamaForSequenceClassification(tiny.config)
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
    if not scratch:
        model, tok = load_model(base, dtype=torch.float32, **lk)
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


def _trained(run: Run, kind: str) -> str:
    """A trained verifier as an engine spec; for vLLM a LoRA adapter is merged into a plain folder first."""
    path = run.file("models", kind)
    if run.config.score_engine != "vllm":
        return str(path)
    if (path / "adapter_config.json").exists():
        merged = run.file("models", f"{kind}_merged")
        if not (merged / "config.json").exists():
            merge_lora(path, merged)
        path = merged
    return f"vllm:{path}"


def make_verifier(run: Run, method: str):
    c = run.config
    if method == "orm":
        return ORMVerifier.from_pretrained(run.file("models", "orm"), batch_size=c.batch_size, **c.load_kwargs())
    if method == "genrm":
        return GenRMVerifier(_engine(_trained(run, "genrm"), run), run.fmt)
    if method == "genrm_cot":
        engine = _engine(_trained(run, "genrm_cot"), run)
    else:  # the judge: an untuned model prompted to verify, in its chat format when it has one
        engine = _engine(c.judge or generator_spec(run), run, chat=bool(c.judge or c.generator))
    return CoTVerifier(
        engine,
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
    out = [("problems", lambda: make_problems(run))]
    if not c.generator:
        out.append(("generator", lambda: train_generator(run)))
    if not c.verifier_data_dir:
        out.append(("sample_verifier_train", lambda: sample(run, "verifier_train")))
        out.append(("label_verifier_train", lambda: label(run, "verifier_train")))
    if not c.test_candidates:
        out.append(("sample_test", lambda: sample(run, "test")))
        out.append(("label_test", lambda: label(run, "test")))
    if any(k in c.method_list for k in ("orm", "genrm", "genrm_cot")):
        out.append(("verifier_data", lambda: make_verifier_data(run)))
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
