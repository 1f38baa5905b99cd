"""`genrm sweep`: a micro 2x2 grid (verifier data size x verifier size) that samples its candidates once, shares
them with every point, resumes after an interruption without redoing finished points, and writes sweep.json,
sweep.md, the plots and report.html; the same kind of sweep with its points as tasks on a local Ray instance."""

import json
import os
from pathlib import Path

import pytest

from genrm.core.config import preset_config
from genrm.core.errors import GenrmError

GRID = ["n_verifier_train=12,24", "model=nano,tiny"]


class Interrupted(Exception):
    pass


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def micro_sweep(tmp_path_factory):
    """The 2x2 micro sweep, stopped after its first point and run again; records every sampling call and which
    points each of the two calls ran."""
    from genrm.pipeline import generation
    from genrm.sweep import Sweep, parse_grid, run_sweep

    out = tmp_path_factory.mktemp("sweep") / "sw"
    sampled: list[str] = []
    real_sample = generation.sample_candidates

    def counting(engine, task, problems, path, **kw):
        sampled.append(str(path))
        return real_sample(engine, task, problems, path, **kw)

    first: list[str] = []

    def stop_after_first(folder: Path) -> None:
        first.append(folder.name)
        raise Interrupted

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(generation, "sample_candidates", counting)
        sw = Sweep.create(out, preset_config("micro"), parse_grid(GRID))
        with pytest.raises(Interrupted):
            run_sweep(sw, on_point=stop_after_first)
        done_first = sw.point_dir(sw.points()[0]) / "results.json"
        stamp = done_first.stat().st_mtime_ns
        second: list[str] = []
        summary = run_sweep(
            Sweep.create(out, preset_config("micro"), parse_grid(GRID)), on_point=lambda f: second.append(f.name)
        )
    return {
        "sweep": sw,
        "summary": summary,
        "sampled": sampled,
        "first": first,
        "second": second,
        "stamp": stamp,
        "done_first": done_first,
    }


def test_sweep_samples_candidates_once_and_every_point_gets_them(micro_sweep):
    sw = micro_sweep["sweep"]
    shared = sw.path / "shared"
    # one sampling call per split, both into the shared run, across the interrupted call and the resumed one
    assert sorted(Path(p).relative_to(shared).as_posix() for p in micro_sweep["sampled"]) == [
        "samples/test.jsonl",
        "samples/verifier_train.jsonl",
    ]
    test_rows = _lines(shared / "samples" / "test.jsonl")
    train_problems = _lines(shared / "problems" / "verifier_train.jsonl")
    assert len(train_problems) == 24  # the largest data size
    for values in sw.points():
        point = sw.point_dir(values)
        assert _lines(point / "samples" / "test.jsonl") == test_rows  # the very candidates, on every point
        n = values["n_verifier_train"]
        assert _lines(point / "problems" / "verifier_train.jsonl") == train_problems[:n]  # a prefix of the largest's
        ids = {json.loads(r)["id"] for r in train_problems[:n]}
        assert {json.loads(r)["problem_id"] for r in _lines(point / "samples" / "verifier_train.jsonl")} <= ids


def test_smaller_data_size_is_a_subset_of_the_larger_ones_verification_rows(micro_sweep):
    sw = micro_sweep["sweep"]
    for size in ("nano", "tiny"):
        small = sw.point_dir({"n_verifier_train": 12, "verifier_size": size}) / "verifier_data"
        large = sw.point_dir({"n_verifier_train": 24, "verifier_size": size}) / "verifier_data"
        for kind in ("orm", "genrm", "genrm_cot"):
            labelled = [r for r in _lines(small / f"{kind}.jsonl") if '"label"' in r]
            assert labelled and set(labelled) <= set(_lines(large / f"{kind}.jsonl")), kind
        assert set(_lines(small / "dpo.jsonl")) <= set(_lines(large / "dpo.jsonl"))


def test_the_untrained_judge_is_the_same_at_every_data_size(micro_sweep):
    """The judge is not trained: its worked examples and its scores must not change with the verifiers' data size."""
    sw = micro_sweep["sweep"]
    for size in ("nano", "tiny"):
        small, large = (sw.point_dir({"n_verifier_train": n, "verifier_size": size}) for n in (12, 24))
        assert _lines(small / "scores" / "judge.jsonl") == _lines(large / "scores" / "judge.jsonl")


def test_verifier_sizes_are_pretrained_under_one_recipe_and_trained_at_their_size(micro_sweep):
    from transformers import AutoConfig, AutoModelForCausalLM

    from genrm.models.model import SIZES

    sw = micro_sweep["sweep"]
    recipes = {}
    for size in ("nano", "tiny"):
        log = json.loads((sw.base_dir(size) / "pretrain_log.json").read_text())
        recipes[size] = {k: v for k, v in log["config"].items() if k != "model_size"}
        assert log["config"]["model_size"] == size
        for n in (12, 24):
            point = sw.point_dir({"n_verifier_train": n, "verifier_size": size})
            for kind in ("genrm", "genrm_cot"):  # the verifier was fine-tuned from this size's base
                assert AutoConfig.from_pretrained(point / "models" / kind).hidden_size == SIZES[size][0]
    assert recipes["nano"] == recipes["tiny"]
    # the curve's x: the base's parameter count, counted here from the model itself
    for p in micro_sweep["summary"]["points"]:
        base = AutoModelForCausalLM.from_pretrained(sw.verifier_base(p["values"]["verifier_size"]))
        assert p["verifier_params"] == sum(t.numel() for t in base.parameters())


def test_sweep_resumes_without_redoing_finished_points(micro_sweep):
    sw = micro_sweep["sweep"]
    names = [sw.point_dir(v).name for v in sw.points()]
    assert micro_sweep["first"] == names[:1]
    assert micro_sweep["second"] == names[1:]  # the finished point is not run again...
    assert micro_sweep["done_first"].stat().st_mtime_ns == micro_sweep["stamp"]  # ...nor re-evaluated
    assert micro_sweep["summary"]["complete"]


def test_sweep_table_and_json_hold_each_points_own_results(micro_sweep):
    sw = micro_sweep["sweep"]
    summary = json.loads((sw.path / "sweep.json").read_text())["results"]
    assert summary["complete"] and summary["shared_candidates"] and len(summary["points"]) == 4
    table = (sw.path / "sweep.md").read_text()
    results = {sw.point_dir(v).name: json.loads((sw.point_dir(v) / "results.json").read_text()) for v in sw.points()}
    header = next(line for line in table.splitlines() if line.startswith("| n_verifier_train"))
    names = header.split(" | ")[2:-2]  # after the two axes, before FLOPs and seconds
    assert {"GenRM", "GenRM-CoT", "ORM", "DPO", "LLM-as-a-Judge", "self-consistency", "pass@N (oracle)"} <= set(names)
    for values in sw.points():
        res = results[sw.point_dir(values).name]
        n = str(res["N"])
        row = next(p for p in summary["points"] if p["values"] == values)
        cells = [str(values["n_verifier_train"]), values["verifier_size"]]
        for name in names:  # a method some point lacks (no parsed steps: no min-step row) is a blank cell there
            m = res["methods"].get(name)
            cells.append(f"{m['best_of_n'][n]:.3f} ({m['ci95_at_N'][0]:.2f}-{m['ci95_at_N'][1]:.2f})" if m else "")
            if m:
                assert row["methods"][name]["best_of_n"][n] == m["best_of_n"][n]
        assert "| " + " | ".join(cells) + " |" in table


def test_sweep_writes_plots_and_report(micro_sweep):
    sw = micro_sweep["sweep"]
    for axis in ("n_verifier_train", "verifier_size"):
        assert (sw.path / f"sweep_{axis}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (sw.path / "report.html").read_text()
    assert "<svg" in page and "axis-n_verifier_train" in page and "axis-verifier_size" in page
    for values in sw.points():
        link = f"{sw.point_dir(values).relative_to(sw.path).as_posix()}/report.html"
        assert f"href='{link}'" in page and (sw.path / link).exists()


def test_sweep_folder_refuses_another_grid_and_bad_grids(micro_sweep, tmp_path):
    from genrm.sweep import Sweep, parse_grid

    with pytest.raises(GenrmError, match="holds another sweep"):
        Sweep.create(micro_sweep["sweep"].path, preset_config("micro"), parse_grid(["n_verifier_train=12,48"]))
    for spec, message in [
        ("n_verifier_train", "FIELD=V1,V2"),
        ("nonsense=1,2", "not a run setting"),
        ("model=nano,huge", "unknown size"),
        ("n_verifier_train=12,x", "not a valid int"),
        ("k_votes=2,2", "repeated"),
    ]:
        with pytest.raises(GenrmError, match=message):
            parse_grid([spec])
    with pytest.raises(GenrmError, match="k_votes"):  # a value the run config rejects, before anything runs
        Sweep.create(tmp_path / "bad", preset_config("micro"), parse_grid(["k_votes=0,2"]))
    assert not (tmp_path / "bad" / "sweep.json").exists()


def test_sweep_points_run_as_ray_tasks(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    from genrm import pipeline
    from genrm.sweep import Sweep, parse_grid, run_sweep

    def not_here(run):
        raise AssertionError("a point ran in the driver process, not as a Ray task")

    monkeypatch.setattr(pipeline, "run_all", not_here)  # Ray's workers import genrm afresh: unpatched
    sw = Sweep.create(tmp_path / "ray", preset_config("micro"), parse_grid(["n_verifier_train=12,24"]))
    summary = run_sweep(sw, ray="local")
    assert summary["complete"] and len(summary["points"]) == 2
    assert not ray.is_initialized()  # the instance it started is shut down
    for values in sw.points():
        assert (sw.point_dir(values) / "results.json").exists()
        assert json.loads((sw.point_dir(values) / "logs" / "placement.json").read_text())["pid"] != os.getpid()


def test_ray_points_take_the_clusters_gpus_one_each(tmp_path):
    """A Ray instance declaring two GPUs (Ray's logical resources; this machine has none): each point's task asks
    for one and sees only the one Ray gave it (CUDA_VISIBLE_DEVICES set by Ray in a fresh worker)."""
    ray = pytest.importorskip("ray")
    from genrm.sweep import Sweep, parse_grid, run_sweep

    sw = Sweep.create(tmp_path / "gpus", preset_config("micro"), parse_grid(["n_verifier_train=12,24"]))
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        assert run_sweep(sw, ray="local")["complete"]
    finally:
        ray.shutdown()
    seen = [json.loads((sw.point_dir(v) / "logs" / "placement.json").read_text()) for v in sw.points()]
    assert all(p["CUDA_VISIBLE_DEVICES"] in ("0", "1") for p in seen), seen
