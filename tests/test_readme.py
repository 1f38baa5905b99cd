"""The README's Python examples run as written, against the micro run in place of the quickstart's run folder.

A block that cannot run here says why in an HTML comment right above it: `<!-- readme-test: skip (reason) -->`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from by_hand import direct_p_yes

README = Path(__file__).parents[1] / "README.md"
QUICKSTART_RUN = "genrm-runs/quickstart-last_letter-cpu"
_BLOCK = re.compile(r"(?:<!-- readme-test: skip \((?P<why>[^)]*)\) -->\n)?```python\n(?P<code>.*?)```", re.S)


def blocks() -> list[tuple[int, str, str | None]]:
    text = README.read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m["code"], m["why"]) for m in _BLOCK.finditer(text)]


def test_readme_has_python_examples_and_runs_most():
    found = blocks()
    assert len(found) >= 3 and sum(why is None for _, _, why in found) >= 2


@pytest.mark.parametrize(
    "line,code,why", [pytest.param(*b, id=f"line{b[0]}-{'skip' if b[2] else 'run'}") for b in blocks()]
)
def test_readme_python_example_runs(line, code, why, micro_run, monkeypatch):
    """Each runnable block scores something against the micro run (its run folder put in place of the
    quickstart's), and what it binds is checked: `scores` one value in [0, 1] per item scored; a direct GenRM
    `score` equal to p(Yes) worked out by hand from the model's logits."""
    if why is not None:
        pytest.skip(f"README line {line}: {why}")
    run, _ = micro_run
    assert QUICKSTART_RUN in code, f"README line {line}: a runnable example reads the quickstart's run folder"
    monkeypatch.chdir(run.path.parent)
    names: dict = {}
    exec(compile(code.replace(QUICKSTART_RUN, str(run.path)), f"README.md:{line}", "exec"), names)
    assert "scores" in names or "score" in names, f"README line {line} scores nothing"
    if "scores" in names:
        scores = [s.score if hasattr(s, "score") else s for s in names["scores"]]
        assert len(scores) == len(names.get("cands", scores)) and all(0.0 <= s <= 1.0 for s in scores)
    if "score" in names and getattr(names.get("reward"), "method", None) == "genrm":
        (item,) = re.findall(r'reward\.score\(\[\("([^"]*)", "([^"]*)"\)\]\)', code)
        assert names["score"] == pytest.approx(direct_p_yes(run.file("models", "genrm"), [item])[0], rel=2e-2)
