"""The fair protocol: a never-verified base, no test question (in any word order) in any training data, the same
candidates behind every verifier, DPO scored by the sequence's log-probability, a prompted judge, a dev split."""

import math
import random
from pathlib import Path

import pytest
import torch

from genrm import pipeline
from genrm.core.config import preset_config
from genrm.core.train_config import PretrainConfig
from genrm.core.types import Candidate
from genrm.pipeline.corpus import build_corpus, corpus_problems, is_held_out
from genrm.tasks import get_task

# the paper's verification lines, and the oracle rationale's step marks (`tag -> g/x wrong`, `Expected gj, got gx`)
VERIFICATION_MARKS = ("Verification", "Yes/No", " ok,", " ok.", " wrong", "Expected", " missing", " extra", "/")


def _corpus(**kw):
    cfg = PretrainConfig(n_problems=400, n_dev=16, steps=20, batch_size=4, **kw)
    tasks = [get_task(t) for t in cfg.task_list()]
    aux = [get_task(t) for t in cfg.aux_list()]
    return cfg, build_corpus(cfg, tasks, aux, Path("unused"))


def test_default_pretraining_corpus_holds_no_verification_text():
    cfg, (_, docs) = _corpus()
    assert cfg.solve_share == 1.0 and cfg.aux_tasks  # the default recipe: solve documents only, with list tasks
    found = [m for p, c in docs for m in VERIFICATION_MARKS if m in p + c]
    assert not found, f"verification text in the corpus: {sorted(set(found))}"
    kinds = {p.split(" ")[1] for p, _ in docs}  # "Q: last letters of", "Q: sort", "Q: copy", ...
    assert {"last", "sort", "first", "copy", "reverse"} <= kinds
    # the verification tasks stay at 1-4 words; the general list tasks reach 10 words
    counts = {}
    for p, _ in docs:
        head = p.split(" ")[1]
        n = len(p.split("\n")[0].split()) - (4 if head in ("last", "first") else 2)
        counts.setdefault(head, set()).add(n)
    assert max(counts["last"]) == max(counts["sort"]) == 4
    assert max(counts["copy"]) == 10
    # the check itself catches verification documents: the old recipe's corpus trips it
    _, (_, old) = _corpus(solve_share=0.4, aux_tasks="")
    assert any("Verification: Is the answer correct (Yes/No)?" in c for _, c in old)


def test_a_reordered_test_question_is_held_out_too():
    task = get_task("word_sort")
    rng = random.Random(0)
    held = [p for p in task.make_problems(3000, [3, 4], seed=3) if is_held_out(p, task)]
    assert 200 < len(held) < 400  # a tenth of the question space
    for p in held[:50]:
        words = p.question.split()
        rng.shuffle(words)
        reordered = type(p)(p.id, " ".join(words), p.answer, p.meta)
        assert is_held_out(reordered, task)
        # and under another list task: the same words are held out of every task's training data
        assert is_held_out(reordered, get_task("copy_list"))
    corpus = corpus_problems(task, PretrainConfig(), 2000, seed=1)
    keys = {" ".join(sorted(p.question.split())) for p in held}
    assert not keys & {" ".join(sorted(p.question.split())) for p in corpus}


def test_run_splits_are_disjoint_in_any_word_order(tmp_path):
    """Word sorting on one word range for every split: without canonical forms, reordered twins would cross."""
    cfg = preset_config("cpu", task="word_sort", train_words="2-3", test_words="2-3", n_test=200, n_dev=100)
    cfg.n_verifier_train, cfg.n_gen_train = 600, 600
    run = pipeline.Run.create(tmp_path / "r", cfg)
    pipeline.make_problems(run)

    def keys(split):
        return {" ".join(sorted(p.question.split())) for p in run.problems(split)}

    splits = ("test", "dev", "verifier_train", "gen_dev", "gen_train")
    for i, a in enumerate(splits):
        for b in splits[i + 1 :]:
            assert not keys(a) & keys(b), (a, b)
    assert len(run.problems("dev")) == 100 and all(not is_held_out(p, run.task) for p in run.problems("dev"))


def test_dev_is_kept_out_of_the_shipped_bases_pretraining_corpus(tmp_path):
    """The shipped base's corpus, drawn again here from the two runs' logged configs with the function the
    pretraining drew it with: no dev question (in any order) is in it, although many 2-4-word questions are
    (the old dev split shared 70 of 300 with it)."""
    from genrm.core.io import read_json
    from genrm.pipeline.pretrain import builtin_dir

    cfg = preset_config("cpu", task="last_letter", n_test=50, n_dev=300)
    cfg.n_verifier_train, cfg.n_gen_train = 50, 50
    run = pipeline.Run.create(tmp_path / "r", cfg)
    pipeline.make_problems(run)
    seen = set()
    for log in ("pretrain_log-run1.json", "pretrain_log.json"):
        c = read_json(builtin_dir() / log)["config"]
        pc = PretrainConfig(**{k: v for k, v in c.items() if k in PretrainConfig.__dataclass_fields__})
        for i, name in enumerate(pc.task_list()):
            t = get_task(name)
            dev = corpus_problems(t, pc, pc.n_dev, seed=pc.seed * 100 + 2 * i + 1)
            held = {" ".join(sorted(p.question.split())) for p in dev}
            ps = corpus_problems(t, pc, pc.n_problems, seed=pc.seed * 100 + 2 * i, exclude=held)
            seen |= {" ".join(sorted(p.question.split())) for p in ps}
        for i, name in enumerate(pc.aux_list()):
            ps = corpus_problems(get_task(name), pc, pc.n_problems, seed=pc.seed * 100 + 50 + i, words=pc.aux_words)
            seen |= {" ".join(sorted(p.question.split())) for p in ps}
    dev_keys = {" ".join(sorted(p.question.split())) for p in run.problems("dev")}
    assert len(dev_keys) == 300 and not dev_keys & seen
    # the training split is not filtered: questions like dev's are common in the corpus
    train_keys = {" ".join(sorted(p.question.split())) for p in run.problems("verifier_train")}
    assert train_keys & seen


def _pairs():
    task = get_task("last_letter")
    ps = task.make_problems(3, [2], seed=0)
    pairs = []
    for p in ps:
        ref = task.reference_solution(p)
        good = [Candidate(p.id, 0, ref, correct=True), Candidate(p.id, 1, ref + " ", correct=True)]
        bad = [
            Candidate(p.id, 2, " x -> y. Answer: yy", correct=False),
            Candidate(p.id, 3, " z. Answer: z", correct=False),
        ]
        pairs += [(p, c) for c in good + bad]
    return task, pairs


def test_every_verifier_is_built_from_the_same_candidates():
    from genrm.data.verifier_data import build_verifier_rows

    task, pairs = _pairs()
    rows, _ = build_verifier_rows(task, pairs, task.verify_format, unified_lambda=1 / 3, seed=0)
    fmt = task.verify_format
    expected = {(task.prompt(p), c.text) for p, c in pairs}
    orm = {(r["prompt"], r["completion"]) for r in rows["orm"]}
    genrm = {
        (r["prompt"][: -len(fmt.direct)].split("\nA:")[0] + "\nA:", r["prompt"][: -len(fmt.direct)].split("\nA:", 1)[1])
        for r in rows["genrm"]
        if "label" in r
    }
    cot = set()
    for r in rows["genrm_cot"]:
        if "label" in r:
            solve = r["prompt"].split("\nA:")[0] + "\nA:"
            assert r["prompt"].endswith(fmt.cot + solve)  # the question restated after the CoT line
            cot.add((solve, r["prompt"][: -len(fmt.cot + solve)].split("\nA:", 1)[1]))
    dpo = {(r["prompt"], r[k]) for r in rows["dpo"] for k in ("chosen", "rejected")}
    assert orm == genrm == cot == dpo == expected
    # a DPO pair is a correct and an incorrect candidate of one problem, each candidate in one pair
    truth = {(task.prompt(p), c.text): c.correct for p, c in pairs}
    assert len(rows["dpo"]) == 6
    for r in rows["dpo"]:
        assert truth[(r["prompt"], r["chosen"])] and not truth[(r["prompt"], r["rejected"])]


def test_epochs_set_every_verifiers_steps_from_its_rows():
    cfg = preset_config("cpu", ver_epochs=2, ver_batch_size=32, dpo_lr=1e-4, orm_lr=2e-3, ver_lr=5e-4)
    assert cfg.train_config("ver", "orm", 1000).max_steps == 63  # ceil(2 * 1000 / 32)
    assert cfg.train_config("ver", "dpo", 500).max_steps == 32  # ceil(2 * 500 / 32): pairs, twice the sequences
    assert cfg.train_config("ver", "orm", 1000).lr == 2e-3
    assert cfg.train_config("ver", "dpo", 500).lr == 1e-4
    assert cfg.train_config("ver", "genrm", 1000).lr == 5e-4
    assert preset_config("cpu", ver_epochs=0, ver_steps=77).train_config("ver", "orm", 1000).max_steps == 77


def test_dpo_score_is_the_solutions_probability_from_logits(nano):
    from genrm.engines import TransformersEngine
    from genrm.verifiers import DPOVerifier

    model, tok = nano
    items = [("Q: sort tag boj\nA:", " b boj, t tag. Answer: boj tag"), ("Q: x\nA:", " y")]
    got = [r.score for r in DPOVerifier(TransformersEngine(model, tok)).score(items)]
    for (prompt, solution), score in zip(items, got):
        p = tok(prompt).input_ids  # with BOS, as the trainer and the engine encode a prompt
        c = tok(solution, add_special_tokens=False).input_ids + [tok.eos_token_id]
        ids = torch.tensor([p + c])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0].double()
        logp = 0.0
        for j, t in enumerate(c):  # token t at position len(p)+j is predicted at len(p)+j-1
            logp += torch.log_softmax(logits[len(p) + j - 1], -1)[t].item()
        assert score == pytest.approx(math.exp(logp), rel=1e-3)


def test_dpo_training_through_trl_moves_the_policy_towards_correct_solutions(nano, tmp_path):
    from genrm.core.train_config import TrainConfig
    from genrm.engines import TransformersEngine
    from genrm.models.training import train_dpo

    model, tok = nano
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    from genrm.models.model import load_model

    policy, _ = load_model(tmp_path / "base", dtype=torch.float32)
    ref, _ = load_model(tmp_path / "base", dtype=torch.float32)
    task, pairs = _pairs()
    from genrm.data.verifier_data import preference_pairs

    rows = preference_pairs(task, pairs)
    before = TransformersEngine(ref, tok)
    cfg = TrainConfig(max_steps=15, batch_size=6, lr=3e-3, checkpoint_minutes=0, bf16=False)
    log = train_dpo(policy, ref, tok, rows, cfg, tmp_path / "dpo", beta=0.1)
    assert log["steps"] == 15 and log["tokens"] > 0
    after = TransformersEngine(load_model(tmp_path / "dpo")[0], tok)

    def margin(engine):
        lp_c = engine.sequence_logprobs([r["prompt"] for r in rows], [r["chosen"] for r in rows])
        lp_r = engine.sequence_logprobs([r["prompt"] for r in rows], [r["rejected"] for r in rows])
        return sum(c - r for c, r in zip(lp_c, lp_r)) / len(rows)

    assert margin(after) > margin(before) + 1.0  # the implicit reward separates chosen from rejected


def test_the_judge_is_prompted_with_worked_examples_from_training_problems(micro_run):
    from genrm.pipeline.verification import judge_context

    run, _ = micro_run
    ctx = judge_context(run)
    shots = [s for s in ctx.split("</s><s>") if s]
    assert len(shots) == run.config.judge_shots == 2
    train_q = {p.question for p in run.problems("verifier_train")}
    test_q = {p.question for p in run.problems("test")}
    for shot, verdict in zip(shots, (" No", " Yes")):  # an incorrect candidate first, then a correct one
        question = shot.split("\n")[0].removeprefix("Q: last letters of ")
        assert question in train_q and question not in test_q
        assert shot.endswith("Verification: Is the answer correct (Yes/No)?" + verdict)


def test_a_dev_evaluation_never_reads_or_writes_test_results(micro_run):
    """`genrm run --split dev`: the trained verifiers score the dev problems (the test word counts, training share of
    the question space) into RUN/dev/; the test split's scores and results are untouched."""
    from genrm.core.io import read_json, read_jsonl

    run, _ = micro_run
    before = {p: p.read_bytes() for p in [run.file("results.json"), *run.file("scores").glob("*.jsonl")]}
    dev = pipeline.Run(run.path, "dev")
    results = pipeline.run_all(dev)
    assert results["split"] == "dev" and read_json(run.file("dev", "results.json"))["split"] == "dev"
    assert {p: p.read_bytes() for p in before} == before
    dev_ids = {p.id for p in run.problems("dev")}
    assert dev_ids and not dev_ids & {p.id for p in run.problems("test")}
    for m in run.config.method_list:
        assert {r["problem_id"] for r in read_jsonl(run.file("dev", "scores", f"{m}.jsonl"))} == dev_ids
    assert "DPO" in results["methods"] and set(results["compute"]["training"]) == {"orm", "dpo", "genrm", "genrm_cot"}
    html = run.file("dev", "report.html").read_text()
    assert "Verifier training" in html and "DPO" in html


def test_no_test_question_in_any_words_order_reaches_the_verifiers_training(micro_run):
    """Every row a verifier trains on (ORM, DPO, GenRM, GenRM-CoT, unified) and every judge example is about a
    verifier-training problem, never a test question in any word order."""
    from genrm.core.io import read_jsonl
    from genrm.pipeline.verification import judge_context

    run, _ = micro_run
    task = run.task
    head = task.prompt_template.split("{question}")[0]

    def key(prompt: str) -> str:
        return " ".join(sorted(prompt.removeprefix(head).split("\n")[0].split()))

    test = {" ".join(sorted(p.question.split())) for p in run.problems("test")}
    train = {" ".join(sorted(p.question.split())) for p in run.problems("verifier_train")}
    seen = set()
    for kind in ("orm", "dpo", "genrm", "genrm_cot"):
        for r in read_jsonl(run.file("verifier_data", f"{kind}.jsonl")):
            seen.add(key(r["prompt"]))
    for shot in judge_context(run).split("</s><s>"):
        if shot:
            seen.add(key(shot))
    assert seen and seen <= train and not seen & test


def test_training_problems_get_their_own_number_of_samples(tmp_path, nano):
    from genrm.core.io import read_jsonl
    from genrm.pipeline.generation import sample

    run = pipeline.Run.create(tmp_path / "r", preset_config("micro", n_train_samples=3, n_candidates=2))
    pipeline.make_problems(run)
    model, tok = nano
    model.save_pretrained(run.file("models", "generator"))
    tok.save_pretrained(run.file("models", "generator"))
    sample(run, "verifier_train")
    sample(run, "test")
    assert {len(r["samples"]) for r in read_jsonl(run.file("samples", "verifier_train.jsonl"))} == {3}
    assert {len(r["samples"]) for r in read_jsonl(run.file("samples", "test.jsonl"))} == {2}


def test_the_papers_length_split_by_name():
    assert preset_config("cpu", test_words="paper").test_counts() == [6]  # last-letter: 6 words
    assert preset_config("cpu", task="word_sort", test_words="paper").test_counts() == [5]
    assert preset_config("cpu").test_counts() == [2, 3, 4]  # the default: the verifiers' training lengths
