"""Any OpenAI-compatible HTTP server (`/v1/completions` with logprobs) as an engine.

For big teacher or judge models served by vLLM (`vllm serve`), llama.cpp's server, SGLang, TGI
and the like. Prompts are sent as raw text (the server's completions endpoint; apply a chat
template to the prompts yourself if the model needs one). Requests run concurrently (`concurrency` in
flight per server) and are retried on connection errors, 429 and 5xx; a server that does not answer fails
fast with its URL.

Several servers of the same model (one `vllm serve` per GPU or node) share the work: give a list of URLs
(`make_engine("http://a:8000,http://b:8000")`). Chunks of prompts go to them in turn, a retry goes to the
next one, and every server must list the model at start-up.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import httpx

from ..core.errors import GenrmError
from ..core.progress import progress_bar
from .text import render


def _v1(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


class OpenAIEngine:
    def __init__(
        self,
        base_url: str | Sequence[str],
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 300.0,
        concurrency: int = 8,
        prompts_per_request: int = 16,
        retries: int = 3,
        top_logprobs: int = 20,
    ):
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.base_urls = [_v1(u) for u in urls if u.strip()]
        if not self.base_urls:
            raise GenrmError("OpenAIEngine needs at least one server URL (http://host:port[/v1])")
        if concurrency < 1:
            raise GenrmError(f"concurrency={concurrency}: requests in flight per server must be >= 1")
        self.base_url = self.base_urls[0]
        api_key = api_key or os.environ.get("GENRM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=timeout, headers=headers)
        self.concurrency, self.per_request, self.retries = concurrency, prompts_per_request, retries
        self.top_logprobs = top_logprobs
        self.model = model or self._first_model()
        if len(self.base_urls) > 1:
            self._check_servers()

    def _post(self, path: str, body: dict | None = None, server: int = 0, rotate: bool = True) -> dict:
        for attempt in range(self.retries + 1):
            at = (server + attempt * rotate) % len(self.base_urls)  # a retry tries the next server
            url = f"{self.base_urls[at]}{path}"
            try:
                r = self.client.post(url, json=body) if body is not None else self.client.get(url)
            except httpx.TransportError as e:
                if attempt == self.retries:
                    raise GenrmError(f"no answer from {url} ({type(e).__name__}: {e}); is the server running?") from e
            else:
                if r.status_code == 200:
                    return r.json()
                if r.status_code not in (429, 500, 502, 503, 504) or attempt == self.retries:
                    raise GenrmError(f"{url} answered {r.status_code}: {r.text[:300]}")
            time.sleep(min(2**attempt, 10))
        raise AssertionError("unreachable")

    def _first_model(self) -> str:
        data = self._post("/models").get("data") or []
        if not data:
            raise GenrmError(f"{self.base_url}/models lists no model; pass the model name")
        return data[0]["id"]

    def _check_servers(self) -> None:
        """Every server serves the model (else the same prompt would get answers of different models)."""
        for i, url in enumerate(self.base_urls):
            served = [m["id"] for m in self._post("/models", server=i, rotate=False).get("data") or []]
            if self.model not in served:
                raise GenrmError(
                    f"{url} does not serve {self.model} (it lists {', '.join(served) or 'nothing'}); give URLs of "
                    "servers of one model, or name it with #MODEL"
                )

    def _map(self, fn, prompts: Sequence[str], description: str | None):
        """Apply `fn(prompts, server)` to chunks of prompts concurrently, the chunks spread over the servers in
        turn; results in prompt order."""
        step = self.per_request
        chunks = [list(range(i, min(i + step, len(prompts)))) for i in range(0, len(prompts), step)]
        out: list = [None] * len(prompts)
        workers = self.concurrency * len(self.base_urls)
        with progress_bar(description, len(prompts)) as (bar, tid), ThreadPoolExecutor(workers) as pool:
            calls = pool.map(lambda c: fn([prompts[i] for i in chunks[c]], c % len(self.base_urls)), range(len(chunks)))
            for idx, res in zip(chunks, calls):
                for i, r in zip(idx, res):
                    out[i] = r
                bar.advance(tid, len(idx))
        return out

    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] = (),
        description: str | None = None,
        prefixes: Sequence[str] | None = None,
    ) -> list[list[str]]:
        texts = render(None, prompts, prefixes, chat=False)

        def call(batch: list[str], server: int) -> list[list[str]]:
            body = {"model": self.model, "prompt": batch, "n": n, "max_tokens": max_new_tokens}
            body.update({"temperature": temperature, "seed": seed})
            if stop:
                body["stop"] = list(stop)
            choices = sorted(self._post("/completions", body, server)["choices"], key=lambda c: c["index"])
            if len(choices) != len(batch) * n:
                raise GenrmError(f"{self.base_url} returned {len(choices)} choices for {len(batch)} prompts x n={n}")
            return [[c["text"] for c in choices[i * n : (i + 1) * n]] for i in range(len(batch))]

        return self._map(call, texts, description)

    def choice_probs(
        self, prompts: Sequence[str], choices: Sequence[str] = (" Yes", " No"), description=None, prefixes=None
    ) -> list[list[float]]:
        """p(choice) from the top log-probabilities of one greedy token (a choice not listed: 0)."""
        texts = render(None, prompts, prefixes, chat=False)

        def call(batch: list[str], server: int) -> list[list[float]]:
            body = {"model": self.model, "prompt": batch, "max_tokens": 1, "temperature": 0.0}
            body["logprobs"] = self.top_logprobs
            res = sorted(self._post("/completions", body, server)["choices"], key=lambda c: c["index"])
            out = []
            for c in res:
                top = ((c.get("logprobs") or {}).get("top_logprobs") or [None])[0]
                if top is None:
                    raise GenrmError(f"{self.base_url} returned no top_logprobs; the server must support `logprobs`")
                out.append([math.exp(top[ch]) if ch in top else 0.0 for ch in choices])
            return out

        return self._map(call, texts, description)
