import itertools
import random
from math import comb

import pytest

from genrm.analysis.evaluate import evaluate
from genrm.analysis.metrics import auroc, best_of_n, bootstrap_ci, n_grid, pass_at_n, vote_at_n


def brute_best_of_n(scores, correct, n):
    """Average over every n-subset; ties broken uniformly among the top."""
    total = 0.0
    subsets = list(itertools.combinations(range(len(scores)), n))
    for sub in subsets:
        top = max(scores[i] for i in sub)
        winners = [i for i in sub if scores[i] == top]
        total += sum(correct[i] for i in winners) / len(winners)
    return total / len(subsets)


def test_best_of_n_hand_cases():
    assert best_of_n([0.9, 0.1, 0.5], [1, 0, 0], 3) == 1.0
    assert best_of_n([0.9, 0.1, 0.5], [1, 0, 0], 1) == pytest.approx(1 / 3)
    assert best_of_n([0.9, 0.1, 0.5], [1, 0, 0], 2) == pytest.approx(2 / 3)  # {0,1},{0,2} win; {1,2} loses
    assert best_of_n([0.5, 0.5], [1, 0], 2) == 0.5  # a tie is a coin flip


def test_best_of_n_matches_brute_force_with_ties():
    rng = random.Random(0)
    for _ in range(50):
        N = rng.randint(1, 7)
        scores = [rng.choice([0.1, 0.2, 0.5, 0.9]) for _ in range(N)]
        correct = [rng.random() < 0.4 for _ in range(N)]
        for n in range(1, N + 1):
            assert best_of_n(scores, correct, n) == pytest.approx(brute_best_of_n(scores, correct, n))


def test_pass_at_n():
    assert pass_at_n([1, 0, 0], 1) == pytest.approx(1 / 3)
    assert pass_at_n([1, 0, 0], 2) == pytest.approx(2 / 3)
    assert pass_at_n([0, 0], 2) == 0.0
    assert pass_at_n([1, 1, 0, 0, 0], 3) == pytest.approx(1 - comb(3, 3) / comb(5, 3))
    with pytest.raises(ValueError):
        pass_at_n([1], 2)


def test_self_consistency_and_weighted():
    answers = ["a", "a", "b", None]
    correct = [False, False, True, False]
    assert vote_at_n(answers, correct, 4) == 0.0  # majority "a" is wrong
    assert vote_at_n(answers, correct, 4, weights=[0.1, 0.1, 0.9, 0.0]) == 1.0  # weight on "b" wins
    assert vote_at_n(["a", "b"], [True, False], 2) == 0.5  # tie: coin flip
    assert vote_at_n([None, None], [False, False], 2) == 0.0
    # n=1 self-consistency equals pass@1 in expectation
    assert vote_at_n(answers, correct, 1) == pytest.approx(0.25)
    assert vote_at_n(answers, correct, 1, samples=4000, exact_max=0) == pytest.approx(0.25, abs=0.03)


def test_auroc_and_ci():
    assert auroc([0.1, 0.9, 0.5], [0, 1, 1]) == 1.0
    assert auroc([0.9, 0.1], [0, 1]) == 0.0
    assert auroc([0.5, 0.5], [0, 1]) == 0.5
    assert auroc([0.5], [1]) is None
    lo, hi = bootstrap_ci([0.0, 1.0] * 50)
    assert lo < 0.5 < hi
    assert n_grid(16) == [1, 2, 4, 8, 16] and n_grid(6) == [1, 2, 4, 6]


def test_weighted_self_consistency_over_subsets_by_hand():
    """Answers a, a, b with weights .2, .2, .9 (b right). n=2 subsets: {a,a} -> a (wrong); {a,b} twice ->
    b wins on weight (.9 > .2); so 2/3. Plain self-consistency: {a,a} wrong, {a,b} ties (1/2) -> 1/3."""
    answers, correct, w = ["a", "a", "b"], [False, False, True], [0.2, 0.2, 0.9]
    assert vote_at_n(answers, correct, 2, weights=w) == pytest.approx(2 / 3)
    assert vote_at_n(answers, correct, 2) == pytest.approx(1 / 3)
    # n=3: a totals .4 < .9, so b; unweighted a has 2 votes: wrong
    assert vote_at_n(answers, correct, 3, weights=w) == 1.0 and vote_at_n(answers, correct, 3) == 0.0


def test_best_of_n_vs_k_by_hand():
    """Two candidates, K=2 votes each. Candidate 0 (right): votes .9, .1; candidate 1 (wrong): .4, .4.
    K=1 averages the first vote only: .9 > .4 -> right (1.0). K=2: .5 > .4 -> right (1.0).
    Swap candidate 0's votes (.1, .9): K=1 picks the wrong one (0.0), K=2 the right one (1.0)."""
    from genrm.analysis.evaluate import evaluate
    from genrm.core.types import Candidate, Problem

    p = Problem("p", "q", "a")
    cands = {"p": [Candidate("p", 0, "x", "a", True), Candidate("p", 1, "y", "b", False)]}
    for votes0, expected in (([0.9, 0.1], {"1": 1.0, "2": 1.0}), ([0.1, 0.9], {"1": 0.0, "2": 1.0})):
        rows = [{"score": sum(votes0) / 2, "votes": votes0}, {"score": 0.4, "votes": [0.4, 0.4]}]
        out = evaluate([p], cands, {"genrm_cot": {"p": rows}})["methods"]["GenRM-CoT"]
        assert out["best_of_N_vs_k"] == expected
        assert out["best_of_n"]["2"] == 1.0 and out["best_of_n"]["1"] == pytest.approx(0.5)


def test_weighted_vote_compares_tiny_weights_by_their_size():
    """A DPO verifier's scores are sequence probabilities, e.g. 1e-20: weighted self-consistency must still pick
    the answer with the larger total (b: 5e-20 > a: 2e-20), not call every answer a tie."""
    from genrm.analysis.metrics import vote_at_n

    answers, correct = ["a", "b", "a"], [True, False, True]
    assert vote_at_n(answers, correct, 3, weights=[1e-20, 5e-20, 1e-20]) == 0.0
    assert vote_at_n(answers, correct, 3, weights=[3e-20, 5e-20, 3e-20]) == 1.0
    assert vote_at_n(answers, correct, 3, weights=[2.5e-20, 5e-20, 2.5e-20]) == 0.5  # a true tie: a coin flip


def test_pooled_and_within_problem_auroc_worked_by_hand():
    """Pooled AUROC ranks all candidates together; within-problem AUROC is the mean over problems that have a
    right and a wrong candidate (a problem with one class is left out, not counted as 0.5)."""
    from genrm.core.types import Candidate, Problem

    rows = {  # problem: [(score, correct)]
        "a": [(0.9, True), (0.1, False)],  # ranked right: 1
        "b": [(0.2, True), (0.8, False)],  # ranked wrong: 0
        "c": [(0.5, True), (0.6, True)],  # one class: no within-problem AUROC
    }
    problems = [Problem(pid, "q", "x") for pid in rows]
    cands = {p: [Candidate(p, i, "s", "x" if y else "z", y) for i, (_, y) in enumerate(r)] for p, r in rows.items()}
    scores = {"genrm": {pid: [{"score": s} for s, _ in r] for pid, r in rows.items()}}
    got = evaluate(problems, cands, scores)["methods"]["GenRM"]
    # pooled: positives 0.9, 0.2, 0.5, 0.6 against negatives 0.1, 0.8: 5 of the 8 pairs ordered right
    assert got["auroc"] == pytest.approx(5 / 8)
    assert got["auroc_within_problem"] == pytest.approx(0.5)
    assert got["verifier_accuracy"] == pytest.approx(4 / 6)  # at >= 0.5: 0.9, 0.1, 0.5, 0.6 right; 0.2, 0.8 wrong


def test_fooled_and_rescued_flags_worked_by_hand():
    """The report's filters: 'fooled' = a right candidate existed and the verifier picked a wrong one; 'rescued' =
    the verifier's pick is right where majority voting's answer is wrong."""
    from genrm.report.html import _browser_data

    def problem(answers, correct, scores):
        cands = [{"text": a, "answer": a, "correct": c} for a, c in zip(answers, correct)]
        return cands, [{"score": s} for s in scores]

    cases = {  # id: (answers, correct, verifier scores) -> (fooled, rescued)
        "rescue": (["x", "x", "y"], [False, False, True], [0.1, 0.2, 0.9]),  # majority x wrong, pick y right
        "fool": (["x", "x", "y"], [True, True, False], [0.1, 0.2, 0.9]),  # majority right, pick wrong
        "both right": (["x", "x", "y"], [True, True, False], [0.9, 0.2, 0.1]),
        "none right": (["x", "y"], [False, False], [0.3, 0.4]),  # nothing to pick: not fooled
    }
    run = {"problems": {}, "candidates": {}, "scores": {"genrm": {}}}
    for pid, (answers, correct, scores) in cases.items():
        run["problems"][pid] = {"question": "q", "answer": "a"}
        run["candidates"][pid], run["scores"]["genrm"][pid] = problem(answers, correct, scores)
    flags = {p["id"]: (p["methods"]["genrm"]["fooled"], p["methods"]["genrm"]["rescued"]) for p in _browser_data(run)}
    assert flags == {
        "rescue": (False, True),
        "fool": (True, False),
        "both right": (False, False),
        "none right": (False, False),
    }


def test_paired_differences_worked_by_hand():
    """Three problems, two candidates each (one right, one wrong). ORM ranks the right one first on problems
    0 and 1, GenRM only on problem 0; both are tied with nothing else. Best-of-2 per problem: ORM 1, 1, 0;
    GenRM 1, 0, 0; so ORM - GenRM = (0 + 1 + 0) / 3 with one problem won, none lost. Self-consistency: two
    distinct answers, one vote each: a tie, 0.5 per problem."""
    from genrm.core.types import Candidate, Problem

    problems = [Problem(f"p{i}", "q", "a") for i in range(3)]
    cands = {p.id: [Candidate(p.id, 0, "x", "a", True), Candidate(p.id, 1, "y", "b", False)] for p in problems}
    orm = {"p0": [0.9, 0.1], "p1": [0.8, 0.2], "p2": [0.3, 0.7]}
    genrm = {"p0": [0.6, 0.5], "p1": [0.4, 0.5], "p2": [0.1, 0.9]}
    scores = {
        "orm": {k: [{"score": s} for s in v] for k, v in orm.items()},
        "genrm": {k: [{"score": s} for s in v] for k, v in genrm.items()},
    }
    paired = evaluate(problems, cands, scores)["paired"]
    d = paired["ORM - GenRM"]
    assert d["difference"] == pytest.approx(1 / 3) and d["wins"] == 1 and d["losses"] == 0
    # the paired bootstrap resamples problems: the difference per problem is 0, 1, 0, so the CI lies in [0, 1]
    assert 0.0 <= d["ci95"][0] <= 1 / 3 <= d["ci95"][1] <= 1.0
    sc = paired["ORM - self-consistency"]
    assert sc["difference"] == pytest.approx((0.5 + 0.5 - 0.5) / 3) and sc["wins"] == 2 and sc["losses"] == 1
    assert paired["GenRM - pass@1"]["difference"] == pytest.approx((0.5 - 0.5 - 0.5) / 3)
    assert set(paired) == {
        "ORM - self-consistency",
        "ORM - pass@1",
        "GenRM - self-consistency",
        "GenRM - pass@1",
        "ORM - GenRM",
    }
