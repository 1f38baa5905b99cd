"""The run report: compute accounting (hand-computed case), accuracy-vs-compute in results.json, `genrm plan`,
`genrm report` of several runs, and report.html rendered in a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genrm.analysis.compute import Model, account, plan
from genrm.cli import app
from genrm.core.io import read_jsonl

ARTIFACTS = Path(os.environ.get("GENRM_TEST_ARTIFACTS", Path(__file__).parents[1] / "test-artifacts"))


def test_account_counts_tokens_and_flops_by_hand():
    """One problem, two candidates; 1 token per character; generator 10 params, verifiers 100."""
    chars = Model(lambda texts: [len(t) for t in texts], params=10)
    big = Model(lambda texts: [len(t) for t in texts], params=100)
    scores = {
        "orm": {"p": [{"score": 0.9}, {"score": 0.1}]},
        "genrm_cot": {
            "p": [
                {"score": 0.5, "votes": [1.0, 0.0], "rationales": ["ab", "abcd"]},
                {"score": 0.5, "votes": [0.0, 1.0], "rationales": ["a", "abc"]},
            ]
        },
    }
    out = account(
        ["p"],
        {"p": "QQ"},  # solve prompt: 2 tokens
        {"p": ["xyz", "w"]},  # solutions: 3 and 1 tokens
        {"p": [True, False]},
        {"p": ["a", "b"]},
        scores,
        {"orm": lambda p, s: p + s, "genrm_cot": lambda p, s: p + s + "V"},
        "D",  # decision line: 1 token (+1 for its newline)
        {"generator": chars, "orm": big, "genrm_cot": big},
        {"orm": "ORM", "genrm_cot": "GenRM-CoT"},
    )
    at_n = out["per_problem_at_N"]
    # solutions: prefill 2 + 2, generated 3 + 1
    assert at_n["self-consistency"]["prefill_tokens"] == 4 and at_n["self-consistency"]["generated_tokens"] == 4
    assert at_n["self-consistency"]["flops"] == 2 * 10 * 8
    # ORM reads prompt + solution: 5 + 3 tokens
    assert at_n["ORM"]["tokens"] == 8 + 8 and at_n["ORM"]["flops"] == 2 * (10 * 8 + 100 * 8)
    # GenRM-CoT, K=2, shared prefix: verification prompt once per candidate (6 and 4), 2 decisions of 2 tokens each,
    # rationales 2 + 4 and 1 + 3 generated
    cot = at_n["GenRM-CoT"]
    assert cot["K"] == 2 and cot["prefill_tokens"] == 4 + (6 + 4) + 4 * 2
    assert cot["generated_tokens"] == 4 + (6 + 4)
    assert cot["flops"] == 2 * (10 * 8 + 100 * (18 + 10))
    # at N=1 (expected over the two candidates) and K=1: half of everything, one rationale each
    pt = next(p for p in out["accuracy_vs_compute"] if p["method"] == "GenRM-CoT" and p["N"] == 1 and p["K"] == 1)
    assert pt["tokens"] == pytest.approx((8 + (6 + 4) + 2 * 2 + (2 + 1)) / 2)
    assert pt["accuracy"] == 0.5  # one random candidate: right half the time
    best = next(p for p in out["accuracy_vs_compute"] if p["method"] == "ORM" and p["N"] == 2)
    assert best["accuracy"] == 1.0  # the ORM ranks the right one first
    # naive path: the verification prompt is prefilled once per rationale
    naive = account(
        ["p"],
        {"p": "QQ"},
        {"p": ["xyz", "w"]},
        {"p": [True, False]},
        {"p": ["a", "b"]},
        {"genrm_cot": scores["genrm_cot"]},
        {"genrm_cot": lambda p, s: p + s + "V"},
        "D",
        {"generator": chars, "genrm_cot": big},
        {},
        shared_prefix=False,
    )
    # solve prompts 4; K=2 sampling prefills (6 + 4 each); K=2 decision passes over prompt (6 + 4 each), the
    # rationales (2 + 4 + 1 + 3) and the decision lines (4 x 2)
    assert naive["per_problem_at_N"]["genrm_cot"]["prefill_tokens"] == 4 + 2 * (6 + 4) + 2 * (6 + 4) + 10 + 4 * 2


def test_plan_picks_the_best_point_within_budget():
    pts = [
        {"method": "a", "N": 1, "K": None, "accuracy": 0.4, "flops": 10.0, "tokens": 1},
        {"method": "b", "N": 4, "K": 2, "accuracy": 0.7, "flops": 50.0, "tokens": 5},
        {"method": "c", "N": 8, "K": 4, "accuracy": 0.9, "flops": 200.0, "tokens": 20},
    ]
    assert [p["method"] for p in plan(pts, 60)] == ["b", "a"]
    assert [p["method"] for p in plan(pts, 20, unit="tokens")] == ["c", "b", "a"]
    assert plan(pts, 5) == []


def test_results_have_compute_and_plan_answers(micro_run):
    run, _ = micro_run
    res = json.loads(run.file("results.json").read_text())
    pts = res["compute"]["accuracy_vs_compute"]
    methods = {p["method"] for p in pts}
    assert {"self-consistency", "GenRM-CoT", "ORM", "GenRM", "LLM-as-a-Judge"} <= methods
    assert all(p["flops"] and p["flops"] > 0 and p["tokens"] > 0 for p in pts)  # built-in models: exact counts
    cot = [p for p in pts if p["method"] == "GenRM-CoT"]
    assert len({(p["N"], p["K"]) for p in cot}) == len(cot) > 2
    # the points evaluation already had (SC, each verifier at its full K) are taken from it: the same numbers
    # as computing every point afresh
    from genrm.pipeline import evaluation

    problems = run.problems("test")
    from genrm.data.candidates import load_candidates

    cands = load_candidates(run.file("candidates", "test.jsonl"), problems)
    scores = {
        m: {r["problem_id"]: r["scores"] for r in read_jsonl(run.file("scores", f"{m}.jsonl"))}
        for m in run.config.method_list
    }
    fresh = evaluation.compute_accounting(run, problems, cands, scores)["accuracy_vs_compute"]
    assert len(fresh) == len(pts)
    for a, b in zip(fresh, pts):
        assert (a["method"], a["N"], a["K"]) == (b["method"], b["N"], b["K"])
        assert a["accuracy"] == pytest.approx(b["accuracy"], abs=1e-12) and a["ci95"] == pytest.approx(b["ci95"])
    out = CliRunner().invoke(app, ["plan", str(run.path), "--budget", "1e12"])
    assert out.exit_code == 0, out.output
    assert "best" in out.output and "accuracy" in out.output
    too_small = CliRunner().invoke(app, ["plan", str(run.path), "--budget", "1"])
    assert too_small.exit_code != 0 and "nothing fits" in str(too_small.exception)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_a_real_browser(micro_run, tmp_path):
    """report.html opens from disk in headless Chromium with no console errors; every section is there; the
    problem browser's filters and details work; a screenshot is saved as a test artefact."""
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        if os.environ.get("GENRM_REQUIRE_BROWSER"):
            pytest.fail("GENRM_REQUIRE_BROWSER is set but chromium or playwright is missing (apt-get install chromium)")
        pytest.skip("no chromium / playwright here (`apt-get install chromium`; .ci/run installs it)")
    run, _ = micro_run
    second = tmp_path / "second-run"
    shutil.copytree(run.path, second)
    out = CliRunner().invoke(app, ["report", str(run.path), str(second), "--out", str(tmp_path / "both.html")])
    assert out.exit_code == 0, out.output
    page_file = run.file("report.html")  # written by evaluate
    data = json.loads(page_file.read_text().split('id="report-data">', 1)[1].split("</script>", 1)[0])
    problems = data["runs"][0]["problems"]
    fooled = sum(bool(p["methods"].get("genrm_cot", {}).get("fooled")) for p in problems)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: errors.append(f"network: {r.url}") if not r.url.startswith("file:") else None)
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-ready]")
        for sec in ("best-of-n", "compute", "calibration", "problems", "training", "config"):
            assert page.locator(f"#{sec}-0").is_visible(), sec
            assert page.locator(f"#{sec}-0 svg, #{sec}-0 table").count() > 0, sec
        count = page.locator("#problems-0 .f-count")
        assert count.text_content().startswith(f"{len(problems)} of {len(problems)}")
        page.select_option("#problems-0 .f-method", "genrm_cot")
        page.check("#problems-0 .f-fooled")
        assert count.text_content().startswith(f"{fooled} of {len(problems)}")
        assert page.locator("#problems-0 .plist div").count() == fooled
        page.uncheck("#problems-0 .f-fooled")
        page.click("#problems-0 .plist div >> nth=1")
        detail = page.locator("#problems-0 .pdetail")
        assert problems[1]["id"] in detail.locator("h3").text_content()
        assert detail.locator("tr").count() == len(problems[1]["candidates"]) + 1
        assert detail.locator(".rat").count() > 0 and detail.locator(".pick").count() >= 1
        page.fill("#problems-0 .f-text", "no such question at all")
        assert count.text_content().startswith("0 of")
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        # several runs: the selector switches, the side-by-side table lists both
        page.goto((tmp_path / "both.html").as_uri())
        page.wait_for_selector("body[data-ready]")
        assert page.locator("#side-by-side th").count() == 3
        assert page.locator('.run[data-run="1"]').is_hidden()
        page.select_option("#run-select", "1")
        assert page.locator('.run[data-run="1"]').is_visible() and page.locator('.run[data-run="0"]').is_hidden()
        browser.close()
    assert not errors, errors
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_plan_without_flops_says_to_use_tokens(tmp_path):
    """A run whose model sizes were unknown (a server) has token counts only: `--unit flops` says so."""
    pts = [
        {
            "method": "self-consistency",
            "N": 1,
            "K": None,
            "accuracy": 0.4,
            "ci95": [0.3, 0.5],
            "flops": None,
            "tokens": 10.0,
        }
    ]
    (tmp_path / "results.json").write_text(json.dumps({"compute": {"accuracy_vs_compute": pts}}))
    out = CliRunner().invoke(app, ["plan", str(tmp_path), "--budget", "1e12"])
    assert out.exit_code != 0 and "use --unit tokens" in str(out.exception)
    ok = CliRunner().invoke(app, ["plan", str(tmp_path), "--budget", "20", "--unit", "tokens"])
    assert ok.exit_code == 0 and "self-consistency: N=1" in ok.output
