"""`genrm pretrain`: the packed corpus, held-out test questions, checkpoints, the model card."""

import json
import random

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from genrm.core.train_config import PretrainConfig
from genrm.models.model import word_tokenizer
from genrm.pipeline.corpus import corpus_problems, documents, is_held_out
from genrm.pipeline.pretrain import PackedRows, pretrain
from genrm.tasks import get_task


def test_corpus_never_holds_a_test_question_and_test_sets_only_hold_them():
    task = get_task("last_letter")
    corpus = corpus_problems(task, PretrainConfig(), 3000, seed=0)
    assert len(corpus) == 3000 and not any(is_held_out(p, task) for p in corpus)
    share = sum(is_held_out(p, task) for p in task.make_problems(5000, [2, 3, 4], seed=1)) / 5000
    assert 0.07 < share < 0.13  # a tenth of the question space is reserved


def test_run_test_sets_draw_only_held_out_questions(tmp_path):
    from genrm import pipeline
    from genrm.core.config import preset_config

    run = pipeline.Run.create(tmp_path / "r", preset_config("cpu", n_test=50, n_verifier_train=50, n_gen_train=10))
    pipeline.make_problems(run)
    assert all(is_held_out(p, run.task) for p in run.problems("test"))
    splits = ("verifier_train", "dev", "gen_dev", "gen_train")
    assert not any(is_held_out(p, run.task) for s in splits for p in run.problems(s))


def test_packed_rows_hold_whole_documents_with_loss_on_completions_only():
    task = get_task("word_sort")
    tok = word_tokenizer(task.vocabulary())
    problems = corpus_problems(task, PretrainConfig(), 50, seed=0)
    docs = documents(task, problems, random.Random(0), 0.5, 40)
    rows = PackedRows(tok, docs, seq_len=256, rows=6)
    for i in range(len(rows)):
        ids, labels = rows[i]["input_ids"], rows[i]["labels"]
        assert len(ids) == len(labels) == 256
        text = tok.decode([t for t in ids if t != tok.pad_token_id])
        assert text.startswith("<s>") and text.endswith("</s>")  # no document is cut
        assert text.count("<s>") == text.count("</s>") >= 2  # several documents a row
        trained = tok.decode([t for t in labels if t != -100])
        assert "Q: sort" not in trained and "</s>" in trained  # prompts carry no loss; completions and EOS do
        pad = [lab for t, lab in zip(ids, labels) if t == tok.pad_token_id]
        assert all(lab == -100 for lab in pad)


def test_pretrain_writes_base_generators_log_and_card(tmp_path):
    cfg = PretrainConfig(
        model_size="nano",
        steps=12,
        eval_every=6,
        n_problems=300,
        n_dev=8,
        generator_accuracy=0.0,
        batch_size=8,
        max_new_tokens=12,
    )
    log = pretrain(cfg, tmp_path / "pt")
    # accuracy >= 0 holds at the first check: every task's generator is the step-6 checkpoint
    assert log["generator_step"] == {"last_letter": 6, "word_sort": 6}
    assert log["losses"][0][1] > log["losses"][-1][1]  # the loss fell
    for name in ("base", "generator-last_letter", "generator-word_sort"):
        folder = tmp_path / "pt" / name
        model = AutoModelForCausalLM.from_pretrained(folder)  # an ordinary Hugging Face folder
        AutoTokenizer.from_pretrained(folder)
        assert model.config.model_type == "llama"
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "pt" / "base").state_dict()
    gen = AutoModelForCausalLM.from_pretrained(tmp_path / "pt" / "generator-word_sort").state_dict()
    assert any(not torch.equal(base[k], gen[k]) for k in base)  # two checkpoints of one run, 6 steps apart
    saved = json.loads((tmp_path / "pt" / "pretrain_log.json").read_text())
    assert set(saved["probes"]) == {
        "base/last_letter",
        "generator-last_letter/last_letter",
        "base/word_sort",
        "generator-word_sort/word_sort",
    }
    card = (tmp_path / "pt" / "README.md").read_text()
    assert "genrm pretrain" in card and "| base/last_letter |" in card


def test_verifier_rows_are_balanced_within_each_problem():
    from genrm.core.types import Candidate
    from genrm.data.verifier_data import balanced_pairs

    task = get_task("last_letter")
    ps = task.make_problems(3, [2], seed=0)
    cands = {
        ps[0].id: [Candidate(ps[0].id, i, f"t{i}", correct=i < 1) for i in range(4)],  # 1 right, 3 wrong
        ps[1].id: [Candidate(ps[1].id, i, f"t{i}", correct=i < 3) for i in range(4)],  # 3 right, 1 wrong
        ps[2].id: [Candidate(ps[2].id, i, "same", correct=False) for i in range(4)],  # one class only
    }
    pairs, stats = balanced_pairs(ps, cands, seed=0)
    by_problem = {p.id: [c.correct for q, c in pairs if q.id == p.id] for p in ps}
    assert sorted(by_problem[ps[0].id]) == sorted(by_problem[ps[1].id]) == [False, True]
    assert by_problem[ps[2].id] == []  # a problem without both classes teaches no ranking
    assert stats["kept_per_class"] == 2 and stats["balance"] == "within problem"
    pairs, _ = balanced_pairs(ps, cands, seed=0, within_problem=False)
    assert sum(c.correct for _, c in pairs) * 2 == len(pairs) == 8  # 4 unique right, 4+ unique wrong: 4 each


def test_verify_documents_can_check_a_generators_sampled_solutions(tmp_path, nano):
    """--candidates-from: solutions sampled (resumably) from a generator become verify documents with oracle
    rationales, in the share asked for; solve documents are untouched."""
    from genrm.pipeline.corpus import sampled_solutions

    task = get_task("last_letter")
    model, tok = nano
    model.save_pretrained(tmp_path / "gen")
    tok.save_pretrained(tmp_path / "gen")
    problems = corpus_problems(task, PretrainConfig(), 20, seed=0)
    cfg = PretrainConfig(
        candidates_from=str(tmp_path / "gen"), sampled_problems=5, samples_per_problem=3, max_new_tokens=8
    )
    sampled = sampled_solutions(cfg, task, problems, tmp_path / "pt")
    assert set(sampled) == {p.id for p in problems[:5]} and all(len(v) == 3 for v in sampled.values())
    assert sampled_solutions(cfg, task, problems, tmp_path / "pt") == sampled  # kept, not sampled again
    docs = documents(task, problems, random.Random(0), 0.0, 30, sampled, sampled_share=1.0)
    fmt = task.verify_format
    by_prompt = {fmt.cot_prompt(task.prompt(p), s): (p, s) for p in problems[:5] for s in sampled[p.id]}
    assert all(prompt in by_prompt for prompt, _ in docs)  # every verify document checks a sampled solution
    for prompt, completion in docs:
        p, s = by_prompt[prompt]
        assert completion == task.oracle_rationale(p, s, fmt.decision)
    mixed = documents(task, problems, random.Random(0), 0.0, 200, sampled, sampled_share=0.5)
    share = sum(prompt in by_prompt for prompt, _ in mixed) / len(mixed)
    assert 0.35 < share < 0.65


def test_each_tasks_generator_is_its_first_checkpoint_at_the_target_accuracy(tmp_path, monkeypatch):
    """The selection rule with accuracies chosen here: a task's generator is saved at the first evaluation whose
    sampled dev accuracy reaches `generator_accuracy`, and that task is not evaluated again; a task that never
    reaches it gets none."""
    import genrm.pipeline.pretrain as pt

    accuracy = {"last_letter": [0.1, 0.4, 0.5, 0.9], "word_sort": [0.0, 0.2, 0.3, 0.4]}
    asked, saved = [], []

    def solved(engine, task, problems, max_new_tokens, seed):
        asked.append((task.name, seed))
        acc = accuracy[task.name][seed // 6 - 1]
        return [True] * round(acc * 10) + [False] * (10 - round(acc * 10))

    monkeypatch.setattr(pt, "solved", solved)
    monkeypatch.setattr(pt, "_engine", lambda model, tok: None)
    monkeypatch.setattr(pt, "save_model", lambda model, tok, path: saved.append(path.name))
    cfg = PretrainConfig(eval_every=6, generator_accuracy=0.5)
    tasks = [get_task("last_letter"), get_task("word_sort")]
    callback = pt.GeneratorCheckpoints(tasks, {"last_letter": [], "word_sort": []}, None, cfg, tmp_path)

    class Model:
        def train(self):
            pass

    class State:
        global_step = 0

    for step in range(1, 25):
        State.global_step = step
        callback.on_step_end(None, State, None, model=Model())
    assert callback.saved == {"last_letter": 18}  # 0.5 >= 0.5 at step 18; word sort never reaches it
    assert saved == ["generator-last_letter"]
    assert [s for t, s in asked if t == "last_letter"] == [6, 12, 18]  # not evaluated after it was chosen
    assert [s for t, s in asked if t == "word_sort"] == [6, 12, 18, 24]
