"""A deadline and a fallback around every reward call, so a slow or failing verifier never hangs or kills an
RL run (one stuck reward call freezes a whole verl / OpenRLHF / TRL step otherwise).

`GuardedScorer(verifier).score(items, prompt_format)` returns the verifier's results, or `None` when the
call failed or ran past `timeout_s` (default GENRM_REWARD_TIMEOUT, else 300 s); each hook turns `None`
into its framework's fallback: TRL gets `None` per item (it skips them), verl and OpenRLHF get
`fallback_score` (GENRM_REWARD_FALLBACK, else 0.0). Failures are counted (`stats`) and logged as a
warning, never raised, except a `SetupError` (a wrong API token or URL: every call would fail alike).

RL frameworks call rewards concurrently, one item per call (verl's reward loop: every response of a batch
at once, from threads or as coroutines; OpenRLHF: one query per call from parallel threads). An in-process
verifier (`RewardModel`) is therefore fed through the server's own `DynamicBatcher`, running on a background
event loop of its own: calls from any thread (`score`) or any event loop (`ascore`) that arrive together
share one model call (up to `max_batch_items` items; a lone call waits `max_wait_ms` for company), and a
call that misses its deadline is withdrawn from the queue, not left to block the calls behind it. A
verifier behind `genrm serve` (`RemoteRewardModel`) batches on the server; it is given the deadline, so its
retries stop in time, and its calls run in threads.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
import time
import weakref
from typing import Any, Sequence

from ..core.errors import SetupError

log = logging.getLogger("genrm.serving.reward")
_open: "weakref.WeakSet[GuardedScorer]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for scorer in list(_open):
        scorer.close()


DEFAULT_TIMEOUT_S = 300.0


def env_timeout() -> float:
    return float(os.environ.get("GENRM_REWARD_TIMEOUT", DEFAULT_TIMEOUT_S))


def fallback_score(given: float | None = None) -> float:
    """The score verl and OpenRLHF get for a failed call: `given`, else GENRM_REWARD_FALLBACK, else 0.0."""
    return float(given) if given is not None else float(os.environ.get("GENRM_REWARD_FALLBACK", 0.0))


class GuardedScorer:
    """`score(items, prompt_format) -> results | None`, within `timeout_s` seconds, never raising."""

    def __init__(
        self,
        verifier: Any,
        timeout_s: float | None = None,
        name: str = "genrm",
        max_batch_items: int = 64,
        max_wait_ms: float = 5.0,
    ):
        self.verifier, self.name = verifier, name
        self.timeout_s = env_timeout() if timeout_s is None else float(timeout_s)
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s={self.timeout_s}: give a positive number of seconds")
        if getattr(verifier, "call_timeout", "absent") is None:  # a RemoteRewardModel: stop retrying in time
            verifier.call_timeout = self.timeout_s
        self.stats = {"calls": 0, "items": 0, "fallbacks": 0, "timeouts": 0, "failures": 0, "busy": 0}
        self._busy: threading.Thread | None = None
        self._lock = threading.Lock()  # the counters, from many threads
        self.batcher = None
        if hasattr(verifier, "score_verbatim") and hasattr(verifier, "solve_prompt"):  # in process: batch
            from ..serving.batcher import DynamicBatcher

            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, name=f"{name}-batcher", daemon=True).start()
            self.batcher = DynamicBatcher(verifier.score_verbatim, max_batch_items, max_wait_ms / 1000, 1 << 30)
            asyncio.run_coroutine_threadsafe(self.batcher.start(), self._loop).result()
            _open.add(self)

    def close(self) -> None:
        """Stop the background batcher of an in-process verifier (queued calls get the fallback). Run at
        interpreter exit for every scorer still open, so its event loop does not end with a pending task."""
        if self.batcher is None or self._loop.is_closed() or not self._loop.is_running():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.batcher.stop(), self._loop).result(5)
        except Exception:  # a loop already gone at exit: nothing left to stop
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def _submit(self, items: Sequence[tuple[str, str]], prompt_format: str) -> concurrent.futures.Future:
        pairs = [self.verifier.solve_prompt(q, prompt_format) for q, _ in items]
        assert self.batcher is not None
        return asyncio.run_coroutine_threadsafe(
            self.batcher.submit([(p, s) for p, (_, s) in zip(pairs, items)]), self._loop
        )

    def _failed(self, error: BaseException, n: int) -> None:
        """Count and log a failed call (its items get the fallback); a setup error is raised instead."""
        if isinstance(error, (TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError)):
            self._count("timeouts")
            self._warn(f"no answer within {self.timeout_s:g} s", n)
        elif isinstance(error, SetupError):
            raise error
        else:
            self._count("failures")
            self._warn(f"{type(error).__name__}: {str(error)[:300]}", n)

    def _check(self, out: list, n: int) -> list | None:
        if len(out) != n:
            self._count("failures")
            self._warn(f"{len(out)} results for {n} items", n)
            return None
        return out

    async def ascore(self, items: Sequence[tuple[str, str]], prompt_format: str = "question") -> list | None:
        """`score` for a coroutine: awaits the batched model call (a thread, for a remote verifier) without
        blocking the caller's event loop."""
        if self.batcher is None or not items:
            return await asyncio.to_thread(self.score, items, prompt_format)
        self._count("calls")
        self._count("items", len(items))
        fut = None
        try:
            fut = self._submit(items, prompt_format)
            out = await asyncio.wait_for(asyncio.wrap_future(fut), self.timeout_s)
        except Exception as e:  # (a cancelled caller propagates: CancelledError is no Exception)
            self._failed(e, len(items))
            return None
        finally:
            if fut is not None:
                fut.cancel()  # withdrawn from the queue if it has not run yet
        return self._check(out, len(items))

    def score(self, items: Sequence[tuple[str, str]], prompt_format: str = "question") -> list | None:
        if self.batcher is not None and items:
            self._count("calls")
            self._count("items", len(items))
            fut = None
            try:
                fut = self._submit(items, prompt_format)
                out = fut.result(self.timeout_s)
            except Exception as e:
                self._failed(e, len(items))
                return None
            finally:
                if fut is not None:
                    fut.cancel()
            return self._check(out, len(items))
        self._count("calls")
        self._count("items", len(items))
        if not items:
            return []
        if self._busy is not None and self._busy.is_alive():
            self._count("busy")
            self._warn("the verifier is still running a call that timed out", len(items))
            return None
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["out"] = self.verifier.score(list(items), prompt_format=prompt_format)
            except Exception as e:  # any failure becomes the fallback
                box["error"] = e

        thread = threading.Thread(target=work, name=f"{self.name}-reward", daemon=True)
        start = time.monotonic()
        thread.start()
        thread.join(self.timeout_s)
        if thread.is_alive():
            self._busy = thread
            self._failed(TimeoutError(), len(items))
            return None
        if "error" in box:
            self._failed(box["error"], len(items))
            return None
        log.debug("%s: %d items scored in %.2f s", self.name, len(items), time.monotonic() - start)
        return self._check(box["out"], len(items))

    def fallback(self, why: str, n: int, counted: bool = True) -> None:
        """Log at WARNING that `n` item(s) get the fallback, with the running counts (items that got it so far
        out of all items); `counted=False` for items the hook withheld from `score` (they are added to items)."""
        if not counted:
            self._count("items", n)
        self._warn(why, n)

    def _warn(self, why: str, n: int) -> None:
        self._count("fallbacks", n)
        s = self.stats
        log.warning(
            "%s reward: %s; %d item(s) get the fallback (%d of %d items so far; calls %d, timeouts %d, "
            "failures %d, busy %d)",
            self.name,
            why,
            n,
            s["fallbacks"],
            s["items"],
            s["calls"],
            s["timeouts"],
            s["failures"],
            s["busy"],
        )
