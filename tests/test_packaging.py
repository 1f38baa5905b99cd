"""`genrm --version` from the real command; the wheel itself is built and installed by `.ci/wheel`."""

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import genrm

ROOT = Path(__file__).resolve().parents[1]


def test_version_names_the_distribution_and_the_git_revision():
    out = subprocess.run([sys.executable, "-m", "genrm", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"genrm-verifiers {metadata.version('genrm-verifiers')}")
    assert metadata.version("genrm-verifiers") == genrm.__version__
    src = Path(genrm.__file__).resolve()
    if shutil.which("git") and src.is_relative_to(ROOT) and (ROOT / ".git").exists():
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        assert f"git {rev.stdout.strip()}" in out.stdout


def test_distribution_is_not_the_pypi_genrm_placeholder():
    """The name `genrm` on PyPI is someone else's; ours is genrm-verifiers, with the `genrm` command."""
    dist = metadata.distribution("genrm-verifiers")
    assert dist.metadata["Name"] == "genrm-verifiers" and dist.metadata["License-Expression"] == "MIT"
    assert any(ep.name == "genrm" and ep.value == "genrm.cli:main" for ep in dist.entry_points)
