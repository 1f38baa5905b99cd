"""Problem sets of a run: generated (algorithmic tasks), loaded (datasets), or a ready labelled test set."""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

from ..core.config import parse_counts
from ..core.errors import GenrmError
from ..core.io import write_jsonl
from ..core.schemas import CandidatesRow, ProblemRow, read_rows
from ..core.types import Problem
from ..tasks import DataTask
from .corpus import HELD_OUT_EVERY, canonical, corpus_forms, is_held_out
from .run import N_DEV, Run


def make_problems(run: Run) -> dict:
    """Disjoint problem sets (seeded): test first, then verifier training, generator dev and training.

    No question appears in two sets, in any word order (sets are disjoint on the task's canonical form);
    the generator's dev set (its stopping check) is drawn from the training distribution, never from the
    test set. Test questions of generated tasks come only from the held-out tenth of the question space
    (`genrm.pipeline.corpus.is_held_out`, on the canonical form), so the shipped pretrained model has seen none of
    them nor any permutation of them, whatever the seed. Dev questions (where settings are chosen) are kept
    out of the base's pretraining corpus too, where its logs tell what that was (`corpus_forms`), so dev is
    as unseen as test. Each split draws from its own named random stream (`<seed>:<split>`), which no
    pretraining corpus (integer seeds) shares.
    """
    c, task = run.config, run.task
    if c.test_candidates:
        return _import_test_set(run)
    if isinstance(task, DataTask):
        return _data_problems(run)
    train_w, test_w = parse_counts(c.train_words), c.test_counts()
    # dev: the test word counts, from the training share of the question space (settings are chosen on it)
    plan = [("test", c.n_test, test_w), ("dev", c.n_dev, test_w), ("verifier_train", c.n_verifier_train, train_w)]
    plan += [("gen_dev", N_DEV, train_w), ("gen_train", c.n_gen_train, train_w)]
    held: set[str] = set()
    seen_by_base = base_corpus(run) if c.n_dev > 0 else frozenset()
    counts = {}
    for split, n, words in plan:
        # test questions come only from the held-out tenth of the question space, which no pretraining sees
        draws = n * (4 * HELD_OUT_EVERY if split == "test" else 8 if split == "dev" else 2)
        drawn = task.make_problems(draws, words, seed=f"{c.seed}:{split}")
        fresh = [p for p in drawn if canonical(p, task) not in held and is_held_out(p, task) == (split == "test")]
        if split == "dev":
            fresh = [p for p in fresh if canonical(p, task) not in seen_by_base]
        ps = _unique(fresh, task)[:n]
        held |= {canonical(p, task) for p in ps}
        counts[split] = write_jsonl(run.file("problems", f"{split}.jsonl"), (p.to_dict() for p in ps))
    return counts


def base_corpus(run: Run) -> frozenset[str]:
    """Canonical forms of the questions the run's base and generator were pretrained on, where a `genrm pretrain`
    log beside the model tells (the shipped base: both of its runs); empty for other models."""
    from .generation import base_dir

    c = run.config
    folders = {str(base_dir(run))} if not c.generator else set()
    folders |= {s for s in (c.generator, c.verifier_base) if s}
    # only folders that exist: a base this run pretrains later must not be cached as an empty corpus
    return frozenset().union(*(_corpus_forms(str(Path(f).resolve())) for f in folders if Path(f).is_dir()))


@lru_cache(maxsize=8)
def _corpus_forms(folder: str) -> frozenset[str]:
    return frozenset(corpus_forms(folder))


def _data_problems(run: Run) -> dict:
    """Dataset tasks: test problems from the test split (or carved out of a single file), the rest from train."""
    c, task = run.config, run.task
    assert isinstance(task, DataTask)
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
    n_tune = min(c.n_dev, max(0, len(train) - c.n_verifier_train - n_dev))  # dev: training problems nobody trains on
    a, b = c.n_verifier_train + n_dev, c.n_verifier_train + n_dev + n_tune
    splits = {
        "test": test,
        "dev": train[a:b],
        "verifier_train": train[: c.n_verifier_train],
        "gen_dev": train[c.n_verifier_train : a],
        "gen_train": train[b:][: c.n_gen_train],
    }
    if not test or not splits["verifier_train"]:
        raise GenrmError(f"task {task.name}: {len(test)} test and {len(train)} training problems; need both")
    return {k: write_jsonl(run.file("problems", f"{k}.jsonl"), (p.to_dict() for p in v)) for k, v in splits.items()}


def _import_test_set(run: Run) -> dict:
    """A ready labelled test set (`test_candidates`: a folder with problems/ and candidates/test.jsonl)."""
    src = Path(run.config.test_candidates)
    rows = read_rows(src / "problems" / "test.jsonl", ProblemRow, key="id")
    cands = read_rows(src / "candidates" / "test.jsonl", CandidatesRow, key="problem_id")
    missing = {r["id"] for r in rows} - {c["problem_id"] for c in cands}
    if missing:
        raise GenrmError(
            f"{src / 'candidates' / 'test.jsonl'}: no candidates for problem(s) {', '.join(sorted(missing)[:5])}; "
            "add them or drop those problems from problems/test.jsonl"
        )
    unlabelled = [c["problem_id"] for c in cands if any(x["correct"] is None for x in c["candidates"])]
    if unlabelled:
        raise GenrmError(
            f"{src / 'candidates' / 'test.jsonl'}: candidates of problem {unlabelled[0]} have no 'correct' label; "
            "label every candidate (true/false)"
        )
    write_jsonl(run.file("problems", "test.jsonl"), rows)
    write_jsonl(run.file("candidates", "test.jsonl"), cands)
    for split in ("dev", "verifier_train", "gen_dev", "gen_train"):
        write_jsonl(run.file("problems", f"{split}.jsonl"), [])
    n = sum(len(c["candidates"]) for c in cands)
    return {"test": len(rows), "test_candidates": n, "source": str(src)}


def _unique(ps: list[Problem], task=None) -> list[Problem]:
    """`ps` without repeats of a canonical question (the first of each kept)."""
    seen, out = set(), []
    for p in ps:
        key = canonical(p, task)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
