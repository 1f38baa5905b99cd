"""A deadline and a fallback around every reward call, so a slow or failing verifier never hangs or kills an
RL run (one stuck reward call freezes a whole verl / OpenRLHF / TRL step otherwise).

`GuardedScorer(verifier).score(items, prompt_format)` returns the verifier's results, or `None` when the
call failed or ran past `timeout_s` (default GENRM_REWARD_TIMEOUT, else 300 s); each hook turns `None`
into its framework's fallback: TRL gets `None` per item (it skips them), verl and OpenRLHF get
`fallback_score` (GENRM_REWARD_FALLBACK, else 0.0). Failures are counted (`stats`) and logged as a
warning, never raised, except a `SetupError` (a wrong API token or URL: every call would fail alike).

A call that runs past its deadline keeps its worker thread until it returns (Python cannot stop a
thread); until then later calls get the fallback at once instead of queueing behind it. A verifier
behind `genrm serve` (`RemoteRewardModel`) is also given the deadline, so its retries stop in time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Sequence

from ..errors import SetupError

log = logging.getLogger("genrm.reward")

DEFAULT_TIMEOUT_S = 300.0


def env_timeout() -> float:
    return float(os.environ.get("GENRM_REWARD_TIMEOUT", DEFAULT_TIMEOUT_S))


def fallback_score(given: float | None = None) -> float:
    """The score verl and OpenRLHF get for a failed call: `given`, else GENRM_REWARD_FALLBACK, else 0.0."""
    return float(given) if given is not None else float(os.environ.get("GENRM_REWARD_FALLBACK", 0.0))


class GuardedScorer:
    """`score(items, prompt_format) -> results | None`, within `timeout_s` seconds, never raising."""

    def __init__(self, verifier: Any, timeout_s: float | None = None, name: str = "genrm"):
        self.verifier, self.name = verifier, name
        self.timeout_s = env_timeout() if timeout_s is None else float(timeout_s)
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s={self.timeout_s}: give a positive number of seconds")
        if getattr(verifier, "call_timeout", "absent") is None:  # a RemoteRewardModel: stop retrying in time
            verifier.call_timeout = self.timeout_s
        self.stats = {"calls": 0, "timeouts": 0, "failures": 0, "busy": 0}
        self._busy: threading.Thread | None = None

    def score(self, items: Sequence[tuple[str, str]], prompt_format: str = "question") -> list | None:
        self.stats["calls"] += 1
        if not items:
            return []
        if self._busy is not None and self._busy.is_alive():
            self.stats["busy"] += 1
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
            self.stats["timeouts"] += 1
            self._warn(f"no answer within {self.timeout_s:g} s", len(items))
            return None
        if isinstance(box.get("error"), SetupError):
            raise box["error"]
        if "error" in box:
            self.stats["failures"] += 1
            self._warn(f"{type(box['error']).__name__}: {str(box['error'])[:300]}", len(items))
            return None
        out = box["out"]
        if len(out) != len(items):
            self.stats["failures"] += 1
            self._warn(f"{len(out)} results for {len(items)} items", len(items))
            return None
        log.debug("%s: %d items scored in %.2f s", self.name, len(items), time.monotonic() - start)
        return out

    def _warn(self, why: str, n: int) -> None:
        s = self.stats
        log.warning(
            "%s reward: %s; %d item(s) get the fallback (calls %d, timeouts %d, failures %d, busy %d)",
            self.name, why, n, s["calls"], s["timeouts"], s["failures"], s["busy"],
        )
