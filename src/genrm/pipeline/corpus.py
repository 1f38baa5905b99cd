"""The built-in base's pretraining corpus: which questions it may hold (never a held-out one), its solve and
verify documents, and the canonical forms of a shipped base's corpus drawn again from its logs (so a run's
dev split can be kept out of it)."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import fields
from pathlib import Path
from typing import AbstractSet

from ..core.errors import GenrmError
from ..core.io import read_json
from ..core.progress import progress_bar
from ..core.train_config import PretrainConfig
from ..core.types import Problem

HELD_OUT_EVERY = 10  # a question whose canonical form's SHA-1 is 0 modulo this is reserved for test sets


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


def corpus_problems(
    task, cfg: PretrainConfig, n: int, seed: int, exclude: AbstractSet[str] = frozenset(), words: str = ""
) -> list[Problem]:
    """Up to `n` distinct training-share problems of `task` (never a held-out question, no canonical form in
    `exclude`), with `words` (default `cfg.words`) words each.

    Fewer when the question space is smaller (one-word problems): the documents then reuse them.
    """
    from ..core.config import parse_counts

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


def document_mix(c: dict) -> str:
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
    from ..core.io import read_jsonl
    from ..data.candidates import sample_candidates
    from ..engines.hf import TransformersEngine
    from ..models.model import load_model

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
    from ..tasks import get_task

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
