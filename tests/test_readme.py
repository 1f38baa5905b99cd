"""The Python examples of the README and of every docs page run as written, against the micro run in place of
the quickstart's run folder; the docs site builds with `mkdocs build --strict` (no warning: no broken link or
anchor, every page in the navigation).

A block that cannot run here says why in an HTML comment right above it: `<!-- readme-test: skip (reason) -->`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from by_hand import direct_p_yes

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
QUICKSTART_RUN = "genrm-runs/quickstart-last_letter-cpu"
_BLOCK = re.compile(r"(?:<!-- readme-test: skip \((?P<why>[^)]*)\) -->\n)?```python\n(?P<code>.*?)```", re.S)


def blocks() -> list[tuple[str, int, str, str | None]]:
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        name = str(page.relative_to(ROOT))
        out += [(name, text[: m.start()].count("\n") + 1, m["code"], m["why"]) for m in _BLOCK.finditer(text)]
    return out


def test_pages_have_python_examples_and_run_most():
    found = blocks()
    assert len(found) >= 3 and sum(why is None for *_, why in found) >= 2
    assert any(page == "README.md" and why is None for page, _, _, why in found), "the README's API example"


@pytest.mark.parametrize(
    "page,line,code,why", [pytest.param(*b, id=f"{b[0]}:{b[1]}-{'skip' if b[3] else 'run'}") for b in blocks()]
)
def test_python_example_runs(page, line, code, why, micro_run, monkeypatch):
    """Each runnable block scores something against the micro run (its run folder put in place of the
    quickstart's), and what it binds is checked: `scores` one value in [0, 1] per item scored; a direct GenRM
    `score` equal to p(Yes) worked out by hand from the model's logits."""
    if why is not None:
        pytest.skip(f"{page} line {line}: {why}")
    run, _ = micro_run
    assert QUICKSTART_RUN in code, f"{page} line {line}: a runnable example reads the quickstart's run folder"
    monkeypatch.chdir(run.path.parent)
    names: dict = {}
    exec(compile(code.replace(QUICKSTART_RUN, str(run.path)), f"{page}:{line}", "exec"), names)
    assert "scores" in names or "score" in names, f"{page} line {line} scores nothing"
    if "scores" in names:
        scores = [s.score if hasattr(s, "score") else s for s in names["scores"]]
        assert len(scores) == len(names.get("cands", scores)) and all(0.0 <= s <= 1.0 for s in scores)
    if "score" in names and getattr(names.get("reward"), "method", None) == "genrm":
        (item,) = re.findall(r'reward\.score\(\[\("([^"]*)", "([^"]*)"\)\]\)', code)
        assert names["score"] == pytest.approx(direct_p_yes(run.file("models", "genrm"), [item])[0], rel=2e-2)


def _build(root: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml"), "-d", str(out)]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=300)


def test_docs_site_builds_without_a_warning(tmp_path):
    r = _build(ROOT, tmp_path / "site")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "site" / "architecture" / "index.html").exists()
    assert "RewardModel" in (tmp_path / "site" / "api" / "index.html").read_text()  # mkdocstrings ran


def test_docs_build_fails_on_a_broken_link(tmp_path):
    """The strict build can fail: a copy of the pages with one link to a page that does not exist."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "src").symlink_to(ROOT / "src")
    (tmp_path / "docs").mkdir()
    for page in (ROOT / "docs").glob("*.md"):
        shutil.copy(page, tmp_path / "docs" / page.name)
    for image in (ROOT / "docs").rglob("*.png"):
        (tmp_path / "docs" / image.relative_to(ROOT / "docs")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(image, tmp_path / "docs" / image.relative_to(ROOT / "docs"))
    assert _build(tmp_path, tmp_path / "site").returncode == 0
    with open(tmp_path / "docs" / "steps.md", "a") as f:
        f.write("\nSee [the missing page](missing.md).\n")
    r = _build(tmp_path, tmp_path / "site2")
    assert r.returncode != 0 and "missing.md" in r.stdout + r.stderr
