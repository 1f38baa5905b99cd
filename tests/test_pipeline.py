"""A micro end-to-end run of every stage on a nano model, resume, and bad-input errors."""

import json

import pytest
from typer.testing import CliRunner

from genrm import pipeline
from genrm.cli import app
from genrm.core.config import preset_config
from genrm.core.errors import GenrmError
from genrm.core.io import read_jsonl
from genrm.data.candidates import sample_candidates
from genrm.engines import TransformersEngine
from genrm.pipeline import runner
from genrm.tasks import get_task


def test_every_stage_writes_its_artefacts(micro_run):
    run, results = micro_run
    for path in [
        "problems/test.jsonl",
        "models/generator/config.json",
        "samples/test.jsonl",
        "candidates/test.jsonl",
        "verifier_data/genrm_cot.jsonl",
        "models/orm/config.json",
        "models/dpo/config.json",
        "verifier_data/dpo.jsonl",
        "models/genrm/config.json",
        "models/genrm_cot/config.json",
        "scores/genrm_cot.jsonl",
        "scores/judge.jsonl",
        "results.json",
        "results.md",
        "best_of_n.png",
        "best_of_n_vs_k.png",
    ]:
        assert run.file(path).exists(), path
    c = run.config
    assert results["N"] == c.n_candidates
    names = set(results["methods"])
    assert {
        "pass@1",
        "self-consistency",
        "ORM",
        "DPO",
        "GenRM",
        "GenRM-CoT",
        "LLM-as-a-Judge",
        "pass@N (oracle)",
    } <= names
    for m in results["methods"].values():
        curve = list(m["best_of_n"].values())
        assert all(0.0 <= v <= 1.0 for v in curve)
    oracle = results["methods"]["pass@N (oracle)"]["best_of_n"]
    for name, m in results["methods"].items():  # no way of picking among the N candidates beats the oracle
        if name != "base model alone (greedy)":  # (the base answers on its own: it may)
            assert all(m["best_of_n"][n] <= oracle[n] + 1e-9 for n in oracle), name
    cot = read_jsonl(run.file("scores", "genrm_cot.jsonl"))[0]["scores"][0]
    assert len(cot["votes"]) == c.k_votes == len(cot["rationales"])
    assert cot["score"] == pytest.approx(sum(cot["votes"]) / c.k_votes)
    rows = read_jsonl(run.file("verifier_data", "genrm.jsonl"))
    verify = [r for r in rows if r.get("kind") != "generate"]
    assert sum(r["label"] for r in verify) * 2 == len(verify)  # balanced classes
    assert any(r.get("kind") == "generate" for r in rows)  # unified training rows


def test_rerun_resumes_without_work(micro_run, tmp_path, monkeypatch):
    """A re-run of a finished run runs no stage: no stage function is called, no marker is rewritten."""
    run, results = micro_run
    markers = {p.name: p.read_text() for p in run.file(".done").iterdir()}
    ran, listed = [], []
    real_stages = runner.stages

    def spy(r):
        listed.extend(m for m, _ in real_stages(r))
        return [(m, lambda m=m, fn=fn: ran.append(m) or fn()) for m, fn in real_stages(r)]

    monkeypatch.setattr(runner, "stages", spy)
    again = pipeline.run_all(pipeline.Run(run.path))
    assert "evaluate" in listed and ran == []  # the spy saw every stage, and none ran
    assert {p.name: p.read_text() for p in run.file(".done").iterdir()} == markers
    assert again["methods"] == json.loads(run.file("results.json").read_text())["methods"]


def test_sampling_resumes_after_interruption(nano, tmp_path):
    model, tok = nano
    task = get_task("last_letter")
    problems = task.make_problems(10, [2], seed=0)
    out = tmp_path / "samples.jsonl"

    class Interrupting(TransformersEngine):
        calls = 0

        def generate(self, *a, **k):
            Interrupting.calls += 1
            if Interrupting.calls == 2:
                raise KeyboardInterrupt
            return super().generate(*a, **k)

    with pytest.raises(KeyboardInterrupt):
        sample_candidates(Interrupting(model, tok), task, problems, out, n=3, chunk=4, max_new_tokens=6)
    first = read_jsonl(out)
    assert len(first) == 4
    with out.open("a") as f:
        f.write('{"problem_id": "torn')  # a write cut short by the crash
    sample_candidates(TransformersEngine(model, tok), task, problems, out, n=3, chunk=4, max_new_tokens=6)
    rows = read_jsonl(out)
    assert [r["problem_id"] for r in rows] == [p.id for p in problems]  # none lost, none twice
    assert rows[:4] == first  # what was computed before the crash is kept
    assert all(len(r["samples"]) == 3 for r in rows)


def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["quickstart", "--task", "last_leter", "--out", str(tmp_path / "x")])
    assert isinstance(r.exception, GenrmError) and "did you mean 'last_letter'" in str(r.exception)
    r = runner.invoke(app, ["evaluate", str(tmp_path / "nowhere")])
    assert isinstance(r.exception, GenrmError) and "missing file" in str(r.exception)


def test_bad_files_name_the_problem(micro_run, tmp_path):
    run, _ = micro_run
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem_id": "a", "candidates": []}\nnot json\n')
    with pytest.raises(GenrmError, match="bad.jsonl:2: malformed JSON"):
        read_jsonl(bad)
    from genrm.data.candidates import load_candidates

    bad.write_text('{"problem_id": "%s", "candidates": []}\n' % run.problems("test")[0].id)
    with pytest.raises(GenrmError, match="no candidates"):
        load_candidates(bad, run.problems("test"))
    with pytest.raises(GenrmError, match="another config"):
        pipeline.Run.create(run.path, preset_config("micro", seed=5))


def test_oracle_rationales_match_labels_of_sampled_candidates(micro_run):
    """On candidates a model really sampled (mostly wrong), every rationale's verdict is the label."""
    run, _ = micro_run
    cands = read_jsonl(run.file("candidates", "verifier_train.jsonl"))
    problems = {p.id: p for p in run.problems("verifier_train")}
    seen = 0
    for row in cands:
        for c in row["candidates"]:
            rationale = run.task.oracle_rationale(problems[row["problem_id"]], c["text"])
            assert rationale.endswith(" Yes" if c["correct"] else " No")
            seen += 1
    assert seen == run.config.n_verifier_train * run.config.n_candidates
    cot_rows = [r for r in read_jsonl(run.file("verifier_data", "genrm_cot.jsonl")) if "label" in r]
    assert all(r["completion"].endswith(" Yes" if r["label"] else " No") for r in cot_rows)


def test_verifier_training_does_not_depend_on_what_ran_before(micro_run, tmp_path):
    """A resumed run equals an unbroken one: the ORM (a new scalar head) is the same whatever the global
    random state left by earlier stages in the process."""
    import shutil

    import torch
    from safetensors.torch import load_file

    src, _ = micro_run
    weights = []
    for disturb in (1, 1000):
        run_dir = tmp_path / f"run{disturb}"
        shutil.copytree(src.path, run_dir)
        torch.rand(disturb)  # what an earlier stage in the same process would have drawn
        pipeline.train_verifier(pipeline.Run(run_dir), "orm")
        weights.append(load_file(str(run_dir / "models" / "orm" / "model.safetensors")))
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_a_chunk_killed_while_being_written_is_done_again_whole(tmp_path):
    """Rows of one chunk come from one `work` call; a kill that left part of a chunk in the file makes the resumed
    run redo the whole chunk (a call on its rest alone would batch and draw differently), not append the rest."""
    import json

    from genrm.core.io import resume_jsonl

    items = list(range(10))
    path = tmp_path / "rows.jsonl"
    row = lambda i, run: {"id": i, "run": run}  # noqa: E731
    # chunk 0 (0-3) complete, chunk 1 (4-7) cut after two rows, the last one torn
    path.write_text("".join(json.dumps(row(i, "first")) + "\n" for i in range(6)) + '{"id": 6, "ru')
    calls = []

    def work(start, part):
        calls.append((start, part))
        return [row(i, "resumed") for i in part]

    rows, written = resume_jsonl(path, items, lambda i: i, lambda r: r["id"], work, chunk=4, description="t")
    assert calls == [(4, [4, 5, 6, 7]), (8, [8, 9])]
    assert written == 6
    on_disk = [json.loads(x) for x in path.read_text().splitlines()]
    assert [r["id"] for r in on_disk] == list(range(10))  # each item once, in order
    assert [r["run"] for r in on_disk] == ["first"] * 4 + ["resumed"] * 6
    assert rows[5] == row(5, "resumed")
