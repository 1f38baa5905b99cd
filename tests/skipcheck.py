"""pytest plugin: with GENRM_CHECK_SKIPS=1 (set by .ci/run), a skipped test that is not on the list in
tests/expected_skips.txt fails the session, so a test that silently stopped running shows in CI. Each line of
the list is `PATTERN  # reason`, the pattern an fnmatch of the test's node id."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

LIST = Path(__file__).with_name("expected_skips.txt")


def expected_skips(path: Path = LIST) -> list[tuple[str, str]]:
    """(pattern, reason) per line; a line without a reason is an error (say why a test may skip)."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, _, reason = line.partition("#")
        if not reason.strip():
            raise ValueError(f"{path}:{n}: '{pattern.strip()}' has no reason after '#'")
        out.append((pattern.strip(), reason.strip()))
    return out


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("GENRM_CHECK_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    # this session's skips (not an expected failure, which pytest also reports as skipped)
    skipped = [r.nodeid for r in reporter.stats.get("skipped", []) if not hasattr(r, "wasxfail")]
    patterns = [p for p, _ in expected_skips(Path(os.environ.get("GENRM_EXPECTED_SKIPS", LIST)))]
    unexpected = [n for n in skipped if not any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    if unexpected:
        lines = ["skipped but not in tests/expected_skips.txt (run it, or list it there with a reason):"]
        reporter.write_line("\n".join(lines + [f"  {n}" for n in unexpected]), red=True)
        session.exitstatus = 1
