"""The oracle rationale is coherent, and every verifier's training rows point the right way.

Expected labels are worked out here from the question alone (last-letter: the words' last letters; word
sorting: the sorted words; copy / reverse: the words / reversed), with this file's own answer reader, never
through the task's `is_correct` or `extract_answer`. Candidates come from Hypothesis: right steps, a miscopied
word with the right letter, wrong letters or keys, missing and extra steps, swapped orders, and answer lines
that follow the steps, are the true answer regardless, or are arbitrary.
"""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genrm.analysis.steps import NO_ERROR, parse_rationale
from genrm.core.formats import DECISION
from genrm.core.io import read_jsonl, write_jsonl
from genrm.core.types import Candidate, Problem
from genrm.data.candidates import label_candidates
from genrm.data.verifier_data import balanced_pairs, build_verifier_rows, rationale_coherence
from genrm.tasks import get_task

WORDS = ["tag", "boj", "lob", "dog", "cat", "hat", "sun", "pen", "fig", "mug", "bed", "rid", "tap", "cup"]
LETTERS = "abcdefgjxyz"


def true_answer(task: str, words: list[str]) -> str:
    if task == "last_letter":
        return "".join(w[-1] for w in words)
    if task == "first_letter":
        return "".join(w[0] for w in words)
    if task == "word_sort":
        return " ".join(sorted(words))
    if task == "reverse_list":
        return " ".join(reversed(words))
    return " ".join(words)  # copy_list


def written_answer(text: str) -> str | None:
    """The text after the last 'Answer:' on its line, stripped (this test's own reader)."""
    hits = [line.split("Answer:")[-1] for line in text.split("\n") if "Answer:" in line]
    return hits[-1].strip(" \t") if hits else None


def step_text(task: str, word: str, letter_or_key: str) -> str:
    if task in ("last_letter", "first_letter"):
        return f"{word} -> {letter_or_key}"
    if task == "word_sort":
        return f"{letter_or_key} {word}"
    return word


@st.composite
def problem_and_candidate(draw, task: str):
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5, unique=True))
    order = sorted(words) if task == "word_sort" else list(reversed(words)) if task == "reverse_list" else words
    steps, pieces = [], []
    for w in order:
        kind = draw(st.sampled_from(["right", "right", "miscopy_same", "wrong", "drop", "extra"]))
        key = w[-1] if task == "last_letter" else w[0]
        if kind == "drop":
            continue
        if kind == "miscopy_same":  # another word with the same letter (or the word itself when there is none)
            same = [v for v in WORDS if v != w and (v[-1] if task == "last_letter" else v[0]) == key]
            w = draw(st.sampled_from(same)) if same else w
        if kind == "wrong":
            key = draw(st.sampled_from(LETTERS))
            w = draw(st.sampled_from(WORDS)) if task in ("copy_list", "reverse_list", "word_sort") else w
        steps.append(step_text(task, w, key))
        pieces.append(key if task in ("last_letter", "first_letter") else w)
        if kind == "extra":
            v = draw(st.sampled_from(WORDS))
            steps.append(step_text(task, v, v[-1] if task == "last_letter" else v[0]))
            pieces.append(v[-1] if task == "last_letter" else v[0] if task == "first_letter" else v)
    if task == "word_sort" and draw(st.booleans()):  # another ordering of the steps, the answer following
        perm = draw(st.permutations(range(len(steps))))
        steps, pieces = [steps[i] for i in perm], [pieces[i] for i in perm]
    joiner = "" if task in ("last_letter", "first_letter") else " "
    answer = draw(
        st.one_of(
            st.just(joiner.join(pieces)),  # follows the steps
            st.just(true_answer(task, words)),  # the true answer, whatever the steps say
            st.text(alphabet=LETTERS + " ", max_size=8),  # an answer line that disagrees with everything
            st.none(),  # no answer line
        )
    )
    text = " " + ", ".join(steps) + "." + (f" Answer: {answer}" if answer is not None else "")
    return Problem("p", " ".join(words), true_answer(task, words), {}), text


TASKS = ["last_letter", "word_sort", "first_letter", "copy_list", "reverse_list"]


@pytest.mark.parametrize("name", TASKS)
def test_the_oracle_rationale_is_coherent(name):
    task = get_task(name, words=WORDS)

    @settings(max_examples=300, deadline=None)
    @given(problem_and_candidate(name))
    def check(pc):
        problem, text = pc
        correct = written_answer(text) == true_answer(name, problem.question.split())
        rationale = task.oracle_rationale(problem, text)
        body, decision = rationale.split("\n")
        assert decision == DECISION + (" Yes" if correct else " No")
        marks = parse_rationale(body)
        assert marks is not None and marks.complete, rationale
        # no Yes rationale holds a non-ok mark, every No rationale holds one: the verdict follows from the marks
        assert any(marks.wrong) == (not correct), rationale
        assert marks.verdict == correct and (marks.first_error == NO_ERROR) == correct
        # every check compares one piece: a part names at most one true step and one piece of the answer
        for part in body.strip().removesuffix(".").split(", "):
            assert part.count("/") <= 1 and part.count(" ok") + part.count(" wrong") <= 1

    check()


def test_a_miscopied_word_with_the_right_letter_is_shown_but_not_wrong():
    task = get_task("last_letter", words=WORDS)
    p = Problem("p", "late read role debt", "edet", {})
    r = task.oracle_rationale(p, " late -> e, find -> d, role -> e, debt -> t. Answer: edet")
    assert r == f" late -> e/e ok, read -> d/d ok (find -> d), role -> e/e ok, debt -> t/t ok.\n{DECISION} Yes"
    # a right answer line after a wrong step: the paper's label (the answer) decides, the step is shown
    r = task.oracle_rationale(p, " late -> e, read -> x, role -> e, debt -> t. Answer: edet")
    assert r.endswith("read -> d/d ok (read -> x), role -> e/e ok, debt -> t/t ok.\n" + DECISION + " Yes")
    # the answer line disagrees with right steps: the answer's piece is wrong
    r = task.oracle_rationale(p, " late -> e, read -> d, role -> e, debt -> t. Answer: edxt")
    assert "role -> e/x wrong," in r and r.endswith(" No")


def test_word_sort_orderings():
    task = get_task("word_sort", words=WORDS)
    p = Problem("p", "tag boj lob", "boj lob tag", {})
    r = task.oracle_rationale(p, " b boj, t tag, l lob. Answer: boj tag lob")
    assert r == f" b boj/boj ok, l lob/tag wrong (t tag), t tag/lob wrong (l lob).\n{DECISION} No"
    r = task.oracle_rationale(p, " b boj, l lob, t tag. Answer: boj lob tag lob")
    assert r == f" b boj/boj ok, l lob/lob ok, t tag/tag ok, lob extra.\n{DECISION} No"


def _labelled(name: str, seed: int):
    """Problems and candidates of `name`, labelled by this test's own reader (not the task's check)."""
    task = get_task(name, words=WORDS)
    rng = random.Random(seed)
    problems, cands, seen = [], {}, set()
    for i in range(30):
        words = rng.sample(WORDS, rng.randint(2, 4))
        if " ".join(words) in seen:
            continue
        seen.add(" ".join(words))
        p = Problem(f"p{i}", " ".join(words), true_answer(name, words), {})
        problems.append(p)
        texts = [task.reference_solution(p)] + [task.perturb(p, rng) for _ in range(7)]
        cands[p.id] = [
            Candidate(p.id, j, t, written_answer(t), written_answer(t) == true_answer(name, words))
            for j, t in enumerate(texts)
        ]
    return task, problems, cands


@pytest.mark.parametrize("name", ["last_letter", "word_sort"])
def test_every_verifiers_rows_point_the_right_way(name, tmp_path):
    """ORM labels, GenRM verdicts, GenRM-CoT verdicts and marks, DPO chosen / rejected and the unified rows,
    each against the label worked out here from the question (a flipped verdict anywhere fails)."""
    task, problems, cands = _labelled(name, 0)
    truth = {(c.problem_id, c.text): c.correct for cs in cands.values() for c in cs}
    by_id = {p.id: p for p in problems}
    pairs, _ = balanced_pairs(problems, cands, seed=0)
    fmt = task.verify_format
    rows, stats = build_verifier_rows(task, pairs, fmt, unified_lambda=1 / 3, seed=0)
    solution_of = {task.prompt(p): p for p in problems}

    def right(prompt: str, text: str) -> bool:
        return truth[(solution_of[prompt].id, text)]

    assert len(rows["orm"]) == len(pairs) and {r["label"] for r in rows["orm"]} == {True, False}
    for r in rows["orm"]:
        assert r["label"] == right(r["prompt"], r["completion"])
    for r in rows["genrm"]:
        if r.get("kind") == "generate":
            continue
        sp, text = r["prompt"].split("\nA:", 1)
        assert r["completion"] == (" Yes" if right(sp + "\nA:", text.removesuffix(fmt.direct)) else " No")
    n_cot = 0
    for r in rows["genrm_cot"]:
        if r.get("kind") == "generate":
            # unified rows: solutions whose every step and answer are right, worked out here
            p = solution_of[r["prompt"]]
            assert written_answer(r["completion"]) == p.answer
            steps = [s.strip() for s in r["completion"].split("Answer:")[0].strip().rstrip(".").split(",")]
            words = p.question.split()
            if name == "last_letter":
                want = [f"{w} -> {w[-1]}" for w in words]
            else:
                want = [f"{w[0]} {w}" for w in sorted(words)]
            assert steps == want
            continue
        n_cot += 1
        sp, text = r["prompt"].split("\nA:", 1)
        # the CoT prompt: question, candidate, the CoT line, the question restated (step tasks)
        assert text.endswith(fmt.cot + sp + "\nA:")
        ok = right(sp + "\nA:", text.removesuffix(fmt.cot + sp + "\nA:"))
        assert r["completion"].endswith(DECISION + (" Yes" if ok else " No"))
        assert any(parse_rationale(r["completion"].split("\n")[0]).wrong) == (not ok)
    assert n_cot == len(pairs) and stats["unified_rows_genrm_cot"] > 0
    assert stats["cot_coherence"]["yes_negative"] == 0 and stats["cot_coherence"]["no_clean"] == 0
    for r in rows["dpo"]:
        assert right(r["prompt"], r["chosen"]) and not right(r["prompt"], r["rejected"])
    assert rows["dpo"]
    # and the pipeline's own labelling stage agrees with this test's labels
    samples = [{"problem_id": p.id, "samples": [c.text for c in cands[p.id]]} for p in problems]
    write_jsonl(tmp_path / "samples.jsonl", samples)
    label_candidates(task, problems, tmp_path / "samples.jsonl", tmp_path / "labelled.jsonl")
    for row in read_jsonl(tmp_path / "labelled.jsonl"):
        for c in row["candidates"]:
            assert c["correct"] == truth[(row["problem_id"], c["text"])], (by_id[row["problem_id"]], c)


def test_coherence_counts_by_hand():
    yes = {"completion": f" tag -> g/g ok.\n{DECISION} Yes", "label": True}
    yes_bad = {"completion": f" tag -> g/g ok, boj -> j/x wrong.\n{DECISION} Yes", "label": True}
    no = {"completion": f" tag -> g missing.\n{DECISION} No", "label": False}
    teacher_yes = {"completion": f"Step 1 is correct. There is no error.\n\n{DECISION} Yes", "label": True}
    teacher_bad = {"completion": f"Step 2 is incorrect: 3 + 4 is 7.\n\n{DECISION} Yes", "label": True}
    unified = {"completion": " tag -> g. Answer: g", "kind": "generate"}
    out = rationale_coherence([yes, yes_bad, no, teacher_yes, teacher_bad, unified])
    assert out["yes_negative"] == 2 and out["yes_clean"] == 2 and out["no_negative"] == 1 and out["no_clean"] == 0
    assert out["step_format"] == 3 and out["free_text"] == 2
    assert out["yes_negative_share"] == pytest.approx(0.5) and out["marks_match_label"] == pytest.approx(2 / 3)


def test_the_old_rationale_format_would_fail_the_coherence_check():
    """The format this change replaced (a step judged on the miscopied word, the verdict on the answer) is
    counted as incoherent: the check can fail."""
    old = {"completion": f" late -> e/e ok, read -> d/d wrong. Expected ed, got ed.\n{DECISION} Yes", "label": True}
    out = rationale_coherence([old])
    assert out["yes_negative"] == 1 and out["yes_negative_share"] == 1.0
