"""Rewards against values worked out by hand (tests/by_hand.py: plain Transformers, the prompts written out
here), through the real server app and every RL hook: GenRM-CoT's score is the mean of its rationales'
p(Yes); identical items are scored once and each gets its own item's value."""

import httpx
import pytest

from by_hand import SOLVE, cot_votes, direct_p_yes, mean
from conftest import serving
from genrm.serving.reward import RewardModel
from genrm.serving.server import create_app

approx = lambda xs: pytest.approx(xs, rel=2e-2)  # noqa: E731  # genrm scores under bf16 autocast on CPU
# after a sampled rationale the decision is read ~100 tokens deeper, where bf16 rounding adds up (measured: up
# to 2.2% on one vote in 20): wider, and the votes must differ by more than that for a `min` to show
cot_approx = lambda xs: pytest.approx(xs, rel=4e-2)  # noqa: E731


class Spy:
    """Wraps a RewardModel's verifier: records what each item it scored got (rationales included), and how
    many items reached the model. Scoring itself is untouched."""

    def __init__(self, reward_model: RewardModel):
        self.inner, self.seen, self.scored = reward_model.verifier, {}, 0
        reward_model.verifier = self

    def score(self, items, description=None):
        out = self.inner.score(items, description)
        self.scored += len(items)
        self.seen.update(zip(items, out))
        return out

    def rationales(self, items) -> list[list[str]]:
        """The rationales the model wrote for each (question, solution), read under the hand-written prompt
        (a KeyError here means the hook sent the verifier another prompt)."""
        return [self.seen[(SOLVE.format(q=q), s)].rationales for q, s in items]


@pytest.fixture(scope="module")
def cot(micro_run):
    """The micro run's GenRM-CoT, sampling its K=2 rationales at temperature 1 (so votes differ)."""
    reward_model = RewardModel.load(micro_run[0].path, "genrm_cot")
    return reward_model, Spy(reward_model)


def spread(votes: list[list[float]]) -> float:
    """The largest relative gap between an item's mean vote and its lowest: a `min` in place of the mean
    must show at the test's tolerance (4%)."""
    return max((mean(v) - min(v)) / mean(v) for v in votes)


def test_served_cot_score_is_the_mean_of_p_yes_after_each_returned_rationale(micro_run, run_items, cot):
    run, _ = micro_run
    reward_model, _ = cot
    items = run_items[:10]
    with serving(create_app(reward_model)) as url:
        body = {"items": [{"question": q, "solution": s} for q, s in items], "return_votes": True}
        out = httpx.post(f"{url}/score", json=body, timeout=120).json()
    hand = cot_votes(run.file("models", "genrm_cot"), items, out["rationales"])
    assert spread(hand) > 0.08
    assert [v for vs in out["votes"] for v in vs] == cot_approx([v for vs in hand for v in vs])
    assert out["scores"] == cot_approx([mean(v) for v in hand])


def test_cot_hooks_reward_the_mean_of_p_yes_after_each_rationale(micro_run, run_items, cot):
    """TRL, verl and OpenRLHF over an in-process GenRM-CoT: each reward is the mean over the rationales the
    model wrote for that item of p(Yes) worked out by hand; verl's and OpenRLHF's vote logs are the
    lowest and highest of them."""
    from genrm.integrations.openrlhf import make_reward_func
    from genrm.integrations.trl import GRPOReward
    from genrm.integrations.verl import VerlReward

    run, _ = micro_run
    reward_model, spy = cot
    model_dir = run.file("models", "genrm_cot")
    items = run_items[10:20]
    prompts = [SOLVE.format(q=q) for q, _ in items]
    completions = [s for _, s in items]

    def expected():
        votes = cot_votes(model_dir, items, spy.rationales(items))
        assert spread(votes) > 0.08
        return votes, [mean(v) for v in votes]

    spy.seen.clear()
    trl = GRPOReward(reward_model)(prompts, completions)
    votes, want = expected()
    assert trl == cot_approx(want)

    spy.seen.clear()
    verl = VerlReward(reward_model)
    got = [verl.compute_score("d", s, None, {"question": q}) for q, s in items]
    votes, want = expected()
    assert [g["score"] for g in got] == cot_approx(want)
    assert [g["genrm_vote_min"] for g in got] == cot_approx([min(v) for v in votes])
    assert [g["genrm_vote_max"] for g in got] == cot_approx([max(v) for v in votes])

    spy.seen.clear()
    out = make_reward_func(reward_model)([p + s for p, s in zip(prompts, completions)], prompts, None)
    votes, want = expected()
    assert out["rewards"].tolist() == cot_approx(want)
    assert out["extra_logs"]["genrm_vote_min"].tolist() == cot_approx([min(v) for v in votes])


def test_identical_items_are_scored_once_and_each_gets_its_own_value(micro_run, run_items):
    """Duplicates (as GRPO groups produce) reach the model once; every position still gets the p(Yes) of its
    own item, over HTTP and through the hooks."""
    from genrm.integrations.trl import GRPOReward

    run, _ = micro_run
    reward_model = RewardModel.load(run.path, "genrm")
    spy = Spy(reward_model)
    # three items whose values are 0.1% apart, 1000x approx()'s tolerance, so a mix-up shows
    values = dict(zip(run_items, direct_p_yes(run.file("models", "genrm"), run_items)))
    chosen: list = []
    for it in sorted(values, key=values.get):
        if not chosen or values[it] > 1.001 * values[chosen[-1]]:
            chosen.append(it)
    assert len(chosen) >= 3, sorted(values.values())
    a, b, c = chosen[0], chosen[len(chosen) // 2], chosen[-1]
    items = [a, b, a, c, b, a, a]
    hand = [values[it] for it in items]
    with serving(create_app(reward_model)) as url:
        body = {"items": [{"question": q, "solution": s} for q, s in items]}
        assert httpx.post(f"{url}/score", json=body, timeout=60).json()["scores"] == approx(hand)
    assert spy.scored == 3
    spy.scored = 0
    assert GRPOReward(reward_model)([SOLVE.format(q=q) for q, _ in items], [s for _, s in items]) == approx(hand)
    assert spy.scored == 3
