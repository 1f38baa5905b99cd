"""The CI's skip check (tests/skipcheck.py): a skip not on the expected list fails the session; listed skips
pass; every listed skip says why."""

from pathlib import Path

import pytest

from skipcheck import LIST, expected_skips

TESTS = """
import pytest

def test_runs():
    pass

def test_listed():
    pytest.skip("listed")

def test_unlisted():
    pytest.skip("nobody listed this one")

@pytest.mark.xfail(reason="an expected failure is not a skip")
def test_xfail():
    assert False
"""


@pytest.mark.parametrize("listed,fails", [("test_skips.py::test_listed", True), ("test_skips.py::test_*ed", False)])
def test_a_skip_not_on_the_list_fails_the_session(pytester, monkeypatch, listed, fails):
    pytester.makepyfile(test_skips=TESTS)
    skips = pytester.path / "skips.txt"
    skips.write_text(f"{listed}  # a reason\n")
    monkeypatch.setenv("GENRM_CHECK_SKIPS", "1")
    monkeypatch.setenv("GENRM_EXPECTED_SKIPS", str(skips))
    result = pytester.runpytest("-p", "skipcheck", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2, xfailed=1)
    assert result.ret == (1 if fails else 0)
    if fails:
        result.stdout.fnmatch_lines(["*skipped but not in tests/expected_skips.txt*", "*test_skips.py::test_unlisted"])


def test_every_expected_skip_has_a_reason(tmp_path):
    assert all(reason for _, reason in expected_skips(LIST)) and expected_skips(LIST)
    bad = tmp_path / "skips.txt"
    bad.write_text("tests/test_x.py::test_y\n")
    with pytest.raises(ValueError, match="has no reason"):
        expected_skips(Path(bad))
