"""Reward calls that never hang or crash an RL run: deadlines and fallbacks in every hook, and a remote
verifier whose server stalls or drops connections."""

import http.server
import json
import logging
import threading
import time

import pytest

from genrm.integrations.guard import GuardedScorer
from genrm.integrations.openrlhf import make_reward_func
from genrm.integrations.trl import GRPOReward
from genrm.integrations.verl import make_compute_score
from genrm.serving.client import RemoteRewardModel

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
    with caplog.at_level(logging.WARNING, "genrm.serving.reward"):
        assert failing.score(ITEMS) is None
    assert failing.stats["failures"] == 1 and "CUDA out of memory" in caplog.text
    with pytest.raises(ValueError, match="positive"):
        GuardedScorer(Fake(), timeout_s=0)


class Blocked:
    """An in-process verifier whose calls hang until `release` is set (a stuck GPU, a deadlock)."""

    def __init__(self):
        self.release, self.finished, self.calls = threading.Event(), threading.Event(), 0

    def score(self, items, prompt_format="question"):
        self.calls += 1
        self.release.wait()
        self.finished.set()
        return [(0.5, [], []) for _ in items]


def returns(fn, *args, within: float = 60.0):
    """fn(*args) from a thread; its result, or a failure if it is still running after `within` seconds (a hang
    guard for calls that must return because of a deadline, not a speed limit)."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    t.start()
    t.join(within)
    assert not t.is_alive(), f"{getattr(fn, '__name__', fn)} never returned: its deadline was not kept"
    return out[0]


def test_guard_returns_at_the_deadline_and_does_not_queue_behind_a_stuck_call():
    stuck = Blocked()
    guard = GuardedScorer(stuck, timeout_s=0.3)
    assert returns(guard.score, ITEMS) is None  # the verifier never answers: the deadline ends the call
    assert returns(guard.score, ITEMS) is None  # the first call still runs: fallback at once, no second call
    assert stuck.calls == 1
    assert guard.stats == {"calls": 2, "items": 4, "fallbacks": 4, "timeouts": 1, "failures": 0, "busy": 1}
    stuck.release.set()
    assert stuck.finished.wait(60)
    assert guard.score(ITEMS) == [(0.5, [], []), (0.5, [], [])]  # the stuck call ended: the verifier is used again


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
        # the server stalls for 30 s or drops every try (50 retries): only the deadline can end these calls
        infos = [{"question": q} for q, _ in ITEMS]
        got = returns(batch, ["d", "d"], [s for _, s in ITEMS], [None, None], infos, within=20)
        assert [g["score"] for g in got] == [0, 0] and [g["genrm_fallback"] for g in got] == [1, 1]
        assert remote.call_timeout == 1.0  # the guard gave the client its deadline: retries stop in time

        def direct():  # called directly, the client itself gives up at the deadline
            with pytest.raises(Exception, match="call_timeout|did not answer") as e:
                remote.score(ITEMS)
            return e

        returns(direct, within=20)
    finally:
        stop.set()
        server.shutdown()


class Batchable:
    """An in-process verifier shaped like `RewardModel` (score_verbatim, solve_prompt): the guard batches it. A
    call waits for `gate` (set: it does not wait), which keeps the model busy while other calls queue."""

    def __init__(self):
        self.calls = []
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()

    def solve_prompt(self, text, prompt_format="question"):
        return f"Q: {text}\nA:"

    def score_verbatim(self, pairs):
        with self.lock:  # one model call at a time, as RewardModel's lock does
            self.calls.append(len(pairs))
            self.gate.wait()
            return [(float(len(s)), [], []) for _, s in pairs]


def test_concurrent_calls_share_model_calls_from_threads_and_coroutines():
    """RL frameworks ask for one reward per call, many at once: calls that wait while the model is busy share
    the next model call, and each caller gets its own item's score."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    verifier = Batchable()
    guard = GuardedScorer(verifier, timeout_s=120, max_batch_items=64)
    solutions = [("q", "x" * i) for i in range(1, 33)]

    def all_waiting():  # the first model call holds the gate; every other call is queued behind it
        deadline = time.monotonic() + 60
        while not (verifier.calls and verifier.calls[0] + guard.batcher.queued_items == 32):
            assert time.monotonic() < deadline, (verifier.calls, guard.batcher.queued_items)
            time.sleep(0.01)
        verifier.gate.set()

    verifier.gate.clear()
    with ThreadPoolExecutor(33) as pool:  # verl's sync path / OpenRLHF's .py file: threads
        calls = [pool.submit(guard.score, [item]) for item in solutions]
        all_waiting()
        got = [c.result() for c in calls]
    assert [g[0][0] for g in got] == [float(i) for i in range(1, 33)]
    assert sum(verifier.calls) == 32 and len(verifier.calls) <= 2, verifier.calls

    verifier.calls.clear()
    verifier.gate.clear()

    async def coroutines():  # verl's async path / TRL's async reward: one event loop
        calls = asyncio.gather(*[guard.ascore([item]) for item in solutions])
        await asyncio.to_thread(all_waiting)
        return await calls

    got = asyncio.run(coroutines())
    assert [g[0][0] for g in got] == [float(i) for i in range(1, 33)]
    assert sum(verifier.calls) == 32 and len(verifier.calls) <= 2, verifier.calls


def test_a_batched_call_past_its_deadline_is_withdrawn_and_counted():
    import asyncio

    verifier = Batchable()
    verifier.gate.clear()  # the model is stuck until the gate opens
    guard = GuardedScorer(verifier, timeout_s=0.3)
    assert returns(guard.score, [("q", "a")]) is None  # the first call occupies the model past the deadline
    assert returns(lambda: asyncio.run(guard.ascore([("q", "bb")]))) is None  # queued behind it: deadline passes
    assert guard.stats["timeouts"] == 2
    verifier.gate.set()
    assert returns(guard.score, [("q", "ccc")]) == [(3.0, [], [])]
    assert verifier.calls == [1, 1]  # the withdrawn call ("bb") was never scored
