"""How many concurrent rollout queries a `genrm serve` verifier sustains through OpenRLHF's own reward client.

OpenRLHF 0.11.2's rollout actors post one query per request (`SingleTurnAgentExecutor._fetch_rewards_via_http`:
no headers, 180 s total per try, 5 tries 1 s apart, then no reward). This starts `genrm serve RUN --method M`
on loopback with a token (in the URL, as OpenRLHF must send it) and the queue settings the README recommends,
then for each concurrency level fires that many queries at once through OpenRLHF's client code and reports
items/s, the slowest query, and whether every query got its reward within the client's 180 s. One JSON line
at the end.

    python bench/openrlhf_load.py --run RUN --method genrm_cot --levels 16,64,256
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time

import httpx

TOKEN = "load-test-token"
PATIENCE_S = 180.0  # OpenRLHF 0.11.2: aiohttp.ClientTimeout(total=180) per try


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="an evaluated run folder (its test candidates are the queries)")
    ap.add_argument("--method", default="genrm_cot")
    ap.add_argument("--levels", default="16,64,256", help="concurrent queries per round, comma-separated")
    ap.add_argument("--k", type=int, default=None, help="GenRM-CoT votes (default: the run's)")
    ap.add_argument("--max-queue-items", type=int, default=100000)
    ap.add_argument("--max-batch-items", type=int, default=64)
    args = ap.parse_args()

    from openrlhf.utils.agent import SingleTurnAgentExecutor

    from genrm.data.candidates import load_candidates
    from genrm.pipeline import Run

    run = Run(args.run)
    problems = run.problems("test")
    cands = load_candidates(run.file("candidates", "test.jsonl"), problems)
    prompts, queries = [], []
    for p in problems:
        for c in cands[p.id]:
            prompt = run.task.prompt_template.format(question=p.question)
            prompts.append(prompt)
            queries.append(prompt + c.text)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "genrm",
        "serve",
        args.run,
        "--method",
        args.method,
        "--port",
        str(port),
        "--api-key",
        TOKEN,
        "--max-queue-items",
        str(args.max_queue_items),
        "--max-batch-items",
        str(args.max_batch_items),
        *(["--k", str(args.k)] if args.k else []),
    ]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        client = SingleTurnAgentExecutor(f"{url}/get_reward?token={TOKEN}")
        rows = []
        start_at = 0
        for level in [int(x) for x in args.levels.split(",")]:
            qs = [
                (queries[(start_at + i) % len(queries)], prompts[(start_at + i) % len(queries)]) for i in range(level)
            ]
            start_at += level

            async def one(q: str, p: str) -> tuple[float, bool]:
                t = time.monotonic()
                try:
                    got = await client._fetch_rewards_via_http([q], [p], [None])
                    ok = bool(got and got[0] and got[0].get("rewards"))
                except Exception:
                    ok = False
                return time.monotonic() - t, ok

            async def round_() -> list[tuple[float, bool]]:
                return await asyncio.gather(*[one(q, p) for q, p in qs])

            t0 = time.monotonic()
            res = asyncio.run(round_())
            wall = time.monotonic() - t0
            slowest = max(s for s, _ in res)
            row = {
                "concurrent": level,
                "rewarded": sum(ok for _, ok in res),
                "items_per_s": round(level / wall, 2),
                "slowest_s": round(slowest, 1),
                "within_patience": slowest < PATIENCE_S and all(ok for _, ok in res),
            }
            rows.append(row)
            print(
                f"{level:5d} concurrent: {row['rewarded']}/{level} rewarded, {row['items_per_s']} items/s, "
                f"slowest {row['slowest_s']} s, within {PATIENCE_S:.0f} s: {row['within_patience']}",
                flush=True,
            )
        sustained = max((r["concurrent"] for r in rows if r["within_patience"]), default=0)
        print(json.dumps({"run": args.run, "method": args.method, "rounds": rows, "sustained": sustained}))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
