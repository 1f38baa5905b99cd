import random

import pytest

from genrm.core.errors import GenrmError
from genrm.tasks import DECISION, get_task


def perturb(text: str, rng: random.Random) -> str:
    """A wrong-ish variant of a solution: a changed, dropped or added character or step."""
    op = rng.randrange(4)
    i = rng.randrange(len(text))
    if op == 0:
        return text[:i] + rng.choice("abcxyz ,.>") + text[i + 1 :]
    if op == 1:
        return text[:i] + text[i + 1 :]
    if op == 2:
        return text[:i] + rng.choice("qwe, ") + text[i:]
    return text.split(".")[0]  # answer cut off


@pytest.mark.parametrize("name", ["last_letter", "word_sort"])
def test_oracle_rationale_verdict_matches_label(name):
    task = get_task(name)
    rng = random.Random(0)
    n_wrong = 0
    for p in task.make_problems(60, [2, 3, 4, 5, 6], seed=1):
        ref = task.reference_solution(p)
        assert task.is_correct(p, ref)
        assert task.oracle_rationale(p, ref).endswith(DECISION + " Yes")
        assert " wrong " not in task.oracle_rationale(p, ref)
        for _ in range(10):
            cand = perturb(ref, rng)
            ok = task.is_correct(p, cand)
            n_wrong += not ok
            rationale = task.oracle_rationale(p, cand)
            assert rationale.endswith(DECISION + (" Yes" if ok else " No")), (cand, rationale)
            assert rationale.count("\n") == 1  # one line of checks, then the decision line
    assert n_wrong > 200  # the check really saw wrong candidates


def test_last_letter_format_and_steps():
    task = get_task("last_letter")
    p = task.make_problems(1, [3], seed=0)[0]
    words = p.question.split()
    assert p.answer == "".join(w[-1] for w in words)
    assert task.prompt(p) == f"Q: last letters of {p.question}\nA:"
    sol = task.reference_solution(p)
    assert sol.endswith(f"Answer: {p.answer}")
    a, b, c = words
    bad = sol.replace(f"{b} -> {b[-1]}", f"{b} -> 9")  # a wrong step, but the answer line is still right
    r = task.oracle_rationale(p, bad)
    # each step re-derived from the question, the answer's letter beside it, the differing step in parentheses
    assert r == (
        f" {a} -> {a[-1]}/{a[-1]} ok, {b} -> {b[-1]}/{b[-1]} ok ({b} -> 9), {c} -> {c[-1]}/{c[-1]} ok.\n{DECISION} Yes"
    )  # the label follows the final answer, which is still right: every mark ok
    wrong = bad.replace(f"Answer: {p.answer}", "Answer: zz")
    r = task.oracle_rationale(p, wrong)
    assert r == (f" {a} -> {a[-1]}/z wrong, {b} -> {b[-1]}/z wrong ({b} -> 9), {c} -> {c[-1]} missing.\n{DECISION} No")


def test_word_sort_answer():
    task = get_task("word_sort")
    p = task.make_problems(1, [4], seed=3)[0]
    assert p.answer == " ".join(sorted(p.question.split()))
    assert task.extract_answer(task.reference_solution(p)) == p.answer
    assert task.extract_answer(" no answer here") is None
    assert "missing" in task.oracle_rationale(p, " Answer: x")


def test_problems_are_seeded_and_respect_word_counts():
    task = get_task("last_letter")
    a = task.make_problems(50, [5, 6], seed=7)
    assert [p.question for p in a] == [p.question for p in task.make_problems(50, [5, 6], seed=7)]
    assert {len(p.question.split()) for p in a} == {5, 6}


def test_unknown_task_suggests_closest():
    with pytest.raises(GenrmError, match="did you mean 'last_letter'"):
        get_task("last_leter")


@pytest.mark.parametrize("name", ["last_letter", "word_sort"])
def test_perturbed_solutions_are_mostly_wrong_and_well_formed(name):
    task = get_task(name)
    rng = random.Random(0)
    problems = task.make_problems(200, [2, 3, 4], seed=2)
    wrong = 0
    for p in problems:
        cand = task.perturb(p, rng)
        assert cand.startswith(" ") and "Answer: " in cand and task.candidate_steps(cand)
        wrong += not task.is_correct(p, cand)
        assert task.oracle_rationale(p, cand).endswith(" Yes" if task.is_correct(p, cand) else " No")
    assert wrong > 150  # right only when a wrong step keeps the true answer, or a change changes nothing


def test_word_tokenizer_keeps_words_whole_and_round_trips():
    from genrm.models.model import word_tokenizer

    task = get_task("last_letter")
    tok = word_tokenizer(task.vocabulary())
    p = task.make_problems(1, [3], seed=0)[0]
    text = task.prompt(p) + task.perturb(p, random.Random(1)) + "\n" + task.oracle_rationale(p, "xq, 7 -> é")
    ids = tok(text).input_ids
    assert tok.decode(ids, skip_special_tokens=True) == text.replace("é", "")  # non-ASCII is <unk>, dropped
    pieces = [tok.decode([i]) for i in tok(task.prompt(p), add_special_tokens=False).input_ids]
    assert all(f" {w}" in pieces for w in p.question.split())  # each question word is one token
    assert len(tok(" Yes", add_special_tokens=False).input_ids) == 1
