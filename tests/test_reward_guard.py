"""Reward calls that never hang or crash an RL run: deadlines and fallbacks in every hook, and a remote
verifier whose server stalls or drops connections."""

import http.server
import json
import logging
import threading
import time

import pytest

from genrm.client import RemoteRewardModel
from genrm.integrations.guard import GuardedScorer
from genrm.integrations.openrlhf import make_reward_func
from genrm.integrations.trl import GRPOReward
from genrm.integrations.verl import make_compute_score

ITEMS = [("2+2?", "The answer is 4."), ("3+3?", "The answer is 7.")]


class Fake:
    """An in-process verifier that answers, sleeps or raises."""

    def __init__(self, mode: str = "ok", sleep: float = 0.0):
        self.mode, self.sleep, self.calls = mode, sleep, 0

    def score(self, items, prompt_format="question"):
        self.calls += 1
        time.sleep(self.sleep)
        if self.mode == "raise":
            raise RuntimeError("CUDA out of memory")
        return [(0.25 + 0.5 * i, [], []) for i in range(len(items))]


def test_guard_passes_results_and_turns_failures_into_none(caplog):
    assert GuardedScorer(Fake(), timeout_s=5).score(ITEMS) == [(0.25, [], []), (0.75, [], [])]
    failing = GuardedScorer(Fake("raise"), timeout_s=5)
    with caplog.at_level(logging.WARNING, "genrm.reward"):
        assert failing.score(ITEMS) is None
    assert failing.stats["failures"] == 1 and "CUDA out of memory" in caplog.text
    with pytest.raises(ValueError, match="positive"):
        GuardedScorer(Fake(), timeout_s=0)


def test_guard_returns_at_the_deadline_and_does_not_queue_behind_a_stuck_call():
    slow = Fake(sleep=1.5)
    guard = GuardedScorer(slow, timeout_s=0.3)
    t = time.monotonic()
    assert guard.score(ITEMS) is None
    assert guard.score(ITEMS) is None  # the first call still runs: fallback at once, no second call started
    assert time.monotonic() - t < 1.2 and slow.calls == 1
    assert guard.stats == {"calls": 2, "timeouts": 1, "failures": 0, "busy": 1}
    time.sleep(1.5)
    slow.sleep = 0.0
    assert guard.score(ITEMS) is not None  # the stuck call ended: the verifier is used again


def test_every_hook_has_its_fallback():
    trl = GRPOReward(Fake("raise"), prompt_format="question", timeout_s=5)
    metrics = {}
    assert trl(["2+2?", "3+3?"], ["4", "7"], log_metric=metrics.__setitem__) == [None, None]  # TRL skips None
    assert metrics["genrm/failed_calls"] == 1.0
    _, batch = make_compute_score(Fake(sleep=2), timeout_s=0.2, fallback_score=-1.0, prompt_format="question")
    infos = [{"question": q} for q, _ in ITEMS]
    fell_back = {"score": -1.0, "genrm_fallback": 1.0}
    assert batch(["d", "d"], [s for _, s in ITEMS], [None, None], infos) == [fell_back, fell_back]
    single, _ = make_compute_score(Fake("raise"), fallback_score=0.0)
    assert single("d", "The answer is 4.", None, {"question": "2+2?"}) == {"score": 0.0, "genrm_fallback": 1.0}
    reward = make_reward_func(Fake("raise"), "question", fallback_score=0.5)
    out = reward(["2+2? 4", "3+3? 7"], ["2+2?", "3+3?"])
    assert out["rewards"].tolist() == [0.5, 0.5] and out["scores"].tolist() == [0.5, 0.5]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def serve(mode: str):
    """A fake `genrm serve`: /health answers; /score stalls (never answers) or drops the connection."""
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = json.dumps({"method": "genrm", "model": "fake", "limits": {"max_items": 64}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if mode == "stall":
                stop.wait(30)
            self.close_connection = True  # drop: no status line, the socket is closed

    server = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, stop


@pytest.mark.parametrize("mode", ["stall", "drop"])
def test_remote_verifier_that_stalls_or_drops_gets_the_fallback(mode):
    server, stop = serve(mode)
    try:
        remote = RemoteRewardModel(f"http://127.0.0.1:{server.server_address[1]}", timeout=30, retries=50)
        _, batch = make_compute_score(remote, timeout_s=1.0, fallback_score=0.0, prompt_format="question")
        t = time.monotonic()
        got = batch(["d", "d"], [s for _, s in ITEMS], [None, None], [{"question": q} for q, _ in ITEMS])
        assert [g["score"] for g in got] == [0, 0] and [g["genrm_fallback"] for g in got] == [1, 1]
        assert time.monotonic() - t < 3
        assert remote.call_timeout == 1.0  # the guard gave the client its deadline: retries stop in time
        t = time.monotonic()
        with pytest.raises(Exception, match="call_timeout|did not answer"):
            remote.score(ITEMS)  # called directly, the client itself gives up at the deadline
        assert time.monotonic() - t < 3
    finally:
        stop.set()
        server.shutdown()


class Batchable:
    """An in-process verifier shaped like `RewardModel` (score_verbatim, solve_prompt): the guard batches it."""

    def __init__(self, sleep: float = 0.05):
        self.sleep, self.calls = sleep, []
        self.lock = threading.Lock()

    def solve_prompt(self, text, prompt_format="question"):
        return f"Q: {text}\nA:"

    def score_verbatim(self, pairs):
        with self.lock:  # one model call at a time, as RewardModel's lock does
            self.calls.append(len(pairs))
            time.sleep(self.sleep)
            return [(float(len(s)), [], []) for _, s in pairs]


def test_concurrent_calls_share_model_calls_from_threads_and_coroutines():
    """RL frameworks ask for one reward per call, many at once: those calls must share model calls."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    verifier = Batchable()
    guard = GuardedScorer(verifier, timeout_s=10, max_batch_items=64)
    solutions = [("q", "x" * i) for i in range(1, 33)]
    with ThreadPoolExecutor(32) as pool:  # verl's sync path / OpenRLHF's .py file: threads
        got = list(pool.map(lambda item: guard.score([item]), solutions))
    assert [g[0][0] for g in got] == [float(i) for i in range(1, 33)]  # each caller gets its own item's score
    assert sum(verifier.calls) == 32 and len(verifier.calls) <= 4, verifier.calls

    verifier.calls.clear()

    async def coroutines():  # verl's async path / TRL's async reward: one event loop
        return await asyncio.gather(*[guard.ascore([item]) for item in solutions])

    got = asyncio.run(coroutines())
    assert [g[0][0] for g in got] == [float(i) for i in range(1, 33)]
    assert sum(verifier.calls) == 32 and len(verifier.calls) <= 4, verifier.calls


def test_a_batched_call_past_its_deadline_is_withdrawn_and_counted():
    import asyncio

    verifier = Batchable(sleep=1.0)
    guard = GuardedScorer(verifier, timeout_s=0.3)
    t = time.monotonic()
    assert guard.score([("q", "a")]) is None  # the first call occupies the model past the deadline
    assert asyncio.run(guard.ascore([("q", "bb")])) is None  # queued behind it: its deadline passes too
    assert time.monotonic() - t < 1.0
    assert guard.stats["timeouts"] == 2
    time.sleep(1.2)
    assert verifier.calls == [1]  # the withdrawn call was never scored
    verifier.sleep = 0.0
    assert guard.score([("q", "ccc")]) == [(3.0, [], [])]
