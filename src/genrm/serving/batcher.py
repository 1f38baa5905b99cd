"""Dynamic batching for the reward server: requests that arrive together are scored in one model call.

A single worker thread owns the model; requests queue as jobs, and each time the worker is free it takes the
queued jobs up to `max_batch_items` items (waiting `max_wait_s` for company when alone). The queue is bounded
in items: a job that would overflow it raises `QueueFull` (the server answers 429), and `Unavailable` means
the batcher is shutting down or its worker failed (503)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable


class QueueFull(Exception):
    pass


class Unavailable(Exception):
    pass


class DynamicBatcher:
    """Jobs (lists of items) from many requests -> one `fn(items)` call per batch, on one thread."""

    def __init__(self, fn: Callable[[list], list], max_batch_items: int, max_wait_s: float, max_queue_items: int):
        self.fn, self.max_batch_items, self.max_wait_s = fn, max_batch_items, max_wait_s
        self.max_queue_items = max_queue_items
        self.jobs: deque = deque()  # (items, future, arrival time)
        self.queued_items = 0
        self.stats = {"requests": 0, "items": 0, "batches": 0, "rejected": 0, "errors": 0, "model_seconds": 0.0}
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="genrm-model")
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closed = False

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done() and not self._closed

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._closed = True
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)  # let the cancellation finish
        while self.jobs:
            _, fut, _ = self.jobs.popleft()
            if not fut.done():
                fut.set_exception(Unavailable("the server is shutting down"))
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, items: list) -> list:
        if not self.alive:
            raise Unavailable("the model worker is not running (server starting, failed or shutting down)")
        if not items:
            return []
        if self.queued_items + len(items) > self.max_queue_items:
            self.stats["rejected"] += 1
            raise QueueFull(f"{self.queued_items} items are already waiting (limit {self.max_queue_items})")
        fut = asyncio.get_running_loop().create_future()
        self.jobs.append((items, fut, time.monotonic()))
        self.queued_items += len(items)
        self.stats["requests"] += 1
        assert self._wake is not None  # set by start()
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None  # set by start()
        while True:
            if not self.jobs:
                self._wake.clear()
                await self._wake.wait()
                continue
            # a lone request waits up to max_wait for others to share the batch; a batch that fills starts at once
            while self.queued_items < self.max_batch_items:
                wait = self.jobs[0][2] + self.max_wait_s - time.monotonic()
                if wait <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except asyncio.TimeoutError:
                    break
            batch: list[tuple[list[Any], asyncio.Future[Any]]] = []
            n = 0
            while self.jobs and (not batch or n + len(self.jobs[0][0]) <= self.max_batch_items):
                items, fut, _ = self.jobs.popleft()
                self.queued_items -= len(items)
                if not fut.done():  # a client that went away is not scored
                    batch.append((items, fut))
                    n += len(items)
            if not batch:
                continue
            try:
                await self._score(loop, batch)
            except asyncio.CancelledError:  # shutting down mid-batch: its requests get 503, not silence
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(Unavailable("the server is shutting down"))
                raise

    async def _score(self, loop, batch: list) -> None:
        """One model call for the batch; if it fails, each request alone, so that one bad request
        fails by itself and not the requests it happened to share a batch with."""
        flat = [x for items, _ in batch for x in items]
        start = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self.fn, flat)
        except Exception as e:
            if len(batch) > 1:
                for job in batch:
                    await self._score(loop, [job])
                return
            self.stats["errors"] += 1
            if not batch[0][1].done():
                batch[0][1].set_exception(e)
            return
        self.stats["batches"] += 1
        self.stats["items"] += len(flat)
        self.stats["model_seconds"] = round(self.stats["model_seconds"] + time.perf_counter() - start, 3)
        k = 0
        for items, fut in batch:
            if not fut.done():
                fut.set_result(results[k : k + len(items)])
            k += len(items)
