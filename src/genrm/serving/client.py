"""A client of `genrm serve` with `RewardModel`'s `score` interface, so the RL hooks can run against
a verifier served on another machine (or GPU) exactly as against one in their own process."""

from __future__ import annotations

import os
import time
from typing import Any, Sequence

import httpx

from ..core.errors import GenrmError, SetupError
from ..core.types import Result


class RemoteRewardModel:
    """Scores through `POST /score`; splits big batches to the server's item limit, retries 429/503 and
    dropped connections. `timeout` bounds each request; `call_timeout` (None: no bound) bounds a whole
    `score` call, retries and waits included, after which it raises `GenrmError`."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = 600.0,
        retries: int = 8,
        call_timeout: float | None = None,
    ):
        self.url = url.rstrip("/")
        self.timeout, self.call_timeout = timeout, call_timeout
        self.api_key = api_key or os.environ.get("GENRM_SERVE_API_KEY") or None
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self.retries = retries
        try:
            health = self.http.get("/health", timeout=10).json()
        except (httpx.HTTPError, ValueError) as e:
            raise GenrmError(f"no genrm server answers at {self.url} ({e}); start one with `genrm serve`") from e
        self.method, self.name = health.get("method", "?"), health.get("model", self.url)
        limits = health.get("limits", {})
        self.max_items = int(limits.get("max_items", 64))
        self.max_chars = limits.get("max_chars")

    def score(
        self, items: Sequence[tuple[str, str]], prompt_format: str = "question", return_votes: bool | None = None
    ) -> list[Result]:
        """Results as `RewardModel.score` gives them; with GenRM-CoT or the judge (or `return_votes`) with their
        votes and rationales, so `Result.steps` and the hooks' vote logs work as in process."""
        if return_votes is None:
            return_votes = self.method in ("genrm_cot", "judge")
        out: list[Result] = []
        end = None if self.call_timeout is None else time.monotonic() + self.call_timeout
        for i in range(0, len(items), self.max_items):
            chunk = [{"question": q, "solution": s} for q, s in items[i : i + self.max_items]]
            payload = {"items": chunk, "prompt_format": prompt_format, "return_votes": return_votes}
            body = self._post("/score", payload, end)
            votes = body.get("votes") or [[] for _ in chunk]
            rationales = body.get("rationales") or [[] for _ in chunk]
            out.extend(Result(*r) for r in zip(body["scores"], votes, rationales))
        return out

    def _post(self, path: str, payload: dict[str, Any], end: float | None = None) -> dict[str, Any]:
        """POST with retries on 429/503 (after Retry-After) and on dropped connections, until `end` (monotonic)."""

        def left() -> float:
            if end is None:
                return self.timeout
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise GenrmError(f"{self.url}{path}: no answer within call_timeout={self.call_timeout:g} s")
            return min(self.timeout, remaining)

        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                r = self.http.post(path, json=payload, timeout=left())
            except httpx.TransportError as e:
                if last:
                    raise GenrmError(f"{self.url}{path} did not answer after {attempt + 1} tries: {e}") from e
                time.sleep(min(0.5 * 2**attempt, left()))
                continue
            if r.status_code in (429, 503) and not last:
                time.sleep(min(float(r.headers.get("Retry-After", 0.5 * 2**attempt)), left()))
                continue
            if r.status_code != 200:
                try:
                    detail = r.json()["detail"]
                except (ValueError, KeyError, TypeError):
                    detail = r.text[:500]
                error = SetupError if r.status_code in (401, 403, 404) else GenrmError  # every call would fail
                raise error(f"{self.url}{path} answered {r.status_code}: {detail}")
            body: dict[str, Any] = r.json()
            return body
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.http.close()
