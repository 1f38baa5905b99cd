"""GSM8K, MATH and JSONL tasks: answer extraction and checking, loading, bad data."""

import json
from pathlib import Path

import pytest

from genrm.core.errors import GenrmError
from genrm.core.types import Problem
from genrm.tasks import get_task
from genrm.tasks.data import to_number
from genrm.tasks.gsm8k import reference_answer, reference_solution_text
from genrm.tasks.math import last_boxed

GSM8K_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k"


@pytest.mark.parametrize(
    "text, value",
    [
        ("$1,234.50", 1234.5),
        ("-3/4 of it", -0.75),
        ("18 dollars.", 18.0),
        ("-7", -7.0),
        ("25%", 25.0),
        (".5", 0.5),
        ("no number", None),
        (None, None),
        ("1/0", None),
    ],
)
def test_to_number(text, value):
    assert to_number(text) == value


def test_gsm8k_hand_made_cases():
    task = get_task("gsm8k")
    p = Problem("p", "How much?", "1234")
    assert task.is_correct(p, "So she pays 1,234 in all. The answer is $1,234.")
    assert task.is_correct(p, "The answer is: 1234.00")
    assert not task.is_correct(p, "She pays 1234 dollars.")  # no "The answer is": no answer
    assert not task.is_correct(p, "The answer is 1234 then. Wait, the answer is 1243.")  # the last one counts
    assert task.extract_answer("The answer is -3/4.") == "-0.75"
    assert task.extract_answer("I do not know") is None
    assert reference_answer("48/2 = <<48/2=24>>24\n#### 1,072") == "1072"
    assert reference_solution_text("He has <<2*3=6>>6.\n#### 6") == "He has 6.\nThe answer is 6."


@pytest.mark.skipif(not GSM8K_DIR.exists(), reason="../shared/data/gsm8k is not here")
def test_gsm8k_real_rows():
    task = get_task("gsm8k", data=str(GSM8K_DIR))
    test = task.load("test")
    assert len(test) == 1319
    assert all(task.is_correct(p, task.reference_solution(p)) for p in test)
    wrong = sum(task.is_correct(p, f"The answer is {float(p.answer) + 1}.") for p in test)
    assert wrong == 0
    assert "The answer is" in task.prompt(test[0]) and test[0].question in task.prompt(test[0])


def test_math_task_with_math_verify():
    task = get_task("math")
    p = Problem("m", "Half of one?", "\\frac{1}{2}")
    assert task.is_correct(p, "We get $\\boxed{\\frac{1}{2}}$.")
    assert task.is_correct(p, "The answer is 0.5")
    assert task.is_correct(p, "so \\boxed{\\dfrac12}")
    assert not task.is_correct(p, "\\boxed{\\frac{1}{3}}")
    assert not task.is_correct(p, "no answer here")
    assert last_boxed("a \\boxed{x^{2}} b \\boxed{\\{1,2\\}}") == "\\{1,2\\}"
    row = {"problem": "Q?", "solution": "... so $\\boxed{3}$."}
    assert task.row_to_problem(row, "x").answer == "3"
    with pytest.raises(GenrmError, match="needs 'problem'"):
        task.row_to_problem({"solution": "no box"}, "x")


def test_jsonl_task_checkers_and_loading(tmp_path):
    rows = [
        {"question": "2+2?", "answer": "4"},
        {"question": "Capital of France?", "answer": "Paris", "checker": "exact"},
        {"question": "1/2 as a fraction?", "answer": "\\frac{1}{2}", "checker": "math"},
    ]
    f = tmp_path / "mine.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    task = get_task("jsonl", data=str(f))
    ps = task.load("all")
    assert task.single_file() and len(ps) == 3
    assert task.is_correct(ps[0], "The answer is 4.") and not task.is_correct(ps[0], "The answer is 5")
    assert task.is_correct(ps[1], "The answer is paris.") and not task.is_correct(ps[1], "The answer is Lyon")
    assert task.is_correct(ps[2], "The answer is 0.5")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n')
    with pytest.raises(GenrmError, match="answer"):
        get_task("jsonl", data=str(bad)).load("all")
    with pytest.raises(GenrmError, match="train.jsonl"):
        get_task("gsm8k", data=str(tmp_path)).load("train")
    with pytest.raises(GenrmError, match="generates its problems"):
        get_task("last_letter", data=str(f))
