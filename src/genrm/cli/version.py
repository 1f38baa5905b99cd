"""`genrm --version`: the installed version and, in a git checkout, the revision."""

from __future__ import annotations

from pathlib import Path


def version_text() -> str:
    """`genrm-verifiers X.Y.Z`, and in a git checkout the revision (`+dirty` with uncommitted changes)."""
    import subprocess
    from importlib import metadata

    from .. import __version__

    try:
        text = f"genrm-verifiers {metadata.version('genrm-verifiers')}"
    except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
        text = f"genrm-verifiers {__version__} (not installed)"
    here = Path(__file__).resolve().parents[1]  # the genrm package
    try:

        def git(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, timeout=5)

        top = git("rev-parse", "--show-toplevel")
        if top.returncode == 0 and here.is_relative_to(Path(top.stdout.strip()).resolve()):
            rev, dirty = git("rev-parse", "--short", "HEAD").stdout.strip(), git("status", "--porcelain", "--", ".")
            text += f", git {rev}{'+dirty' if dirty.stdout.strip() else ''} ({top.stdout.strip()})"
    except (OSError, subprocess.SubprocessError):  # no git: the version alone
        pass
    return text
