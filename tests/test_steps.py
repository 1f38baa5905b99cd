"""Step-level verdicts (genrm.core.steps, genrm.analysis.steps): the parser on hand-written rationales, the
K-rationale vote, ProcessBench's metric and step-level Best-of-N on hand-computed cases, and step rewards out
of the server and every hook."""

import httpx
import pytest

from conftest import serving
from genrm.analysis.evaluate import evaluate
from genrm.analysis.steps import NO_ERROR, StepVerdicts, first_error_label, parse_rationale, processbench
from genrm.core.types import Candidate, Problem, Result
from genrm.serving.reward import RewardModel
from genrm.serving.server import ServeLimits, create_app
from genrm.tasks import get_task

WRONG_2ND = " tag -> g/g ok, boj -> j/x wrong (boj -> x), lob -> b/b ok, q extra."
ALL_OK = " tag -> g/g ok, boj -> j/j ok, lob -> b/b ok, x -> x/x ok."


@pytest.mark.parametrize(
    "text, steps, wrong, complete",
    [
        (WRONG_2ND, ["tag -> g/g", "boj -> j/x", "lob -> b/b", "q"], [0, 1, 0, 1], True),
        (ALL_OK, ["tag -> g/g", "boj -> j/j", "lob -> b/b", "x -> x/x"], [0, 0, 0, 0], True),
        # a miscopied word whose letter is right: shown in parentheses, not a wrong step
        (" tag -> g/g ok (tog -> g), boj -> j/j ok.", ["tag -> g/g", "boj -> j/j"], [0, 0], True),
        # a piece the answer lacks, and one it should not have
        (" tag -> g/g ok, boj -> j missing.", ["tag -> g/g", "boj -> j"], [0, 1], 1),
        (" tag -> g/g ok, g extra (dog -> g).", ["tag -> g/g", "g"], [0, 1], 1),
        # cut by the token cap: the complete steps count, the cut one and everything after do not
        (" tag -> g/g ok, boj -> j/x wrong, lob -> b/", ["tag -> g/g", "boj -> j/x"], [0, 1], False),
        (" tag -> g/g ok, boj -> j/j ok", ["tag -> g/g", "boj -> j/j"], [0, 0], False),
    ],
)
def test_parser_on_hand_written_rationales(text, steps, wrong, complete):
    marks = parse_rationale(text)
    assert marks is not None
    assert list(marks.steps) == steps and [int(w) for w in marks.wrong] == wrong and marks.complete == complete


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The solution looks right to me.",  # free text (GSM8K-style, a judge's own words): nothing, not a guess
        " tag -> g/g fine, boj -> j/j ok.",  # a mark the format does not have
        " tag -> g/g ok, garbage here, lob -> b/b ok.",  # a malformed step in the middle
        " tag -> g/g ok (a (nested) note).",  # a note holds no parentheses
        " tag -> g/",  # cut before any complete step
        None,
    ],
)
def test_what_the_parser_refuses(text):
    assert parse_rationale(text) is None


def test_first_wrong_step_of_one_rationale():
    assert parse_rationale(WRONG_2ND).first_error == 1
    assert parse_rationale(ALL_OK).first_error == NO_ERROR
    assert parse_rationale(" tag -> g/g ok, boj -> j/j ok").first_error is None  # cut before the end: unknown
    assert parse_rationale(" tag -> g/g ok, boj -> j/x wrong, lob -> b/").first_error == 1  # found before the cut


def test_k_rationales_shares_and_vote_by_hand():
    cut_ok = " tag -> g/g ok, boj -> j/j ok"  # cut: reaches two steps, votes for nothing
    v = StepVerdicts.from_rationales([WRONG_2ND, WRONG_2ND, ALL_OK, cut_ok, "free text"])
    assert v.parsed == 4  # the free-text one gives no steps
    # step 0: 0 of 4 wrong; step 1: 2 of 4; steps 2 and 3: reached by 3 (the cut one stops), wrong 0 and 2
    assert v.wrong_share == pytest.approx([0.0, 0.5, 0.0, 2 / 3])
    assert v.first_error == 1 and v.votes == 2  # votes: 1, 1, -1 (the cut one abstains)
    assert v.step_min == pytest.approx(1 / 3)  # the extra piece: 1 - 2/3
    assert v.steps == ["tag -> g/g", "boj -> j/x", "lob -> b/b", "q"]
    # a tie between "no error" and a wrong step goes to the wrong step; between two steps, to the earlier
    assert StepVerdicts.from_rationales([WRONG_2ND, ALL_OK]).first_error == 1
    third = " tag -> g/g ok, boj -> j/j ok, lob -> b/x wrong."
    assert StepVerdicts.from_rationales([third, WRONG_2ND]).first_error == 1
    assert StepVerdicts.from_rationales([ALL_OK, ALL_OK, WRONG_2ND]).first_error == NO_ERROR
    assert StepVerdicts.from_rationales([cut_ok]).first_error is None  # nobody could vote
    assert StepVerdicts.from_rationales(["free text", ""]) is None
    assert Result(0.4, [0.3, 0.5], [WRONG_2ND, ALL_OK]).steps.first_error == 1  # Result carries them
    assert Result(0.4, [], []).steps is None


def test_oracle_labels_from_the_task():
    task = get_task("last_letter")
    p = Problem("p", "tag boj lob", "gjb")
    label = lambda solution: first_error_label(task.rationale_body(p, solution))  # noqa: E731
    assert label(" tag -> g, boj -> j, lob -> b. Answer: gjb") == NO_ERROR
    assert label(" tag -> g, boj -> x, lob -> b. Answer: gxb") == 1
    assert label(" tag -> g, boj -> j, lob -> b. Answer: gjq") == 2  # right steps, the answer's 3rd letter wrong
    assert label(" tag -> g, boj -> j. Answer: gj") == 2  # a missing step (and letter)
    assert label(" tag -> g, boj -> j, lob -> b. Answer: gjbb") == 3  # an extra letter
    # the paper's label is the final answer: a wrong step whose answer is right anyway is no error
    assert label(" tag -> q, boj -> j, lob -> b. Answer: gjb") == NO_ERROR
    assert label(" tog -> g, boj -> j, lob -> b. Answer: gjb") == NO_ERROR  # a miscopied word, right letter


def test_processbench_metric_by_hand():
    labels = [1, 1, 0, NO_ERROR, NO_ERROR, NO_ERROR]
    predicted = [1, 2, None, NO_ERROR, 0, NO_ERROR]
    out = processbench(labels, predicted)
    # erroneous: 1 of 3 exact (a later step, or nothing, is wrong); correct: 2 of 3 say "no error"
    assert out["error_accuracy"] == pytest.approx(1 / 3) and out["correct_accuracy"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 * (1 / 3) * (2 / 3) / (1 / 3 + 2 / 3))
    assert out["n_error"] == 3 and out["n_correct"] == 3
    assert processbench([1], [1])["f1"] is None  # one class only: no F1


def test_evaluate_adds_step_metrics_and_step_level_best_of_n():
    """Two problems of two candidates; the oracle labels and rationales written here, the numbers by hand."""
    problems = [Problem("a", "q", "x"), Problem("b", "q", "x")]
    cands = {
        "a": [Candidate("a", 0, "s", "x", True), Candidate("a", 1, "s", "z", False)],
        "b": [Candidate("b", 0, "s", "x", True), Candidate("b", 1, "s", "z", False)],
    }
    labels = {"a": [NO_ERROR, 1], "b": [NO_ERROR, 1]}
    rows = {
        # a: the right candidate read as right, the wrong one's error found; outcome scores rank them wrongly
        "a": [{"score": 0.2, "rationales": [ALL_OK, ALL_OK]}, {"score": 0.9, "rationales": [WRONG_2ND, WRONG_2ND]}],
        # b: the right one flagged at step 0 by one of two rationales, the wrong one's rationales unreadable
        "b": [
            {"score": 0.6, "rationales": [ALL_OK, " tag -> g/q wrong."]},
            {"score": 0.5, "rationales": ["free", "text"]},
        ],
    }
    res = evaluate(problems, cands, {"genrm_cot": rows}, first_errors=labels)
    st = res["methods"]["GenRM-CoT"]["steps"]
    # erroneous: a/1 found (1), b/1 unread (wrong): 1/2; error-free: a/0 "no error", b/0 a tie -> step 0: 1/2
    assert st["error_accuracy"] == pytest.approx(0.5) and st["correct_accuracy"] == pytest.approx(0.5)
    assert st["f1"] == pytest.approx(0.5) and st["parsed"] == pytest.approx(3 / 4)
    assert st["predicted"] == {"a": [NO_ERROR, 1], "b": [0, None]}
    # step-level Best-of-2 ranks by the lowest step score: a: 1.0 vs 0.5 (right); b: 0.5 vs 0 (unread: right)
    assert res["methods"]["GenRM-CoT (min step)"]["best_of_n"]["2"] == pytest.approx(1.0)
    assert res["methods"]["GenRM-CoT"]["best_of_n"]["2"] == pytest.approx(0.5)  # outcome: a wrong, b right
    assert res["first_errors"] == labels


class Fixed:
    """A verifier that answers with fixed results per solution (well-formed, malformed, free-text rationales):
    the server and hook paths around it are the real ones."""

    RESULTS = {
        "wrong 2nd": Result(0.3, [0.2, 0.4], [WRONG_2ND, WRONG_2ND]),
        "all ok": Result(0.8, [0.7, 0.9], [ALL_OK, ALL_OK]),
        "malformed": Result(0.6, [0.5, 0.7], ["tag -> g/g fine", "}{ not a rationale"]),
    }

    def score(self, items, description=None):
        return [self.RESULTS[s] for _, s in items]


@pytest.fixture
def fixed():
    return RewardModel(Fixed(), "Q: last letters of {question}\nA:", method="genrm_cot", name="fixed")


def test_server_returns_steps_of_the_documented_shape(fixed):
    with serving(create_app(fixed, ServeLimits(reward="step_min"))) as url:
        items = [{"question": "tag boj lob", "solution": s} for s in ("wrong 2nd", "all ok", "malformed")]
        body = httpx.post(f"{url}/score", json={"items": items, "return_steps": True}).json()
        plain = httpx.post(f"{url}/score", json={"items": items}).json()
        prompt = "Q: last letters of tag boj lob\nA:"
        rewards = httpx.post(
            f"{url}/get_reward",
            json={"query": [prompt + s for s in ("wrong 2nd", "all ok", "malformed")], "prompts": [prompt] * 3},
        ).json()
    assert body["scores"] == [0.3, 0.8, 0.6] and "steps" not in plain
    wrong, ok, malformed = body["steps"]
    assert wrong == {
        "steps": ["tag -> g/g", "boj -> j/x", "lob -> b/b", "q"],
        "wrong_share": [0.0, 1.0, 0.0, 1.0],
        "first_error": 1,
        "votes": 2,
        "parsed": 2,
        "step_min": 0.0,
    }
    assert ok["first_error"] == NO_ERROR and ok["step_min"] == 1.0
    assert malformed is None  # no steps, and the outcome score is still there
    # /get_reward with --reward step_min: the lowest step score, p(correct) where no steps were read
    assert rewards["rewards"] == [0.0, 1.0, 0.6] and rewards["scores"] == [0.3, 0.8, 0.6]
    logs = rewards["extra_logs"]
    assert logs["genrm_first_error"] == [1.0, -1.0, -2.0] and logs["genrm_steps_read"] == [1.0, 1.0, 0.0]


def test_every_hook_returns_step_rewards_and_logs(fixed):
    from genrm.integrations.openrlhf import make_reward_func
    from genrm.integrations.trl import GRPOReward
    from genrm.integrations.verl import VerlReward

    sols = ["wrong 2nd", "all ok", "malformed"]
    prompts = ["Q: last letters of tag boj lob\nA:"] * 3
    extra = {}
    trl = GRPOReward(fixed, reward="step_min")(prompts, sols, log_extra=extra.__setitem__)
    assert trl == [0.0, 1.0, 0.6]
    assert extra["genrm_first_wrong_step"] == ["1", "none", ""]
    assert GRPOReward(fixed)(prompts, sols) == [0.3, 0.8, 0.6]  # the default stays the outcome

    verl = VerlReward(fixed, reward="step_min")
    got = [verl.compute_score("d", s, None, {"question": "tag boj lob"}) for s in sols]
    assert [g["score"] for g in got] == [0.0, 1.0, 0.6]
    assert [g["genrm_first_error"] for g in got] == [1.0, -1.0, -2.0]
    assert [g["genrm_step_min"] for g in got] == [0.0, 1.0, 0.6]
    assert all(set(g) == set(got[0]) for g in got)  # verl gathers extra keys per key: the same for every item
    outcome = VerlReward(fixed).compute_score("d", "wrong 2nd", None, {"question": "tag boj lob"})
    assert outcome["score"] == 0.3 and outcome["genrm_first_error"] == 1.0

    out = make_reward_func(fixed, "auto", reward="step_min")([p + s for p, s in zip(prompts, sols)], prompts)
    assert out["rewards"].tolist() == [0.0, 1.0, pytest.approx(0.6)]
    assert out["extra_logs"]["genrm_first_error"].tolist() == [1.0, -1.0, -2.0]
    with pytest.raises(Exception, match="step_min"):
        make_reward_func(fixed, reward="steps")


def test_the_report_carries_each_candidates_steps_and_the_step_table():
    from genrm.report.html import _browser_data, _steps_table

    run = {
        "problems": {"a": {"question": "tag boj lob", "answer": "gjb"}},
        "candidates": {"a": [{"text": "x", "answer": "gjb", "correct": True}, {"text": "y", "answer": "gxb"}]},
        "scores": {"genrm_cot": {"a": [{"score": 0.9, "rationales": [ALL_OK]}, {"score": 0.2, "rationales": ["?"]}]}},
        "results": {"first_errors": {"a": [NO_ERROR, 1]}},
    }
    (p,) = _browser_data(run)
    assert [c["first_error"] for c in p["candidates"]] == [NO_ERROR, 1]  # the oracle's, shown underlined
    ok, unread = p["methods"]["genrm_cot"]["steps"]
    assert ok == {"steps": ["tag -> g/g", "boj -> j/j", "lob -> b/b", "x -> x/x"], "share": [0.0] * 4, "first": -1}
    assert unread is None
    steps = {
        "f1": 0.5,
        "ci95_f1": [0.25, 0.75],
        "error_accuracy": 0.5,
        "correct_accuracy": 0.5,
        "n_error": 4,
        "n_correct": 2,
        "parsed": 0.75,
    }
    html = _steps_table({"GenRM-CoT": {"steps": steps}, "ORM": {}})
    assert "Step verdicts" in html and "0.250-0.750" in html and "0.500 of 4" in html and "ORM" not in html
    assert _steps_table({"ORM": {}}) == ""
