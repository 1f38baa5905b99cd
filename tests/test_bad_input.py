"""Files users hand genrm: every malformed input is refused with `file:line` and the fix, never a traceback.

Each case is 40 good rows followed by the bad part, read as `genrm init --task jsonl --data FILE` reads it.
"""

import json

import pytest

from genrm.core.errors import GenrmError
from genrm.core.io import read_jsonl
from genrm.tasks import get_task

GOOD = [json.dumps({"id": f"g{i}", "question": f"{i} + 1?", "answer": str(i + 1)}) for i in range(40)]


def _file(tmp_path, tail: bytes, head: bytes = b"") -> str:
    f = tmp_path / "data.jsonl"
    f.write_bytes(head + ("\n".join(GOOD) + "\n").encode() + tail)
    return str(f)


def _load(path: str):
    return get_task("jsonl", data=path).load("all")


BAD = [
    ("malformed JSON", b'{"question": "x", "answer": \n', "data.jsonl:41: malformed JSON"),
    ("missing field", b'{"question": "x"}\n', "data.jsonl:41: missing field.s. answer"),
    ("not an object", b'["x", "1"]\n', "data.jsonl:41: expected a JSON object"),
    (
        "invalid UTF-8",
        b'{"question": "caf\xe9", "answer": "1"}\n',
        "data.jsonl:41: byte 0xe9 at column 18 is not UTF-8",
    ),
    (
        "deep nesting",
        b'{"question": "x", "answer": "1", "meta": ' + b"[" * 100000 + b"]" * 100000 + b"}\n",
        "data.jsonl:41: JSON nested too deeply",
    ),
    ("null question", b'{"question": null, "answer": "1"}\n', "data.jsonl:41: field 'question' is null"),
    ("list question", b'{"question": ["a", "b"], "answer": "1"}\n', "data.jsonl:41: field 'question' is list"),
    ("empty question", b'{"question": "  ", "answer": "1"}\n', "data.jsonl:41: empty question"),
    ("object answer", b'{"question": "x", "answer": {"v": 1}}\n', "data.jsonl:41: field 'answer' is dict"),
    ("null answer", b'{"question": "x", "answer": null}\n', "data.jsonl:41: field 'answer' is null"),
    ("list answer", b'{"question": "x", "answer": [1, 2]}\n', "data.jsonl:41: field 'answer' is list"),
    ("object question", b'{"question": {"text": "x"}, "answer": "1"}\n', "data.jsonl:41: field 'question' is dict"),
    ("boolean answer", b'{"question": "x", "answer": true}\n', "data.jsonl:41: field 'answer' is bool"),
    ("list id", b'{"id": [1], "question": "x", "answer": "1"}\n', "data.jsonl:41: field 'id' is list"),
    (
        "duplicate id",
        b'{"id": "g3", "question": "x", "answer": "1"}\n',
        "data.jsonl:41: id 'g3' is also the id of .*data.jsonl:4; give each row its own id",
    ),
    (
        "non-numeric answer",
        b'{"question": "x", "answer": "gj"}\n',
        'data.jsonl:41: answer \'gj\' is not a number, which the numeric checker needs.*"checker": "exact"',
    ),
    (
        "unknown checker",
        b'{"question": "x", "answer": "1", "checker": "fuzzy"}\n',
        "data.jsonl:41: unknown checker 'fuzzy'; use one of numeric, exact, math",
    ),
]


@pytest.mark.parametrize("name, tail, message", BAD, ids=[b[0] for b in BAD])
def test_malformed_rows_name_file_line_and_fix(tmp_path, name, tail, message):
    with pytest.raises(GenrmError, match=message):
        _load(_file(tmp_path, tail))


def test_accepted_variants_are_read(tmp_path):
    """A byte-order mark, CRLF line ends, blank lines, numeric answers and ids, an exact-checker text answer."""
    tail = b'\r\n{"id": 7, "question": "Capital of France?", "answer": "Paris", "checker": "exact"}\r\n\n'
    tail += b'{"question": "3 * 3?", "answer": 9}\n'
    problems = _load(_file(tmp_path, tail, head=b"\xef\xbb\xbf"))
    assert len(problems) == 42 and problems[0].id == "g0"
    assert problems[40].id == "7" and problems[40].answer == "Paris" and problems[41].answer == "9"


def test_torn_tail_is_tolerated_only_where_asked(tmp_path):
    """A half-written last line (a killed writer) is skipped by resuming readers and refused elsewhere."""
    from genrm.core.io import iter_jsonl

    path = _file(tmp_path, b'{"question": "x", "ans')
    assert len(list(iter_jsonl(path, tolerate_torn_tail=True))) == 40
    with pytest.raises(GenrmError, match="data.jsonl:41: malformed JSON"):
        read_jsonl(path)
    path = _file(tmp_path, b'{"question": "caf\xc3')  # cut inside a multi-byte character
    assert len(list(iter_jsonl(path, tolerate_torn_tail=True))) == 40


def test_a_folder_or_a_missing_file_is_named(tmp_path):
    with pytest.raises(GenrmError, match="is a folder"):
        read_jsonl(tmp_path)
    with pytest.raises(GenrmError, match="missing file"):
        read_jsonl(tmp_path / "nope.jsonl")


def _rows_file(tmp_path, rows: list) -> str:
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return str(f)


def test_run_files_are_typed(tmp_path):
    """Candidates, problems and verifier rows (a `--test-candidates` folder, `--verifier-data-dir`, the run's own)."""
    from genrm.core.schemas import CandidatesRow, ProblemRow, VerifierRow, read_rows

    cand = {"index": 0, "text": " a -> a. Answer: a", "answer": "a", "correct": True}
    good = {"problem_id": "p1", "candidates": [cand]}
    assert read_rows(_rows_file(tmp_path, [good, {**good, "problem_id": 2}]), CandidatesRow)[1]["problem_id"] == "2"
    cases = [
        (CandidatesRow, [good, {"problem_id": "p2", "candidates": "x"}], "rows.jsonl:2: field 'candidates' \\(str\\)"),
        (
            CandidatesRow,
            [good, {"problem_id": "p2", "candidates": [{**cand, "correct": "yes"}]}],
            "rows.jsonl:2: field 'candidates.0.correct' \\(str\\)",
        ),
        (CandidatesRow, [good, good], "rows.jsonl:2: problem_id 'p1' is also on line 1; keep one of them"),
        (ProblemRow, [{"id": "a", "question": ""}], "rows.jsonl:1: field 'question' \\(str\\)"),
        (ProblemRow, [{"question": "q"}], "rows.jsonl:1: missing field 'id'"),
        (VerifierRow, [{"prompt": "p", "completion": 3, "label": True}], "rows.jsonl:1: field 'completion' \\(int\\)"),
        (VerifierRow, [{"prompt": "p", "completion": " Yes", "label": "yes"}], "rows.jsonl:1: field 'label' \\(str\\)"),
    ]
    for model, rows, message in cases:
        key = "problem_id" if model is CandidatesRow else None
        with pytest.raises(GenrmError, match=message):
            read_rows(_rows_file(tmp_path, rows), model, key=key)


def test_a_line_over_64_mib_is_refused_by_file_and_line(tmp_path):
    """The documented limit on one JSONL row (io.MAX_LINE_BYTES): a longer line is an error naming its place,
    and never parsed; a line just under it is read."""
    from genrm.core.io import MAX_LINE_BYTES

    assert MAX_LINE_BYTES == 64 * 1024 * 1024
    head = b'{"id": "big", "question": "x", "answer": "1", "pad": "'
    under = head + b"a" * (MAX_LINE_BYTES - len(head) - 2) + b'"}'  # exactly the limit (the newline not counted)
    assert len(under) == MAX_LINE_BYTES
    assert [p.id for p in _load(_file(tmp_path, under + b"\n"))][-1] == "big"
    over = head + b"a" * (MAX_LINE_BYTES - len(head) - 1) + b'"}\n'
    with pytest.raises(GenrmError, match=r"data.jsonl:41: line of 67,108,865 bytes is over the 67,108,864-byte"):
        _load(_file(tmp_path, over))


def test_the_cli_exits_2_with_the_message_and_no_traceback(tmp_path):
    """Bad input to the real `genrm` process: exit code 2, the error and its fix on stderr, no Python traceback."""
    import subprocess
    import sys

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n')
    cases = [
        (["quickstart", "--preset", "huge"], "unknown preset 'huge'"),
        (
            ["quickstart", "--out", str(tmp_path / "run"), "--task", "jsonl", "--data", str(bad), "--methods", "orm"],
            "bad.jsonl:1: missing field",
        ),
        (["serve", str(tmp_path / "nowhere"), "--port", "0"], "nowhere"),
    ]
    for args, message in cases:
        r = subprocess.run([sys.executable, "-m", "genrm", *args], capture_output=True, text=True, timeout=300)
        assert r.returncode == 2, (args, r.returncode, r.stderr[-2000:])
        assert message in " ".join(r.stderr.split()), (args, r.stderr[-2000:])
        assert "Traceback" not in r.stdout + r.stderr, args
