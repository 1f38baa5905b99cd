"""`genrm bench`: the metrics agree with the benchmark authors' own code, run here on the same predictions.

- ProcessBench: the metric statements of the authors' `run_eval.py` (../shared/data/benchmarks/processbench),
  cut out of its `main()` by their source and executed on prediction lists, against `processbench_f1`.
- Best-of-N files: QwenLM/Qwen2.5-Math's `rm_maj_eval.py` (vendored in tests/authors/qwen_math with its
  `utils.py`, MIT; `grader.py` / `parser.py` from ../shared) run on `math_cot_100.jsonl`, against `rm_at_k` /
  `maj_at_k`. Its modules import `latex2sympy2`, whose pinned antlr runtime (4.7.2) cannot be installed beside
  math-verify's (4.13); rm@k and maj@k never call it, so a stand-in module is put in its place.
- The step predictions of a verifier (prefix scoring) on a hand-made verifier whose scores are known, the
  critique parsing on hand-written critiques, the readers' errors, and the command end to end on a micro run.
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from genrm.analysis.benchmarks import bon_table, maj_at_k, processbench_f1, rm_at_k
from genrm.benchmarks.data import load_bbm, load_bon, load_processbench, take
from genrm.benchmarks.judges import CritiqueJudge, PrefixJudge, StepItem, extract_index
from genrm.core.errors import GenrmError
from genrm.core.types import Result

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks"
AUTHORS = Path(__file__).resolve().parent / "authors" / "qwen_math"
need_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/benchmarks is not here")


# -- ProcessBench: the authors' run_eval.py metric ---------------------------------------------------------------
def _run_eval_metric():
    """The statements of run_eval.py's main() from `error_data = ...` to `f1 = ...`, as a function of res_data."""
    tree = ast.parse((SHARED / "processbench" / "run_eval.py").read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    loop = next(n for n in ast.walk(main) if isinstance(n, ast.For) and "config" in ast.unparse(n.target))
    wanted = [
        s
        for s in loop.body
        if isinstance(s, ast.Assign)
        and ast.unparse(s.targets[0]) in ("error_data", "correct_data", "acc1", "acc2", "f1")
    ]
    assert [ast.unparse(s.targets[0]) for s in wanted] == ["error_data", "correct_data", "acc1", "acc2", "f1"]
    code = compile(ast.Module(body=wanted, type_ignores=[]), "run_eval.py", "exec")

    def metric(labels, preds):
        res_data = [{"label": y, "prediction": p, "match": p == y} for y, p in zip(labels, preds)]
        names = {"np": np, "res_data": res_data}
        with np.errstate(all="ignore"):
            exec(code, names)
        return float(names["acc1"]), float(names["acc2"]), float(names["f1"])

    return metric


@need_shared
@pytest.mark.parametrize("kind", ["random", "all -1", "all 0", "perfect", "unparsed", "shifted"])
def test_processbench_f1_equals_the_authors_metric(kind):
    metric = _run_eval_metric()
    labels = [
        it.first_error if it.first_error is not None else -1
        for it in load_processbench(SHARED / "processbench", "gsm8k")
    ]
    rng = np.random.default_rng(0)
    preds = {
        "random": [int(x) for x in rng.integers(-1, 6, len(labels))],
        "all -1": [-1] * len(labels),
        "all 0": [0] * len(labels),
        "perfect": list(labels),
        "unparsed": [None if i % 3 == 0 else y for i, y in enumerate(labels)],
        "shifted": [y + 1 if y != -1 else -1 for y in labels],
    }[kind]
    acc1, acc2, f1 = metric(labels, preds)
    ours = processbench_f1(labels, preds)
    assert ours["error_acc"] == pytest.approx(acc1) and ours["correct_acc"] == pytest.approx(acc2)
    if acc1 + acc2 == 0:  # the authors' 0/0 is NaN; genrm reports 0 (module docstring)
        assert np.isnan(f1) and ours["f1"] == 0.0
    else:
        assert ours["f1"] == pytest.approx(f1)


def test_processbench_f1_by_hand():
    # errors at 2, 0, 1 (predicted 2, 1, None: one right of three); two clean (predicted -1, 3: one right of two)
    r = processbench_f1([2, 0, 1, -1, -1], [2, 1, None, -1, 3])
    assert r["error_acc"] == pytest.approx(100 / 3) and r["correct_acc"] == pytest.approx(50.0)
    assert r["f1"] == pytest.approx(2 * (100 / 3) * 50 / (100 / 3 + 50))


# -- Best-of-N: the authors' rm_maj_eval.py ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def rm_maj_eval():
    sys.path[:0] = [str(AUTHORS), str(SHARED / "qwen-math-bon")]
    stand_in = types.ModuleType("latex2sympy2")
    stand_in.latex2sympy = lambda *a, **k: (_ for _ in ()).throw(AssertionError("rm@k/maj@k must not parse LaTeX"))
    saved = {m: sys.modules.pop(m, None) for m in ("utils", "parser", "grader", "examples", "latex2sympy2")}
    sys.modules["latex2sympy2"] = stand_in
    try:
        yield importlib.import_module("rm_maj_eval")
    finally:
        for m in ("rm_maj_eval", "utils", "parser", "grader", "examples", "latex2sympy2"):
            sys.modules.pop(m, None)
        sys.modules.update({m: v for m, v in saved.items() if v is not None})
        del sys.path[:2]


@need_shared
@pytest.mark.parametrize("k", [1, 2, 3, 4, 8])
def test_rm_and_maj_at_k_equal_the_authors_script(rm_maj_eval, k, capsys):
    path = SHARED / "qwen-math-bon" / "math_cot_100.jsonl"
    problems = load_bon(path)
    answers = [p.answers for p in problems]
    correct = [p.correct for p in problems]
    rewards = [p.rewards for p in problems]
    assert rm_at_k(rewards, correct, k) == pytest.approx(rm_maj_eval.eval_rm_k_metrics(str(path), k=k))
    assert maj_at_k(answers, correct, k) == pytest.approx(rm_maj_eval.eval_maj_k_metrics(str(path), k=k))


@need_shared
def test_rm_at_k_with_other_scores_equals_the_authors_script(rm_maj_eval, tmp_path):
    """The same check with scores the file did not come with (a verifier's), written into a copy of the file."""
    path = SHARED / "qwen-math-bon" / "math_cot_100.jsonl"
    rng = np.random.default_rng(1)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for r in rows:
        r["pred_score"] = [[float(x)] for x in rng.random(len(r["score"])).round(1)]  # many ties
    copy = tmp_path / "scored.jsonl"
    copy.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    problems = load_bon(copy)
    for k in (2, 8):
        ours = rm_at_k([p.rewards for p in problems], [p.correct for p in problems], k)
        assert ours == pytest.approx(rm_maj_eval.eval_rm_k_metrics(str(copy), k=k))


def test_bon_table_at_full_n_without_ties_is_the_authors_rm():
    correct = [[True, False, False], [False, True, False]]
    answers = [["1", "2", "2"], ["5", "6", "6"]]
    scores = {"v": [[0.9, 0.5, 0.1], [0.2, 0.3, 0.8]]}
    t = bon_table(correct, answers, scores)
    assert t["methods"]["Best-of-N (v)"]["at_n"]["3"] == pytest.approx(0.5)  # problem 1 right, problem 2 wrong
    assert t["authors"]["rm@3 (v)"] == pytest.approx(50.0)
    # majority: "2" (wrong) on problem 1, "6" on problem 2, whose first response with "6" is correct
    assert t["methods"]["self-consistency"]["at_n"]["3"] == 0.5 and t["authors"]["maj@3"] == 50.0
    # Best-of-1 is pass@1 in expectation: (1/3 + 1/3) / 2
    assert t["methods"]["Best-of-N (v)"]["at_n"]["1"] == pytest.approx(1 / 3)


# -- step predictions --------------------------------------------------------------------------------------------
class _Known:
    """A stand-in verifier whose score of a solution is fixed by its text (the step count it holds)."""

    name = "known"

    def __init__(self, by_steps):
        self.by_steps, self.seen = by_steps, []

    def score(self, items):
        self.seen += items
        return [Result(self.by_steps[s.count("\n\n") + 1], [], []) for _, s in items]


def test_prefix_judge_reads_the_first_prefix_below_threshold():
    item = StepItem("a", "q", ["s0", "s1", "s2", "s3"], 2, "x")
    judge = PrefixJudge(_Known({1: 0.9, 2: 0.6, 3: 0.2, 4: 0.7}), threshold=0.5)
    (p,) = judge.predict([item])
    assert p.first_error == 2 and p.verdict == 0.7 and p.prefix_scores == [0.9, 0.6, 0.2, 0.7]
    assert judge.reward_model.seen[1] == ("q", "s0\n\ns1")
    (p,) = PrefixJudge(_Known({1: 0.9, 2: 0.6, 3: 0.55, 4: 0.7}), threshold=0.5).predict([item])
    assert p.first_error == -1


class _Scripted:
    def __init__(self, texts):
        self.texts, self.prompts = texts, []

    def generate(self, prompts, n, max_new_tokens, temperature, seed, stop=(), description=None, prefixes=None):
        self.prompts += prompts
        return [self.texts[:n] for _ in prompts]


def test_critique_judge_parses_as_run_eval_does():
    item = StepItem("a", "What is 1+1?", ["1+1=2.", "So 2."], None, "gsm8k")
    assert extract_index("first \\boxed{3} then \\boxed{ 1 }") == "1" and extract_index("no box") is None
    (p,) = CritiqueJudge(_Scripted(["... \\boxed{-1}"]), "m").predict([item])
    assert p.first_error == -1 and p.verdict == 1.0
    (p,) = CritiqueJudge(_Scripted(["\\boxed{one}"]), "m").predict([item])
    assert p.first_error is None
    judge = CritiqueJudge(_Scripted(["\\boxed{1}", "\\boxed{0}", "\\boxed{1}", "none"]), "m", votes=4)
    (p,) = judge.predict([item])
    assert p.first_error == 1 and p.verdict == 0.0
    prompt = judge.engine.prompts[0]
    assert "<paragraph_0>\n1+1=2.\n</paragraph_0>\n\n<paragraph_1>\nSo 2.\n</paragraph_1>" in prompt
    assert prompt.endswith("Please put your final answer (i.e., the index) in \\boxed{}.")
    assert (
        prompt
        == (SHARED / "processbench" / "critique_template.txt")
        .read_text()
        .strip()
        .format(
            problem=item.question,
            tagged_response=judge.prompt(item).split("[Solution]\n\n")[1].split("\n\nYour task")[0],
        )
        or not SHARED.exists()
    )


# -- readers -----------------------------------------------------------------------------------------------------
def test_readers_name_the_bad_row(tmp_path):
    (tmp_path / "gsm8k.json").write_text(json.dumps([{"id": "x", "problem": "p", "steps": ["a"], "label": 3}]))
    with pytest.raises(GenrmError, match=r"gsm8k.json item 0: label 3 is outside -1..0"):
        load_processbench(tmp_path, "gsm8k")
    with pytest.raises(GenrmError, match="use one of gsm8k"):
        (load_processbench(tmp_path, "gsm"),)
    (tmp_path / "word_sorting.jsonl").write_text('{"input": "a b", "steps": ["x"], "mistake_index": 0}\n{"input": 1}\n')
    with pytest.raises(GenrmError, match=r"word_sorting.jsonl line 2: field 'steps' is missing"):
        load_bbm(tmp_path, "word_sorting")
    (tmp_path / "bon.jsonl").write_text('{"pred": ["1", "2"], "score": [true]}\n')
    with pytest.raises(GenrmError, match=r"bon.jsonl line 1: 'pred' \(2\) and 'score' \(1\)"):
        load_bon(tmp_path / "bon.jsonl")


def test_take_draws_in_file_order():
    items = list(range(100))
    drawn = take(items, 10)
    assert len(drawn) == 10 and drawn == sorted(drawn) and drawn == take(items, 10) and drawn != items[:10]
    assert take(items, 0) == items and take(items, 500) == items


@need_shared
def test_shared_files_load():
    assert [len(load_processbench(SHARED / "processbench", s)) for s in ("gsm8k", "math")] == [400, 1000]
    assert len(load_bbm(SHARED / "big-bench-mistake", "word_sorting")) == 300
    assert len(load_bon(SHARED / "qwen-math-bon" / "math_cot_100.jsonl")) == 100


# -- the command, end to end on the micro run -------------------------------------------------------------------
def _bench(args):
    from typer.testing import CliRunner

    from genrm.cli import app

    r = CliRunner().invoke(app, ["bench", *args])
    assert r.exit_code == 0, r.output + repr(r.exception)
    return r


@need_shared
def test_processbench_command_writes_resumable_predictions_and_the_metric(micro_run, tmp_path):
    run, _ = micro_run
    out = tmp_path / "pb"
    args = ["processbench", "--verifier", str(run.path), "--method", "genrm", "--data", str(SHARED / "processbench")]
    args += ["--subset", "gsm8k", "--limit", "6", "--out", str(out)]
    _bench(args)
    rows = [json.loads(line) for line in (out / "predictions" / "gsm8k.jsonl").read_text().splitlines()]
    items = take(load_processbench(SHARED / "processbench", "gsm8k"), 6)
    assert [r["id"] for r in rows] == [it.id for it in items]
    for r, it in zip(rows, items):  # the predicted step is the first prefix below 0.5, from the stored scores
        assert len(r["prefix_scores"]) == len(it.steps)
        assert r["first_error"] == next((i for i, s in enumerate(r["prefix_scores"]) if s < 0.5), -1)
    results = json.loads((out / "results.json").read_text())
    labels = [-1 if it.first_error is None else it.first_error for it in items]
    assert results["subsets"]["gsm8k"]["f1"] == processbench_f1(labels, [r["first_error"] for r in rows])["f1"]
    assert "<details>" in (out / "report.html").read_text() and (out / "results.md").exists()
    _bench(args)  # resumed: nothing is predicted again
    assert len((out / "predictions" / "gsm8k.jsonl").read_text().splitlines()) == 6
    with pytest.raises(AssertionError, match="other settings"):
        _bench([*args[:-2], "--threshold", "0.3", "--out", str(out)])


@need_shared
def test_bbm_and_bon_commands(micro_run, tmp_path):
    run, _ = micro_run
    data = ["--data", str(SHARED / "big-bench-mistake"), "--subset", "word_sorting", "--limit", "5"]
    _bench(["big-bench-mistake", "--verifier", str(run.path), *data, "--out", str(tmp_path / "bbm")])
    r = json.loads((tmp_path / "bbm" / "results.json").read_text())["tasks"]["word_sorting"]
    assert r["n_mistake"] + r["n_clean"] == 5
    f = SHARED / "qwen-math-bon" / "math_cot_100.jsonl"
    _bench(
        ["bon", str(f), "--verifier", str(run.path), "--method", "genrm", "--limit", "3", "--out", str(tmp_path / "b")]
    )
    r = json.loads((tmp_path / "b" / "results.json").read_text())
    assert r["N"] == 8 and {"Best-of-N (file)", f"Best-of-N ({run.path.name}/genrm)"} <= set(r["methods"])
    drawn = take(load_bon(f), 3)
    assert r["authors"]["rm@8 (file)"] == rm_at_k([p.rewards for p in drawn], [p.correct for p in drawn], 8)


def test_master_keys_command_and_the_floor(micro_run, tmp_path):
    run, _ = micro_run
    _bench(["master-keys", "--verifier", str(run.path), "--method", "genrm", "--limit", "8", "--out", str(tmp_path)])
    r = json.loads((tmp_path / "results.json").read_text())
    assert r["problems"] >= 1
    for kind in ("empty", "colon", "opener", "question"):
        assert r["kinds"][kind]["detected_degenerate"] == 1.0  # the floor takes each of these
        assert r["kinds"][f"{kind} (floored)"]["share_above_every_wrong"] == 0.0
    assert r["kinds"]["answer_only"]["detected_degenerate"] == 0.0  # a terse solution is judged, not floored


def test_reward_model_floor_skips_the_model():
    from genrm.core.config import ServeLimits
    from genrm.serving.reward import RewardModel

    verifier = _Known({1: 0.7})
    rm = RewardModel(verifier, "Q: {question}\nA:", degenerate="floor")
    out = rm.score([("tag boj", ""), ("tag boj", " tag -> g, boj -> j. Answer: gj"), ("tag boj", "tag boj")])
    assert [r.score for r in out] == [0.0, 0.7, 0.0] and len(verifier.seen) == 1
    with pytest.raises(GenrmError, match="--degenerate"):
        ServeLimits(degenerate="drop")
