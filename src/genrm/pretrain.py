"""Pretraining the built-in model as a language model: packed documents that hold every skill later stages need.

A verifier starts from a pretrained LM (the paper's start from Gemma); ours starts from this.
By default the corpus holds *solve* documents only (a problem and its reference solution), for the
tasks and for general list tasks on longer lists (`aux_tasks`): a base that never saw verification, so
every verifier format is equally new to it. `solve_share < 1` mixes in *verify* documents (a problem, a
candidate solution -- the reference or a synthetic wrong one made by `task.perturb` -- and the oracle
rationale with its Yes/No verdict), as the verification-pretrained ablation was made. Documents are concatenated
into fixed-length rows, as LMs are pretrained, so every skill is learnt at every position: a model
trained only on rows that start with the problem solves at position 0 and fails after any context.

One run, several checkpoints: the *generator* of each task is the first checkpoint whose sampled
accuracy on held-out dev problems reaches `generator_accuracy` (Best-of-N needs a generator that
is neither hopeless nor saturated); the final checkpoint is the *base* the verifiers are fine-tuned
from and the LLM-as-a-Judge prompts. Problems come only from the training share of the question
space (`is_held_out` reserves a tenth of it for test sets), so no test problem of any run is seen.

    OUT/base/                  final checkpoint (Hugging Face folder)
    OUT/generator-<task>/      per task: the first checkpoint at the target accuracy (+ pretrain_log.json)
    OUT/pretrain_log.json      config, command, dev accuracy history, probes, times
    OUT/README.md              model card
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import AbstractSet

import torch
from transformers import TrainerCallback

from .config import REPORT_TO_HELP, trackers
from .errors import GenrmError
from .io import environment, read_json, replace_dir, write_json
from .progress import console, progress_bar
from .types import Problem

HELD_OUT_EVERY = 10  # a question whose canonical form's SHA-1 is 0 modulo this is reserved for test sets


def builtin_dir() -> Path:
    """The pretraining output shipped inside the package (`genrm/pretrained/`)."""
    return Path(__file__).parent / "pretrained"


def canonical(problem: Problem, task=None) -> str:
    """The form of a question that decides held-out membership and split disjointness: the task's
    `canonical` (list tasks: the multiset of words, so a reordered test question is held out too), else
    the question itself."""
    return task.canonical(problem.question) if hasattr(task, "canonical") else problem.question


def is_held_out(problem: Problem, task) -> bool:
    """True for the tenth of the question space that only test sets draw from (a hash of the canonical question;
    for list tasks the same words in any order and under any task are in or out together)."""
    key = canonical(problem, task)
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % HELD_OUT_EVERY == 0


@dataclass
class PretrainConfig:
    """Settings of `genrm pretrain`; saved in the model card."""

    # data
    tasks: str = field(default="last_letter,word_sort", metadata={"help": "step tasks of the corpus, comma-separated"})
    words: str = field(default="1-4", metadata={"help": "word counts of the corpus problems"})
    n_problems: int = field(default=50000, metadata={"help": "training problems per task"})
    solve_share: float = field(
        default=1.0, metadata={"help": "share of solve documents (the rest verify; 1.0: never any verification text)"}
    )
    aux_tasks: str = field(
        default="first_letter,copy_list,reverse_list",
        metadata={"help": "general list tasks, solve documents only (e.g. first_letter,copy_list,reverse_list)"},
    )
    aux_words: str = field(default="1-10", metadata={"help": "word counts of the general list tasks' problems"})
    aux_share: float = field(default=0.3, metadata={"help": "share of documents from the general list tasks"})
    probe_words: str = field(
        default="5,6", metadata={"help": "also probe solving at these word counts (the length split's test lengths)"}
    )
    # model and optimisation
    model_size: str = field(default="tiny", metadata={"help": "built-in model size: nano, tiny, small, base"})
    steps: int = field(default=3000, metadata={"help": "optimiser steps"})
    batch_size: int = field(default=16, metadata={"help": "packed rows per step"})
    seq_len: int = field(default=256, metadata={"help": "tokens per packed row"})
    lr: float = field(default=3e-3, metadata={"help": "peak learning rate"})
    max_seconds: float = field(default=0, metadata={"help": "stop after this many seconds (0: no cap)"})
    # checkpoints
    eval_every: int = field(default=50, metadata={"help": "steps between dev accuracy checks"})
    n_dev: int = field(default=128, metadata={"help": "dev problems per task (held out of the corpus)"})
    generator_accuracy: float = field(
        default=0.4, metadata={"help": "a task's generator is the first checkpoint at this sampled dev accuracy"}
    )
    max_new_tokens: int = field(default=48, metadata={"help": "token cap of a dev solution"})
    checkpoint_steps: int = field(default=0, metadata={"help": "resumable checkpoint every N steps (0: off)"})
    checkpoint_minutes: float = field(default=10.0, metadata={"help": "resumable checkpoint every N minutes (0: off)"})
    report_to: str = field(default="none", metadata={"help": REPORT_TO_HELP})
    seed: int = field(default=0, metadata={"help": "seed of the corpus, the initialisation and the data order"})
    init: str = field(default="", metadata={"help": "continue from this model folder (empty: a new model)"})
    candidates_from: str = field(
        default="",
        metadata={"help": "verify documents also check this generator's sampled solutions (a model folder)"},
    )
    sampled_share: float = field(
        default=0.5, metadata={"help": "with --candidates-from: share of verify documents on sampled solutions"}
    )
    sampled_problems: int = field(default=4000, metadata={"help": "with --candidates-from: problems sampled per task"})
    samples_per_problem: int = field(default=8, metadata={"help": "with --candidates-from: solutions per problem"})

    def __post_init__(self) -> None:
        trackers(self.report_to)

    def task_list(self) -> list[str]:
        return [t.strip() for t in self.tasks.split(",") if t.strip()]

    def aux_list(self) -> list[str]:
        return [t.strip() for t in self.aux_tasks.split(",") if t.strip()]


def corpus_problems(
    task, cfg: PretrainConfig, n: int, seed: int, exclude: AbstractSet[str] = frozenset(), words: str = ""
) -> list[Problem]:
    """Up to `n` distinct training-share problems of `task` (never a held-out question, no canonical form in
    `exclude`), with `words` (default `cfg.words`) words each.

    Fewer when the question space is smaller (one-word problems): the documents then reuse them.
    """
    from .config import parse_counts

    out: list[Problem] = []
    seen, draw = set(exclude), 0
    while len(out) < n:
        before = len(out)
        for p in task.make_problems(max(256, n), parse_counts(words or cfg.words), seed=seed * 1000 + draw):
            key = canonical(p, task)
            if key not in seen and not is_held_out(p, task):
                seen.add(key)
                out.append(p)
        draw += 1
        if len(out) == before:  # the space is exhausted
            break
    if not out:
        raise GenrmError(f"task {task.name}: no training problems with --words {cfg.words}; allow more words")
    return out[:n]


def documents(
    task,
    problems: list[Problem],
    rng: random.Random,
    solve_share: float,
    n: int,
    sampled: dict[str, list[str]] | None = None,
    sampled_share: float = 0.0,
) -> list[tuple[str, str]]:
    """`n` (prompt, completion) documents: solve, or verify a reference / synthetic wrong candidate, or (a
    `sampled_share` of verify documents, for problems in `sampled`) one of a generator's sampled solutions."""
    fmt = task.verify_format
    docs: list[tuple[str, str]] = []
    pool = [p for p in problems if sampled and sampled.get(p.id)]
    while len(docs) < n:
        for p in rng.sample(problems, len(problems)):
            if rng.random() < solve_share:
                docs.append((task.prompt(p), task.reference_solution(p)))
            else:
                q = p
                if pool and rng.random() < sampled_share:  # one of a sampled problem's solutions
                    q = rng.choice(pool)
                    cand = rng.choice(sampled[q.id])  # type: ignore[index]  # pool: problems in `sampled`
                else:
                    cand = task.reference_solution(q) if rng.random() < 0.5 else task.perturb(q, rng)
                docs.append((fmt.cot_prompt(task.prompt(q), cand), task.oracle_rationale(q, cand, fmt.decision)))
            if len(docs) == n:
                break
    return docs


def _document_mix(c: dict) -> str:
    """How the corpus's documents divide, in words."""
    if c.get("solve_share", 0.4) >= 1:
        mix = "solve documents only (a problem and its reference solution): no verification text of any format"
    else:
        mix = (
            f"{c['solve_share']:.0%} solve, the rest verify{_sampled_text(c)}: half reference, half synthetic wrong "
            "candidates, each with its oracle rationale"
        )
    if c.get("aux_tasks"):
        mix += (
            f"; {c['aux_share']:.0%} of all documents solve general list tasks ({c['aux_tasks']}) on "
            f"{c['aux_words']} words"
        )
    return mix


def _sampled_text(c: dict) -> str:
    if not c.get("candidates_from"):
        return ""
    return (
        f"; {c['sampled_share']:.0%} of them check one of {c['samples_per_problem']} solutions sampled from "
        f"`{c['candidates_from']}` for each of {c['sampled_problems']:,} training problems, the others"
    )


def sampled_solutions(cfg: PretrainConfig, task, problems: list[Problem], out: Path) -> dict[str, list[str]]:
    """`cfg.samples_per_problem` solutions of `cfg.candidates_from` (temperature 1) for the first
    `cfg.sampled_problems` problems, kept in `out/sampled-{task}.jsonl` (resumable)."""
    from .candidates import sample_candidates
    from .engines.hf import TransformersEngine
    from .io import read_jsonl
    from .model import load_model

    path = out / f"sampled-{task.name}.jsonl"
    engine = TransformersEngine(*load_model(cfg.candidates_from))
    part = problems[: cfg.sampled_problems]
    sample_candidates(
        engine,
        task,
        part,
        path,
        n=cfg.samples_per_problem,
        max_new_tokens=cfg.max_new_tokens,
        seed=cfg.seed,
        description=f"sampling {task.name} solutions of {Path(cfg.candidates_from).name}",
    )
    return {r["problem_id"]: r["samples"] for r in read_jsonl(path, ("problem_id", "samples"))}


class PackedRows(torch.utils.data.Dataset):
    """Whole documents (BOS + prompt + completion + EOS, loss on the completion) packed into fixed-length rows.

    A row takes documents until the next one does not fit; the rest is padding (no loss). No document
    is cut, so every verdict is trained on, at offsets from 0 to the row's end.
    """

    def __init__(self, tokenizer, docs: list[tuple[str, str]], seq_len: int, rows: int):
        prompts = tokenizer([p for p, _ in docs], add_special_tokens=True).input_ids
        completions = tokenizer([c for _, c in docs], add_special_tokens=False).input_ids
        self.ids = torch.full((rows, seq_len), tokenizer.pad_token_id, dtype=torch.int32)  # (R, T)
        self.labels = torch.full((rows, seq_len), -100, dtype=torch.int32)  # (R, T)
        d = 0
        for r in range(rows):
            ids: list[int] = []
            labels: list[int] = []
            while True:
                p, c = prompts[d % len(docs)], completions[d % len(docs)] + [tokenizer.eos_token_id]
                if len(p) + len(c) > seq_len:
                    raise GenrmError(f"a pretraining document has {len(p) + len(c)} tokens > seq_len={seq_len}")
                if len(ids) + len(p) + len(c) > seq_len:
                    break
                ids += p + c
                labels += [-100] * len(p) + c
                d += 1
            self.ids[r, : len(ids)] = torch.tensor(ids)
            self.labels[r, : len(ids)] = torch.tensor(labels)
        self.documents_used = d

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i].tolist(), "labels": self.labels[i].tolist()}


def solved(engine, task, problems, max_new_tokens: int, seed: int, temperature=1.0, context="") -> list[bool]:
    """Per problem: is one sample (greedy at temperature 0) from `engine`, after `context` text, correct?"""
    outs = engine.generate(
        [context + task.prompt(p) for p in problems],
        n=1,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
    )
    return [task.is_correct(p, o[0]) for p, o in zip(problems, outs)]


def _engine(model, tokenizer):
    from .engines import TransformersEngine

    return TransformersEngine(getattr(model, "module", model), tokenizer)


def _mean(flags: list[bool]) -> float:
    return sum(flags) / max(1, len(flags))


class GeneratorCheckpoints(TrainerCallback):
    """Every `eval_every` steps: each task's sampled dev accuracy; the first checkpoint at `generator_accuracy`
    is that task's generator."""

    def __init__(self, tasks, dev, tokenizer, cfg: PretrainConfig, out: Path):
        self.tasks, self.dev, self.tokenizer, self.cfg, self.out = tasks, dev, tokenizer, cfg, out
        self.history: list[dict] = []
        self.saved: dict[str, int] = {}
        self.state_file = out / "generator_checkpoints.json"

    def on_train_begin(self, args, state, control, **kw):
        """On a resumed training, what was found up to the resumed step (later evaluations run again)."""
        if state.global_step and self.state_file.exists():
            old = read_json(self.state_file)
            self.history = [r for r in old["history"] if r["step"] <= state.global_step]
            self.saved = {t: s for t, s in old["saved"].items() if s <= state.global_step}

    def on_step_end(self, args, state, control, model=None, **kw):
        if state.global_step % self.cfg.eval_every or model is None:
            return
        row = {"step": state.global_step}
        for task in self.tasks:
            if task.name in self.saved:
                continue
            engine = _engine(model, self.tokenizer)
            acc = _mean(solved(engine, task, self.dev[task.name], self.cfg.max_new_tokens, seed=state.global_step))
            row[task.name] = round(acc, 4)
            if acc >= self.cfg.generator_accuracy:
                save_model(model, self.tokenizer, self.out / f"generator-{task.name}")
                self.saved[task.name] = state.global_step
        model.train()
        if len(row) > 1:
            self.history.append(row)
            write_json(self.state_file, {"history": self.history, "saved": self.saved})
            saved = ", ".join(f"generator-{t} at step {s}" for t, s in self.saved.items())
            accs = {k: v for k, v in row.items() if k != "step"}
            console.print(f"step {row['step']}: sampled dev accuracy {accs}" + (f"; {saved}" if saved else ""))


def save_model(model, tokenizer, path: Path) -> None:
    """Write a model folder atomically (a temp folder renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    from .model import quiet_hf_progress

    with quiet_hf_progress():
        getattr(model, "module", model).save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    replace_dir(tmp, path)


def probes(
    model, tokenizer, task, dev: list[Problem], max_new_tokens: int, longer: dict | None = None, seed: int = 0
) -> dict:
    """What the checkpoint can do on the inputs later stages give it.

    - `solve_greedy_at_{0,1,2}`: greedy accuracy with 0, 1 or 2 solved documents before the problem (joined by
      EOS + BOS, as in the packed rows);
    - `solve_sampled`: one sample at temperature 1 (what Best-of-N draws);
    - `verify_verdict`, `verify_exact`: greedy GenRM-CoT on half reference, half synthetic wrong candidates:
      the verdict's accuracy, and the share of rationales identical to the oracle's;
    - `solve_greedy_{n}w`, `solve_sampled_{n}w`: solving problems of `n` words (`longer`: {n: problems}).
    """
    rng = random.Random(seed)
    engine = _engine(model, tokenizer)
    out = {}
    ctx_problems = task.make_problems(2, [3], seed=seed + 12345)
    sep = tokenizer.eos_token + tokenizer.bos_token
    contexts = ["", *(task.prompt(q) + task.reference_solution(q) + sep for q in ctx_problems)]
    for i in range(3):
        ctx = "".join(contexts[1 : i + 1])
        out[f"solve_greedy_at_{i}"] = _mean(solved(engine, task, dev, max_new_tokens, seed, 0.0, ctx))
    out["solve_sampled"] = _mean(solved(engine, task, dev, max_new_tokens, seed))
    for n, ps in (longer or {}).items():
        out[f"solve_greedy_{n}w"] = _mean(solved(engine, task, ps, max_new_tokens, seed, 0.0))
        out[f"solve_sampled_{n}w"] = _mean(solved(engine, task, ps, max_new_tokens, seed))
    fmt = task.verify_format
    cands = [task.reference_solution(p) if i % 2 else task.perturb(p, rng) for i, p in enumerate(dev)]
    texts = engine.generate(
        [fmt.cot_prompt(task.prompt(p), c) for p, c in zip(dev, cands)],
        n=1,
        max_new_tokens=4 * max_new_tokens,
        temperature=0.0,
        seed=seed,
    )
    oracle = [task.oracle_rationale(p, c, fmt.decision) for p, c in zip(dev, cands)]
    verdicts = [t[0].rstrip().endswith(o[-4:].strip()) for t, o in zip(texts, oracle)]
    out["verify_verdict"] = sum(verdicts) / len(dev)
    out["verify_exact"] = sum(t[0].strip() == o.strip() for t, o in zip(texts, oracle)) / len(dev)
    return {k: round(v, 4) for k, v in out.items()}


def corpus_problem_sets(cfg: PretrainConfig, tasks: list, aux: list):
    """Each task's dev problems (held out of the corpus), each task's corpus problems and each general list task's,
    as `build_corpus` draws them (seeded by `cfg`: `corpus_forms` draws them again from a base's log)."""
    dev: dict[str, list[Problem]] = {}
    main: dict[str, list[Problem]] = {}
    side: dict[str, list[Problem]] = {}
    for i, task in enumerate(tasks):
        dev[task.name] = corpus_problems(task, cfg, cfg.n_dev, seed=cfg.seed * 100 + 2 * i + 1)
        held = {canonical(p, task) for p in dev[task.name]}
        main[task.name] = corpus_problems(task, cfg, cfg.n_problems, seed=cfg.seed * 100 + 2 * i, exclude=held)
    for i, task in enumerate(aux):
        side[task.name] = corpus_problems(task, cfg, cfg.n_problems, seed=cfg.seed * 100 + 50 + i, words=cfg.aux_words)
    return dev, main, side


def build_corpus(cfg: PretrainConfig, tasks: list, aux: list, out: Path) -> tuple[dict[str, list[Problem]], list]:
    """The pretraining documents, shuffled (`(prompt, completion)` pairs), and each task's dev problems (held out
    of the corpus). Per task a share of the documents (`documents`), and `aux_share` of them from the general list
    tasks (solve documents only, on `aux_words` words). No document has a held-out question in any word order."""
    rng = random.Random(cfg.seed)
    docs: list[tuple[str, str]] = []
    n_docs = cfg.steps * cfg.batch_size * cfg.seq_len // 60  # ~65 tokens a document; rows reuse them if short
    main_share = 1 - cfg.aux_share if aux else 1.0
    dev, main, side = corpus_problem_sets(cfg, tasks, aux)
    with progress_bar("building the pretraining corpus", len(tasks) + len(aux)) as (bar, tid):
        for task in tasks:
            problems = main[task.name]
            per_task = int(n_docs * main_share / len(tasks))
            sampled = sampled_solutions(cfg, task, problems, out) if cfg.candidates_from else None
            docs += documents(task, problems, rng, cfg.solve_share, per_task, sampled, cfg.sampled_share)
            bar.advance(tid)
        for task in aux:  # general list skills: solve documents only, longer lists
            docs += documents(task, side[task.name], rng, 1.0, int(n_docs * cfg.aux_share / len(aux)))
            bar.advance(tid)
    rng.shuffle(docs)
    return dev, docs


def corpus_forms(model_dir: str | Path) -> set[str]:
    """The canonical forms of every question in the pretraining corpus of a base made by `genrm pretrain`, drawn
    again from the configs in its logs (`pretrain_log*.json` in the model folder and the folder above it: the
    shipped base's two runs). Empty for a model without such logs (a Hub model: its corpus is unknown).

    A run keeps its dev split out of this set, so that dev is as unseen by the base as the held-out test split
    and settings chosen on dev are not chosen on problems the base memorised."""
    from .tasks import get_task

    folder = Path(model_dir)
    if not folder.is_dir():
        return set()
    configs = {}
    for log in sorted({*folder.glob("pretrain_log*.json"), *folder.parent.glob("pretrain_log*.json")}):
        c = read_json(log).get("config")
        if isinstance(c, dict):
            configs[json.dumps(c, sort_keys=True)] = c
    known = {f.name for f in fields(PretrainConfig)}
    forms: set[str] = set()
    for c in configs.values():
        cfg = PretrainConfig(**{k: v for k, v in c.items() if k in known})
        tasks = [get_task(n) for n in cfg.task_list()]
        aux = [get_task(n) for n in cfg.aux_list()]
        _, main, side = corpus_problem_sets(cfg, tasks, aux)
        drawn = {**main, **side}
        forms |= {canonical(p, t) for t in tasks + aux for p in drawn[t.name]}
    return forms


def pretrain(cfg: PretrainConfig, out: str | Path) -> dict:
    """Pretrain the built-in model on the packed corpus; write the base, the generators, a log and a card."""
    from .config import parse_counts
    from .model import build_tiny_model
    from .tasks import StepTask, get_task
    from .training import TrainConfig, train_lm_rows

    out = Path(out)
    tasks: list[StepTask] = []
    aux: list[StepTask] = []
    for names, into in ((cfg.task_list(), tasks), (cfg.aux_list(), aux)):
        for name in names:
            t = get_task(name)
            if not isinstance(t, StepTask):
                raise GenrmError(f"task {t.name} cannot be pretrained on (no synthetic candidates); use step tasks")
            into.append(t)
    if not tasks:
        raise GenrmError("pretrain needs at least one task: --tasks last_letter,word_sort")
    if aux and not 0 < cfg.aux_share < 1:
        raise GenrmError(f"--aux-share {cfg.aux_share}: give a share of documents between 0 and 1")
    words = sorted({w for t in tasks + aux for w in t.vocabulary()})
    if cfg.init:
        from .model import load_model

        model, tok = load_model(cfg.init, dtype=torch.float32)
        model.train()
    else:
        model, tok = build_tiny_model(cfg.model_size, seed=cfg.seed, words=words)
    model.config._attn_implementation = "sdpa"  # packed rows have no padding: PyTorch's fused attention is faster
    rows = cfg.steps * cfg.batch_size
    t0 = time.time()
    dev, docs = build_corpus(cfg, tasks, aux, out)
    data = PackedRows(tok, docs, cfg.seq_len, rows)
    corpus_seconds = time.time() - t0
    checkpoints = GeneratorCheckpoints(tasks, dev, tok, cfg, out)
    train_cfg = TrainConfig(
        max_steps=cfg.steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        max_seconds=cfg.max_seconds,
        seed=cfg.seed,
        checkpoint_steps=cfg.checkpoint_steps,
        checkpoint_minutes=cfg.checkpoint_minutes,
        report_to=cfg.report_to,
    )
    log = train_lm_rows(
        model, tok, data, train_cfg, out / "base", what="pretraining", callbacks=[checkpoints], params=asdict(cfg)
    )
    model.eval()
    for task in tasks:  # a task that never reached the target: its generator is the final checkpoint
        if task.name not in checkpoints.saved:
            save_model(model, tok, out / f"generator-{task.name}")
    probe_seconds = time.time()
    result = {
        "config": asdict(cfg),
        "command": "genrm pretrain " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["pretrain"] else None,
        "environment": environment(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocabulary": len(tok),
        "documents": data.documents_used,
        "tokens": rows * cfg.seq_len,
        "corpus_seconds": round(corpus_seconds, 1),
        "train_seconds": log["seconds"],
        "steps": log["steps"],
        "losses": log["losses"],
        "dev_accuracy": checkpoints.history,
        "generator_step": {t.name: checkpoints.saved.get(t.name) for t in tasks},
        "probes": {},
    }
    from .model import load_model

    for i, task in enumerate(tasks):
        longer = {  # the task at lengths the corpus never holds (training-share questions: a dev set)
            n: corpus_problems(task, cfg, cfg.n_dev, seed=cfg.seed * 100 + 90 + i, words=str(n))
            for n in (parse_counts(cfg.probe_words) if cfg.probe_words else [])
        }
        for name in ("base", f"generator-{task.name}"):
            m, t = load_model(out / name)
            result["probes"][f"{name}/{task.name}"] = probes(m, t, task, dev[task.name], cfg.max_new_tokens, longer)
    result["probe_seconds"] = round(time.time() - probe_seconds, 1)
    write_json(out / "pretrain_log.json", result)
    for name in ("base", *(f"generator-{t.name}" for t in tasks)):  # each checkpoint carries its run's log
        write_json(out / name / "pretrain_log.json", result)
    (out / "README.md").write_text(model_card(result), encoding="utf-8")
    console.print(f"pretrained in {result['train_seconds']:.0f} s: {out}")
    return result


def model_card(log: dict) -> str:
    """The README.md of a pretraining output folder."""
    c = log["config"]
    lines = [
        "# genrm built-in base model",
        "",
        f"A {log['parameters']:,}-parameter Llama (size `{c['model_size']}`, word-level tokenizer of "
        f"{log['vocabulary']} tokens) pretrained from scratch by genrm's own command:",
        "",
        "```bash",
        log.get("command") or f"genrm pretrain OUT --steps {c['steps']} --seed {c['seed']}",
        "```",
        "",
        f"Corpus: tasks {c['tasks']}, {c['words']} words a problem, {c['n_problems']:,} training problems per task "
        f"(never a held-out question: test sets draw only questions whose canonical form's SHA-1 is 0 mod "
        f"{HELD_OUT_EVERY}; for list tasks the canonical form is the multiset of words, so no reordering of a test "
        f"question is seen either), {log['documents']:,} documents ({_document_mix(c)}), packed into "
        f"{c['seq_len']}-token rows; {log['tokens']:,} tokens in all. {log['steps']} steps of {c['batch_size']} rows "
        f"at lr {c['lr']} took {log['train_seconds']:.0f} s ({log['environment']['device']}, "
        f"{log['environment']['threads']} threads).",
        "",
        "Checkpoints: `base/` (the final one: verifiers start from it, the judge prompts it) and, per task, "
        "`generator-<task>/`, the first checkpoint whose sampled dev accuracy reached "
        f"{c['generator_accuracy']} (step {log['generator_step']}).",
        "",
        "| checkpoint / task | greedy, 0 / 1 / 2 docs before | sampled | verify verdict | verify exact |",
        "|---|---|---|---|---|",
    ]
    for name, p in log["probes"].items():
        lines.append(
            f"| {name} | {p['solve_greedy_at_0']:.3f} / {p['solve_greedy_at_1']:.3f} / {p['solve_greedy_at_2']:.3f} "
            f"| {p['solve_sampled']:.3f} | {p['verify_verdict']:.3f} | {p['verify_exact']:.3f} |"
        )
    longer = [(name, k, v) for name, p in log["probes"].items() for k, v in p.items() if k.endswith("w")]
    if longer:
        lines += ["", "Solving at word counts the corpus never holds for that task (dev questions):", ""]
        lines += [f"- {name}: {k.removeprefix('solve_')} {v:.3f}" for name, k, v in longer]
    lines += ["", "Dev accuracy history (sampled, temperature 1) and losses: `pretrain_log.json`.", ""]
    return "\n".join(lines)
