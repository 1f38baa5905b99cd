"""`genrm serve` over real HTTP on loopback, with the micro run's trained verifiers."""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from by_hand import direct_p_yes
from conftest import serving, spawn_server
from genrm.serving.reward import RewardModel
from genrm.serving.server import ServeLimits, create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UNICODE = [
    ("ünïcödé wörds", " naïve -> e. Answer: e"),
    ("日本語 の 質問", " 答え -> え. Answer: え"),
    ("emoji 🚀🧪", " 🚀 -> 🚀, 🧪 -> 🧪. Answer: 🚀🧪"),
    ("עברית right-to-left", " שלום -> ם. Answer: ם"),
    ("combining e\u0301 and nul \x00", " tab\t and\nnewline. Answer: x\u200b"),
]


@pytest.fixture(scope="module")
def cli_server(micro_run):
    """`python -m genrm serve RUN --method genrm` with a token and small limits, in its own process."""
    args = ["-m", "genrm", "serve", str(micro_run[0].path), "--method", "genrm", "--port", "0"]
    args += ["--api-key", TOKEN, "--max-items", "16", "--max-chars", "2000", "--max-body-bytes", "100000"]
    proc, url = spawn_server(args, ready="/health")
    yield url
    proc.terminate()
    proc.wait(10)


def post_items(url, items, **extra):
    body = {"items": [{"question": q, "solution": s} for q, s in items], **extra}
    return httpx.post(f"{url}/score", json=body, headers=AUTH, timeout=60)


def test_scores_equal_the_in_process_verifier(cli_server, micro_run, genrm_reward, run_items):
    run, _ = micro_run
    expected = [r[0] for r in genrm_reward.score(run_items)]
    got = []
    for i in range(0, len(run_items), 16):
        r = post_items(cli_server, run_items[i : i + 16])
        assert r.status_code == 200, r.text
        got += r.json()["scores"]
    assert got == pytest.approx(expected, abs=1e-4)
    assert len(set(round(x, 4) for x in expected)) > 1  # a real verifier: not one constant
    # OpenRLHF's protocol: the query is the prompt + the response
    prompts = [run.task.prompt_template.format(question=q) for q, _ in run_items[:16]]
    queries = [p + s for p, (_, s) in zip(prompts, run_items[:16])]
    body = {"query": queries, "prompts": prompts, "labels": ["unused"] * 16}
    r = httpx.post(f"{cli_server}/get_reward", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["rewards"] == pytest.approx(expected[:16], abs=1e-4) and out["scores"] == out["rewards"]
    assert out["extra_logs"]["genrm_score"] == out["rewards"]
    # without prompts the query is read as it is: the same text reaches the verifier
    r = httpx.post(f"{cli_server}/get_reward", json={"query": queries}, headers=AUTH)
    assert r.json()["rewards"] == pytest.approx(expected[:16], abs=1e-4)
    # an end-of-text token a decoded rollout ends with is not read as part of the solution
    eos = genrm_reward.verifier.engine.tokenizer.eos_token
    r = httpx.post(f"{cli_server}/get_reward", json={"query": [queries[0] + eos], "prompts": prompts[:1]}, headers=AUTH)
    assert r.json()["rewards"][0] == pytest.approx(expected[0], abs=1e-4)
    # a question in the verifier's own prompt format is recognised by prompt_format=auto
    r = post_items(cli_server, [(prompts[0], run_items[0][1])], prompt_format="auto")
    assert r.json()["scores"][0] == pytest.approx(expected[0], abs=1e-4)


def test_auth(cli_server):
    one = {"items": [{"question": "a b", "solution": " a -> a. Answer: a"}]}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        r = httpx.post(f"{cli_server}/score", json=one, headers=headers)
        assert r.status_code == 401 and "Bearer" in r.json()["detail"], (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(f"{cli_server}/get_reward", json={"query": ["x"]})
    assert r.status_code == 401
    health = httpx.get(f"{cli_server}/health").json()  # open, for load balancers
    assert health["status"] == "ok" and health["auth"] is True and health["method"] == "genrm"
    paths = httpx.get(f"{cli_server}/openapi.json").json()["paths"]
    assert {"/score", "/get_reward", "/health"} <= set(paths)


def test_limits(cli_server):
    r = post_items(cli_server, [("a", "b")] * 17)
    assert r.status_code == 413 and "17 items" in r.json()["detail"] and "16" in r.json()["detail"]
    r = post_items(cli_server, [("a", "b"), ("q" * 1000, "s" * 1001)])
    assert r.status_code == 413 and "items[1]" in r.json()["detail"] and "2000" in r.json()["detail"]
    r = httpx.post(f"{cli_server}/get_reward", json={"query": ["x" * 2001]}, headers=AUTH)
    assert r.status_code == 413 and "query[0]" in r.json()["detail"]
    huge = b'{"items": [{"question": "' + b"x" * 300_000 + b'", "solution": "y"}]}'
    r = httpx.post(f"{cli_server}/score", content=huge, headers=AUTH)
    assert r.status_code == 413 and "100000 bytes" in r.json()["detail"]

    def chunks():  # no content-length: the limit holds while the body streams in
        for _ in range(30):
            yield b"x" * 10_000

    r = httpx.post(f"{cli_server}/score", content=chunks(), headers=AUTH)
    assert r.status_code == 413
    assert httpx.get(f"{cli_server}/health").json()["status"] == "ok"  # and the server is fine


@pytest.mark.parametrize(
    "body, status, words",
    [
        (b'{"items": [', 400, "not valid JSON"),
        (b"", 400, "no body"),
        (b"[1, 2]", 422, "body"),
        (b'{"items": {"question": "a"}}', 422, "items"),
        (b'{"items": [{"question": 1, "solution": "b"}]}', 422, "items.0.question"),
        (b'{"items": [{"question": "a"}]}', 422, "items.0.solution: Field required"),
        (b'{"items": [], "return_votes": "yes"}', 422, "return_votes"),
        (b'{"items": [], "prompt_format": "raw"}', 422, "prompt_format"),
        (b'{"items": [], "return_vote": true}', 422, "return_vote: Extra inputs"),
    ],
)
def test_bad_requests_get_clear_4xx(cli_server, body, status, words):
    r = httpx.post(f"{cli_server}/score", content=body, headers=AUTH)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_empty_and_mismatched_reward_requests(cli_server):
    assert post_items(cli_server, []).json() == {"scores": [], "method": "genrm"}
    r = httpx.post(f"{cli_server}/get_reward", json={"query": [], "prompts": [], "labels": []}, headers=AUTH)
    assert r.status_code == 200 and r.json()["rewards"] == []
    r = httpx.post(f"{cli_server}/get_reward", json={"query": ["a", "b"], "prompts": ["a"]}, headers=AUTH)
    assert r.status_code == 422 and "2 queries but 1 prompts" in r.json()["detail"]
    r = httpx.post(f"{cli_server}/get_reward", json={"query": ["abc"], "prompts": ["zz"]}, headers=AUTH)
    assert r.status_code == 422 and "query[0] does not contain prompts[0]" in r.json()["detail"]
    r = httpx.post(f"{cli_server}/get_reward", json={"query": "abc"}, headers=AUTH)
    assert r.status_code == 422 and "query" in r.json()["detail"]


def test_unicode(cli_server, genrm_reward):
    r = post_items(cli_server, UNICODE)
    assert r.status_code == 200, r.text
    assert r.json()["scores"] == pytest.approx([x[0] for x in genrm_reward.score(UNICODE)], abs=1e-4)


def test_concurrent_clients_are_batched_and_answered_right(cli_server, genrm_reward, run_items):
    expected = dict(zip(run_items, (r[0] for r in genrm_reward.score(run_items))))
    before = httpx.get(f"{cli_server}/health").json()["stats"]

    def client(c):
        wrong = 0
        for j in range(8):
            part = [run_items[(c * 7 + j * 3 + k) % len(run_items)] for k in range(1 + (c + j) % 3)]
            r = post_items(cli_server, part)
            wrong += r.status_code != 200 or any(
                abs(s - expected[it]) > 1e-4 for s, it in zip(r.json()["scores"], part)
            )
        return wrong

    with ThreadPoolExecutor(24) as ex:
        assert sum(ex.map(client, range(24))) == 0
    after = httpx.get(f"{cli_server}/health").json()["stats"]
    # (that requests arriving together share one model call is shown without timing in test_failures.py)
    assert after["requests"] - before["requests"] == 24 * 8


def test_refuses_to_bind_beyond_loopback_without_a_token(micro_run):
    cmd = [sys.executable, "-m", "genrm", "serve", str(micro_run[0].path), "--host", "0.0.0.0"]
    env = {k: v for k, v in os.environ.items() if k != "GENRM_SERVE_API_KEY"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "--api-key" in r.stdout + r.stderr


def test_cot_votes_and_orm_over_http(micro_run, run_items):
    """GenRM-CoT returns K votes and rationales on request (greedy: comparable); the ORM serves too."""
    run, _ = micro_run
    cot = RewardModel.load(run.path, "genrm_cot", temperature=0.0)
    expected = cot.score(run_items[:6])
    with serving(create_app(cot)) as url:
        r = httpx.post(
            f"{url}/score",
            json={"items": [{"question": q, "solution": s} for q, s in run_items[:6]], "return_votes": True},
        )
        plain = httpx.post(f"{url}/score", json={"items": [{"question": run_items[0][0], "solution": run_items[0][1]}]})
    assert r.status_code == 200, r.text
    body = r.json()
    k = run.config.k_votes
    assert body["method"] == "genrm_cot" and all(len(v) == k for v in body["votes"])
    assert all(len(rs) == k and all(isinstance(x, str) for x in rs) for rs in body["rationales"])
    assert body["rationales"] == [e[2] for e in expected]
    assert body["scores"] == pytest.approx([e[0] for e in expected], abs=1e-4)
    assert body["scores"] == pytest.approx([sum(v) / k for v in body["votes"]])
    assert "votes" not in plain.json()  # only on request
    orm = RewardModel.load(run.file("models", "orm"))  # a verifier folder inside a run: its method is its name
    assert orm.method == "orm"
    with serving(create_app(orm)) as url:
        r = httpx.post(f"{url}/score", json={"items": [{"question": q, "solution": s} for q, s in run_items[:8]]})
    assert r.json()["scores"] == pytest.approx([x[0] for x in orm.score(run_items[:8])], abs=1e-4)


def test_full_queue_answers_429_and_recovers(genrm_reward, run_items):
    """With the model busy (its lock held here), requests queue up to the bound; beyond it: 429."""
    app = create_app(genrm_reward, ServeLimits(max_items=4, max_queue_items=4, max_wait_ms=0))
    batcher = app.state.batcher
    four = {"items": [{"question": q, "solution": s} for q, s in run_items[:4]]}
    with serving(app) as url, ThreadPoolExecutor(2) as ex:
        genrm_reward._lock.acquire()
        try:
            first = ex.submit(httpx.post, f"{url}/score", json=four, timeout=60)
            deadline = time.time() + 30
            while batcher.stats["requests"] < 1 or batcher.jobs:  # the worker took it and waits for the model
                assert time.time() < deadline, "the first request never reached the worker"
                time.sleep(0.01)
            second = ex.submit(httpx.post, f"{url}/score", json=four, timeout=60)
            while batcher.queued_items < 4:  # queued behind it: the queue is now full
                assert time.time() < deadline, "the second request was never queued"
                time.sleep(0.01)
            r = httpx.post(f"{url}/score", json=four)
            assert r.status_code == 429 and r.headers["retry-after"] == "1" and "busy" in r.json()["detail"]
            assert httpx.get(f"{url}/health").json()["stats"]["rejected"] == 1
        finally:
            genrm_reward._lock.release()
        assert first.result().status_code == 200 and second.result().status_code == 200
        assert httpx.post(f"{url}/score", json=four).status_code == 200  # and it serves again


def test_batcher_isolates_a_failing_request():
    """One request the scoring function rejects fails alone, not the requests batched with it."""
    import asyncio

    from genrm.core.errors import GenrmError
    from genrm.serving.batcher import DynamicBatcher

    calls = []

    def lengths(items):
        calls.append(len(items))
        if "bad" in items:
            raise GenrmError("cannot score 'bad'")
        return [len(x) for x in items]

    async def go():
        batcher = DynamicBatcher(lengths, max_batch_items=64, max_wait_s=0.05, max_queue_items=100)
        await batcher.start()
        jobs = [["a", "bb"], ["bad"], ["cccc"]]
        gathered = asyncio.gather(*(batcher.submit(j) for j in jobs), return_exceptions=True)
        out = await asyncio.wait_for(gathered, 60)  # a request left unanswered fails the test, never hangs it
        await batcher.stop()
        return out, batcher.stats

    (first, bad, third), stats = asyncio.run(go())
    assert first == [1, 2] and third == [4] and isinstance(bad, GenrmError)
    assert calls == [4, 2, 1, 1] and stats["errors"] == 1 and stats["batches"] == 2


def test_served_and_hook_rewards_equal_p_yes_from_the_logits(cli_server, micro_run, run_items):
    """The reward a client gets is p(Yes) of the trained GenRM, worked out independently: a swapped Yes/No,
    a wrong prompt or a mixed-up item order in the server or the hooks shows here."""
    from genrm.integrations.openrlhf import make_reward_func
    from genrm.integrations.trl import GRPOReward
    from genrm.integrations.verl import VerlReward

    run, _ = micro_run
    items = run_items[:8]
    expected = direct_p_yes(run.file("models", "genrm"), items)
    # the micro GenRM is barely trained (p(Yes) ~ 2e-3): compare relatively, within the rounding of the bf16
    # autocast genrm scores with on CPU (about 1%), and make sure the mistakes this test is for would show
    # (p(No) is not p(Yes); the items do not all get one score)
    approx = lambda xs: pytest.approx(xs, rel=2e-2)  # noqa: E731
    assert direct_p_yes(run.file("models", "genrm"), items, " No") != approx(expected)
    assert max(expected) / min(expected) > 1.05
    r = post_items(cli_server, items)
    assert r.json()["scores"] == approx(expected)
    prompts = [f"Q: last letters of {q}\nA:" for q, _ in items]
    body = {"query": [p + s for p, (_, s) in zip(prompts, items)], "prompts": prompts}
    assert httpx.post(f"{cli_server}/get_reward", json=body, headers=AUTH).json()["rewards"] == approx(expected)
    reward_model = RewardModel.load(run.path, "genrm")
    assert GRPOReward(reward_model)(prompts, [s for _, s in items]) == approx(expected)
    verl = VerlReward(reward_model)
    got = [verl.compute_score("d", s, None, {"question": q})["score"] for q, s in items]
    assert got == approx(expected)
    rewards = make_reward_func(reward_model)(body["query"], prompts, None)["rewards"].tolist()
    assert rewards == approx(expected)
