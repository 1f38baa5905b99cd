"""Property-based test of `genrm serve` (Hypothesis): arbitrary JSON bodies, raw bytes and headers on `/score`
and `/get_reward` get 2xx or 4xx, never 5xx, and the server keeps answering."""

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import serving
from genrm.serving.server import ServeLimits, create_app

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
ITEM = st.fixed_dictionaries(
    {"question": st.text(max_size=60) | JSON, "solution": st.text(max_size=60) | JSON},
    optional={"extra": JSON},
)
# bodies near the real schemas (so validation is passed often and the model is reached), and anything at all
SCORE = st.fixed_dictionaries(
    {"items": st.lists(ITEM, max_size=5) | JSON},
    optional={"prompt_format": st.sampled_from(["question", "verbatim", "auto", "bogus"]) | JSON, "return_votes": JSON},
)
REWARD = st.fixed_dictionaries(
    {"query": st.lists(st.text(max_size=80), max_size=4) | JSON},
    optional={"prompts": st.lists(st.text(max_size=40), max_size=4) | JSON, "labels": JSON},
)
BODY = st.one_of(SCORE.map(json.dumps), REWARD.map(json.dumps), JSON.map(json.dumps), st.binary(max_size=200))
# printable ASCII without spaces at either end: what an HTTP client can send at all
HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(str.strip)
HEADER_NAMES = st.sampled_from(["content-type", "authorization", "accept", "content-encoding", "x-anything"])
HEADERS = st.dictionaries(HEADER_NAMES, HEADER_VALUE, max_size=3)


def test_any_request_gets_2xx_or_4xx_and_the_server_still_answers_after(genrm_reward, run_items):
    with serving(create_app(genrm_reward, ServeLimits(max_items=8, max_chars=4000))) as url:

        @settings(max_examples=150, deadline=None)
        @given(path=st.sampled_from(["/score", "/get_reward"]), body=BODY, headers=HEADERS)
        def any_request(path, body, headers):
            r = httpx.post(url + path, content=body, headers=headers, timeout=60)
            assert r.status_code < 500, (r.status_code, r.text[:300])
            if r.status_code >= 400:
                assert "detail" in r.json()  # a JSON error that says what was wrong

        any_request()
        assert httpx.get(url + "/health").status_code == 200
        r = httpx.post(url + "/score", json={"items": [{"question": q, "solution": s} for q, s in run_items[:2]]})
        assert r.status_code == 200 and len(r.json()["scores"]) == 2
