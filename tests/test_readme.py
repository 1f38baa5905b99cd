"""The README's Python examples run as written, against the micro run in place of the quickstart's run folder.

A block that cannot run here says why in an HTML comment right above it: `<!-- readme-test: skip (reason) -->`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
QUICKSTART_RUN = "genrm-runs/quickstart-last_letter-cpu"
_BLOCK = re.compile(r"(?:<!-- readme-test: skip \((?P<why>[^)]*)\) -->\n)?```python\n(?P<code>.*?)```", re.S)


def blocks() -> list[tuple[int, str, str | None]]:
    text = README.read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m["code"], m["why"]) for m in _BLOCK.finditer(text)]


def test_readme_has_python_examples_and_runs_most():
    found = blocks()
    assert len(found) >= 3 and sum(why is None for _, _, why in found) >= 2


@pytest.mark.parametrize("line,code,why", blocks(), ids=lambda x: f"line{x}" if isinstance(x, int) else "")
def test_readme_python_example_runs(line, code, why, micro_run, monkeypatch):
    if why is not None:
        pytest.skip(f"README line {line}: {why}")
    run, _ = micro_run
    assert QUICKSTART_RUN in code or "genrm" in code
    monkeypatch.chdir(run.path.parent)
    exec(compile(code.replace(QUICKSTART_RUN, str(run.path)), f"README.md:{line}", "exec"), {})
