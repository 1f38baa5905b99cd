"""Load test of `genrm serve` on loopback: many concurrent clients, every answer checked.

Starts `genrm serve` in a subprocess on a free loopback port (with a token), computes the expected
score of every item in this process with the same verifier, then sends `--requests` requests from
`--clients` concurrent clients (1-4 items each; a fifth of them through OpenRLHF's /get_reward),
and checks each answer against the expected scores. It stops by itself: after the last request
or at `--max-seconds`, whichever comes first. Prints throughput, latency percentiles, the counts
of lost (no 200 answer) and wrong (a score off by more than 1e-4) responses, and one JSON line.

    python bench/serve_load.py                          # a built-in tiny verifier (untrained weights)
    python bench/serve_load.py --run RUN --method genrm # a trained one, on that run's test candidates
    python bench/serve_load.py --max-batch-items 1      # the same without dynamic batching
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TOKEN = "load-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pool(args, workdir: Path) -> tuple[str, str | None, list[tuple[str, str]]]:
    """The verifier (source, task) and the (question, solution) items requests are drawn from."""
    from genrm.tasks import get_task

    if args.run:
        from genrm.data.candidates import load_candidates
        from genrm.pipeline import Run

        run = Run(args.run)
        problems = run.problems("test")
        cands = load_candidates(run.file("candidates", "test.jsonl"), problems)
        items = [(p.question, c.text) for p in problems for c in cands[p.id]]
        return args.run, None, items[: args.pool]
    from genrm.models.model import build_tiny_model

    model, tok = build_tiny_model("tiny", seed=0)
    model.save_pretrained(workdir / "verifier")
    tok.save_pretrained(workdir / "verifier")
    task = get_task("last_letter")
    items = []
    for p in task.make_problems(args.pool // 2, [2, 3, 4], seed=1):
        right = task.reference_solution(p)
        items += [(p.question, right), (p.question, right[:-1] + ("x" if right[-1] != "x" else "y"))]
    return str(workdir / "verifier"), "last_letter", items


async def main(args) -> dict:
    from genrm.serving.reward import RewardModel

    workdir = Path(tempfile.mkdtemp(prefix="genrm-load-"))
    source, task, items = pool(args, workdir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(workdir / "server.log", "w")
    cmd = [sys.executable, "-m", "genrm", "serve", source, "--method", args.method, "--port", str(port)]
    cmd += ["--api-key", TOKEN, "--max-batch-items", str(args.max_batch_items)] + (["--task", task] if task else [])
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GENRM_QUIET": "1"})
    try:
        print(f"expected scores of {len(items)} items, in process ...", flush=True)
        local = RewardModel.load(source, args.method, task=task)
        expected = dict(zip(items, (r[0] for r in local.score(items))))
        template = local.prompt_template
        del local
        async with httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            for _ in range(1200):
                try:
                    if (await http.get(f"{url}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
                if server.poll() is not None:
                    raise SystemExit(f"the server exited: see {workdir / 'server.log'}")
            print(f"server up at {url}; {args.requests} requests from {args.clients} clients ...", flush=True)
            stats = await load(http, url, items, expected, template, args)
            health = (await http.get(f"{url}/health")).json()["stats"]
    finally:
        server.terminate()
        server.wait(30)
    stats["server_batches"] = health["batches"]
    stats["mean_items_per_model_call"] = round(health["items"] / max(1, health["batches"]), 2)
    stats["server_rejected_429"] = health["rejected"]
    stats["model_busy_share"] = round(health["model_seconds"] / stats["seconds"], 3)  # of the load's wall time
    return stats


async def load(http, url, items, expected, template, args) -> dict:
    counter = iter(range(args.requests))
    latencies: list[float] = []
    counts = {"ok": 0, "lost": 0, "wrong": 0, "retries": 0, "items": 0, "get_reward": 0}
    deadline = time.monotonic() + args.max_seconds

    async def one(i: int) -> None:
        rng = random.Random(i)
        part = [rng.choice(items) for _ in range(rng.randint(1, 4))]
        if i % 5 == 4:  # OpenRLHF's protocol: prompt + response in one string
            prompts = [template.format(question=q) for q, _ in part]
            path, body, key = (
                "/get_reward",
                {"query": [p + s for p, (_, s) in zip(prompts, part)], "prompts": prompts},
                "rewards",
            )
        else:
            path, body, key = "/score", {"items": [{"question": q, "solution": s} for q, s in part]}, "scores"
        start = time.perf_counter()
        for attempt in range(6):
            try:
                r = await http.post(url + path, json=body)
            except httpx.HTTPError:
                r = None
            if r is not None and r.status_code == 200:
                break
            if attempt < 5 and (r is None or r.status_code in (429, 503)):
                counts["retries"] += 1
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            counts["lost"] += 1
            return
        latencies.append(time.perf_counter() - start)
        got = r.json().get(key, [])
        counts["ok"] += 1
        counts["items"] += len(part)
        counts["get_reward"] += path == "/get_reward"
        if len(got) != len(part) or any(abs(g - expected[it]) > 1e-4 for g, it in zip(got, part)):
            counts["wrong"] += 1

    async def client() -> None:
        for i in counter:
            if time.monotonic() > deadline:
                return
            await one(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(args.clients)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    sent = counts["ok"] + counts["lost"]

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2) if latencies else 0.0

    return {
        "requests": args.requests,
        "sent": sent,
        "not_sent": args.requests - sent,
        "clients": args.clients,
        "max_batch_items": args.max_batch_items,
        "ok": counts["ok"],
        "lost": counts["lost"],
        "wrong": counts["wrong"],
        "retries": counts["retries"],
        "get_reward_requests": counts["get_reward"],
        "items": counts["items"],
        "seconds": round(elapsed, 2),
        "requests_per_second": round(counts["ok"] / elapsed, 1),
        "items_per_second": round(counts["items"] / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(1000 * latencies[-1], 2) if latencies else 0.0,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", help="a run folder with a trained verifier (default: a built-in tiny one)")
    ap.add_argument("--method", default="genrm", help="orm, genrm, genrm_cot (with --run) [genrm]")
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--pool", type=int, default=256, help="distinct items requests draw from")
    ap.add_argument(
        "--max-batch-items",
        type=int,
        default=64,
        help="the server's; 1: one request per model call, no dynamic batching",
    )
    ap.add_argument("--max-seconds", type=float, default=900, help="stop sending after this long")
    a = ap.parse_args()
    if a.requests < 1 or a.clients < 1:
        raise SystemExit("--requests and --clients must be >= 1")
    result = asyncio.run(main(a))
    print(
        f"{result['ok']}/{result['requests']} requests answered in {result['seconds']} s from {result['clients']} "
        f"clients: {result['requests_per_second']} req/s, {result['items_per_second']} items/s; latency p50 "
        f"{result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms; lost {result['lost']}, "
        f"wrong {result['wrong']}, not sent {result['not_sent']}, retried {result['retries']}; "
        f"{result['mean_items_per_model_call']} items per model call, model busy {result['model_busy_share']:.0%} "
        "of the time"
    )
    print(json.dumps(result))
    sys.exit(1 if result["lost"] or result["wrong"] or result["not_sent"] else 0)
