"""The documented failure behaviour of `genrm serve`, its client and the RL hooks, with the real server app over
the micro run's trained GenRM whose model is made to hang or fail: one failing request gets 500 alone; the
client waits out 429 and 503; 401/403/404 are setup errors (raised, never a silent fallback); a failed or late
call gets the fallback, with the deadline, fallback and question key read from the environment."""

import asyncio
import threading
import time

import httpx
import pytest

from by_hand import SOLVE, direct_p_yes
from conftest import serving
from genrm.core.errors import GenrmError, SetupError
from genrm.integrations.openrlhf import make_reward_func
from genrm.integrations.trl import GRPOReward
from genrm.integrations.verl import VerlReward
from genrm.serving.client import RemoteRewardModel
from genrm.serving.reward import RewardModel
from genrm.serving.server import ServeLimits, create_app

approx = lambda xs: pytest.approx(xs, rel=2e-2)  # noqa: E731  # genrm scores under bf16 autocast on CPU


class Faulty:
    """Wraps the real verifier: a call waits while `gate` is closed (a busy or stuck GPU) and raises for a
    solution containing BOOM (a model error on one request)."""

    def __init__(self, inner):
        self.inner, self.gate, self.calls = inner, threading.Event(), []
        self.gate.set()

    def score(self, items, description=None):
        self.calls.append(len(items))
        assert self.gate.wait(120), "the test never opened the gate"
        if any("BOOM" in s for _, s in items):
            raise RuntimeError("CUDA error: device-side assert triggered (planted)")
        return self.inner.score(items, description)


@pytest.fixture
def faulty(micro_run):
    """A RewardModel of the micro run's GenRM whose verifier is `Faulty`; and the hand-computed p(Yes)."""
    run, _ = micro_run
    reward_model = RewardModel.load(run.path, "genrm")
    reward_model.verifier = Faulty(reward_model.verifier)
    return reward_model, reward_model.verifier, lambda items: direct_p_yes(run.file("models", "genrm"), items)


class Statuses:
    """ASGI wrapper recording the status of every POST answered (what a client really got)."""

    def __init__(self, app):
        self.app, self.seen = app, []

    def __getattr__(self, name):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        async def spy(message):
            if scope["type"] == "http" and scope["method"] == "POST" and message["type"] == "http.response.start":
                self.seen.append(message["status"])
            await send(message)

        await self.app(scope, receive, spy)


def wait_for(condition, what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {within:g} s"
        time.sleep(0.01)


def body(items):
    return {"items": [{"question": q, "solution": s} for q, s in items]}


def test_one_failing_request_gets_500_alone_and_every_hook_falls_back(faulty, run_items, monkeypatch):
    reward_model, verifier, hand = faulty
    good, other = run_items[:2], run_items[2:4]
    bad = [(run_items[4][0], "BOOM")]
    app = create_app(reward_model, ServeLimits(max_wait_ms=60_000, max_batch_items=5))  # the three share a batch
    with serving(app) as url:
        verifier.gate.clear()
        with httpx.Client(timeout=120) as http:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(3) as pool:
                answers = [pool.submit(http.post, f"{url}/score", json=body(x)) for x in (good, bad, other)]
                wait_for(lambda: app.state.batcher.queued_items == 5 or verifier.calls, "queueing")
                verifier.gate.set()
                r_good, r_bad, r_other = [a.result() for a in answers]
        assert r_bad.status_code == 500 and "RuntimeError: CUDA error" in r_bad.json()["detail"]
        assert r_good.status_code == 200 and r_good.json()["scores"] == approx(hand(good))
        assert r_other.status_code == 200 and r_other.json()["scores"] == approx(hand(other))
        stats = httpx.get(f"{url}/health").json()["stats"]
        assert stats["errors"] == 1 and verifier.calls[0] == 5  # one shared model call failed, then each alone

    with serving(create_app(reward_model)) as url:  # default limits: a lone request is not held for company
        # through the client: a 5xx is an error (not retried, not a setup error); the hooks turn it into
        # their fallback and keep the run going
        remote = RemoteRewardModel(url, retries=3)
        with pytest.raises(GenrmError, match="answered 500") as e:
            remote.score(bad)
        assert not isinstance(e.value, SetupError)
        q, s = bad[0]
        assert GRPOReward(remote, prompt_format="question")([q], [s]) == [None]  # TRL skips None
        monkeypatch.setenv("GENRM_REWARD_FALLBACK", "-1")
        assert VerlReward(remote).compute_score("d", s, None, {"question": q}) == {
            "score": -1.0,
            "genrm_fallback": 1.0,
        }
        out = make_reward_func(remote, "question")([q + s], [q], None)
        assert out["rewards"].tolist() == [-1.0]
        assert VerlReward(remote).compute_score("d", good[0][1], None, {"question": good[0][0]})["score"] == approx(
            hand(good[:1])[0]
        )


def test_the_client_waits_out_429_until_the_queue_has_room(faulty, run_items):
    reward_model, verifier, hand = faulty
    app = Statuses(create_app(reward_model, ServeLimits(max_items=2, max_queue_items=2, max_wait_ms=0)))
    batcher = app.state.batcher
    first, second, mine = run_items[:2], run_items[2:4], run_items[4:6]
    with serving(app) as url:
        verifier.gate.clear()  # the model is busy with the first request; the second fills the queue
        threads = [
            threading.Thread(target=httpx.post, args=(f"{url}/score",), kwargs={"json": body(x)})
            for x in (first, second)
        ]
        threads[0].start()
        wait_for(lambda: verifier.calls, "the first model call")
        threads[1].start()
        wait_for(lambda: batcher.queued_items == 2, "the second request queueing")
        got: list = []
        client = threading.Thread(target=lambda: got.append(RemoteRewardModel(url, retries=20).score(mine)))
        client.start()
        wait_for(lambda: 429 in app.seen, "a 429 answer")
        verifier.gate.set()
        client.join(120)
        for t in threads:
            t.join(120)
    assert [r.score for r in got[0]] == approx(hand(mine))
    assert app.seen.count(429) >= 1 and app.seen[-1] == 200 and batcher.stats["rejected"] >= 1


def test_503_while_the_worker_is_down_and_the_client_retries_until_it_is_back(faulty, run_items):
    reward_model, _, hand = faulty
    app = Statuses(create_app(reward_model))
    batcher = app.state.batcher
    with serving(app) as url:
        loop = batcher._task.get_loop()
        loop.call_soon_threadsafe(batcher._task.cancel)  # the model worker dies
        wait_for(lambda: not batcher.alive, "the worker stopping")
        health = httpx.get(f"{url}/health")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        r = httpx.post(f"{url}/score", json=body(run_items[:1]))
        assert r.status_code == 503 and r.headers["retry-after"] == "5" and "not running" in r.json()["detail"]
        got: list = []
        client = threading.Thread(target=lambda: got.append(RemoteRewardModel(url, retries=3).score(run_items[:2])))
        client.start()
        wait_for(lambda: app.seen.count(503) >= 2, "the client's request answered 503")
        asyncio.run_coroutine_threadsafe(batcher.start(), loop).result(30)  # the worker is back
        client.join(120)
        assert httpx.get(f"{url}/health").status_code == 200
    assert [r.score for r in got[0]] == approx(hand(run_items[:2]))
    assert app.seen[-1] == 200


class Forbidden:
    """A proxy in front of the server that refuses POSTs with 403 (a gateway's access rule)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            await send({"type": "http.response.start", "status": 403, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"forbidden by the gateway"})
            return
        await self.app(scope, receive, send)


@pytest.mark.parametrize("case", ["401 wrong token", "403 gateway", "404 wrong path"])
def test_setup_errors_are_raised_through_every_hook_not_turned_into_fallbacks(faulty, run_items, case):
    """A wrong token, a refusing gateway or a wrong URL fails every call alike: raised at once (no retries),
    through the hooks too, instead of training on fallback rewards."""
    reward_model, _, _ = faulty
    app = create_app(reward_model, api_key="right")
    app = Statuses(Forbidden(app) if case.startswith("403") else app)
    with serving(app) as url:
        remote = RemoteRewardModel(
            url + ("/v1" if case.startswith("404") else ""), api_key="wrong" if case.startswith("401") else "right"
        )
        status = case.split()[0]
        (q, s) = run_items[0]
        hooks = [
            lambda: remote.score([(q, s)]),
            lambda: GRPOReward(remote, prompt_format="question")([q], [s]),
            lambda: VerlReward(remote).compute_score("d", s, None, {"question": q}),
            lambda: make_reward_func(remote, "question")([q + s], [q], None),
        ]
        for call in hooks:
            with pytest.raises(SetupError, match=f"answered {status}"):
                call()
        assert app.seen == [int(status)] * len(hooks)  # each tried once: no retries


def test_deadline_fallback_and_question_key_from_the_environment(faulty, micro_run, run_items, monkeypatch):
    """GENRM_REWARD_TIMEOUT bounds each call, GENRM_REWARD_FALLBACK is what a late call gets, GENRM_QUESTION_KEY
    names verl's extra_info key; set as an RL launcher sets them, read by the hooks loaded from files."""
    import genrm.integrations.openrlhf as openrlhf_hook
    import genrm.integrations.verl as verl_hook
    from genrm.integrations import env_reward_model

    run, _ = micro_run
    reward_model, verifier, hand = faulty
    monkeypatch.setenv("GENRM_VERIFIER", str(run.path))
    monkeypatch.setenv("GENRM_METHOD", "genrm")
    monkeypatch.setenv("GENRM_REWARD_TIMEOUT", "0.5")
    monkeypatch.setenv("GENRM_REWARD_FALLBACK", "-2.5")
    monkeypatch.setenv("GENRM_QUESTION_KEY", "raw_question")
    env_reward_model.cache_clear()
    verl_hook._rewards.clear()
    openrlhf_hook._env_reward_func.cache_clear()
    monkeypatch.setattr("genrm.integrations.env_reward_model", lambda: reward_model)  # the faulty one, from env
    try:
        q, s = run_items[0]
        got = verl_hook.compute_score("d", s, None, {"raw_question": q})
        assert got == {"score": pytest.approx(hand([(q, s)])[0], rel=2e-2), "genrm_fallback": 0.0}
        with pytest.raises(GenrmError, match="no 'raw_question' string .*GENRM_QUESTION_KEY"):
            verl_hook.compute_score("d", s, None, {"question": q})
        assert verl_hook._env_reward().guard.timeout_s == 0.5
        verifier.gate.clear()  # the model hangs: only the deadline ends the calls
        result: list = []
        t = threading.Thread(
            target=lambda: result.extend(
                [
                    verl_hook.compute_score("d", s, None, {"raw_question": q}),
                    openrlhf_hook.reward_func([SOLVE.format(q=q) + s], [SOLVE.format(q=q)], None)["rewards"].tolist(),
                ]
            )
        )
        t.start()
        t.join(60)
        assert not t.is_alive(), "GENRM_REWARD_TIMEOUT=0.5 did not end the calls"
        assert result == [{"score": -2.5, "genrm_fallback": 1.0}, [-2.5]]
    finally:
        verifier.gate.set()
        verl_hook._rewards.clear()
        openrlhf_hook._env_reward_func.cache_clear()
        env_reward_model.cache_clear()


def test_trl_hook_refuses_prompts_and_completions_of_different_lengths(faulty):
    reward_model, verifier, _ = faulty
    with pytest.raises(GenrmError, match="3 prompts but 2 completions"):
        GRPOReward(reward_model)(["a", "b", "c"], ["x", "y"])
    assert verifier.calls == []  # refused before anything was scored
