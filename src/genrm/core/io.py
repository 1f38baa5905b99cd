"""Plain artefacts: JSONL files, JSON headers with config, seed, versions and git revision."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence, TypeVar

from .errors import GenrmError

T = TypeVar("T")
Row = dict[str, Any]  # one JSON object of a JSONL file


def read_jsonl(path: str | Path, required: Iterable[str] = ()) -> list[dict[str, Any]]:
    """All rows of a JSONL file; a malformed row or missing field names the line and the fix."""
    return list(iter_jsonl(path, required))


MAX_LINE_BYTES = 64 * 1024 * 1024  # one JSONL row; longer lines are refused (file:line), never read into JSON


def iter_jsonl(path: str | Path, required: Iterable[str] = (), tolerate_torn_tail: bool = False) -> Iterator[Row]:
    """Rows of a JSONL file (see `numbered_jsonl`)."""
    for _, row in numbered_jsonl(path, required, tolerate_torn_tail):
        yield row


def numbered_jsonl(
    path: str | Path, required: Iterable[str] = (), tolerate_torn_tail: bool = False
) -> Iterator[tuple[int, Row]]:
    """(line number, row) of a JSONL file, each error naming `file:line` and the fix.

    A UTF-8 byte-order mark is skipped; bytes that are not UTF-8, a line over `MAX_LINE_BYTES`, JSON
    nested too deeply to parse, a line that is not an object or lacks a `required` field are refused.
    With `tolerate_torn_tail`, a half-written last line (an interrupted writer) is ignored.
    """
    p = Path(path)
    if not p.exists():
        raise GenrmError(f"missing file {p}: run the stage that writes it first (see `genrm --help`)")
    if p.is_dir():
        raise GenrmError(f"{p} is a folder; give a .jsonl file")
    yield from parse_jsonl(str(p), p.read_bytes(), required, tolerate_torn_tail)


def parse_jsonl(
    p: str, data: bytes, required: Iterable[str] = (), tolerate_torn_tail: bool = False
) -> Iterator[tuple[int, Row]]:
    """`numbered_jsonl` of bytes read elsewhere (a zip member, a gzip stream); `p` names them in errors."""
    required = tuple(required)
    if data.startswith(b"\xef\xbb\xbf"):  # a byte-order mark, as editors and spreadsheets write it
        data = data[3:]
    lines = data.split(b"\n")
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        torn = tolerate_torn_tail and n >= len(lines) - 1
        if len(raw) > MAX_LINE_BYTES:
            raise GenrmError(f"{p}:{n}: line of {len(raw):,} bytes is over the {MAX_LINE_BYTES:,}-byte limit; split it")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if torn:
                return
            raise GenrmError(
                f"{p}:{n}: byte 0x{raw[e.start]:02x} at column {e.start + 1} is not UTF-8; save the file as UTF-8"
            ) from None
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            if torn:
                return  # an interrupted writer left half a line at the end: ignore it
            raise GenrmError(f"{p}:{n}: malformed JSON ({e.msg}); fix or delete that line") from None
        except RecursionError:
            raise GenrmError(f"{p}:{n}: JSON nested too deeply to read; flatten that row") from None
        if not isinstance(row, dict):
            raise GenrmError(f"{p}:{n}: expected a JSON object per line, got {type(row).__name__}")
        missing = [k for k in required if k not in row]
        if missing:
            raise GenrmError(f"{p}:{n}: missing field(s) {', '.join(missing)}; each row needs {', '.join(required)}")
        yield n, row


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (temp file + rename) so a crash never leaves a half file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, p)
    return n


class JsonlAppender:
    """Append rows one at a time, flushed, for stages that resume after an interruption."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._truncate_torn_tail()
        self.f = self.path.open("a", encoding="utf-8")

    def _truncate_torn_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def write(self, row: dict[str, Any]) -> None:
        self.f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.f.flush()

    def close(self) -> None:
        self.f.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resume_jsonl(
    path: str | Path,
    items: Sequence[T],
    item_key: Callable[[T], Hashable],
    row_key: Callable[[Row], Hashable],
    work: Callable[[int, list[T]], Sequence[Row]],
    *,
    chunk: int,
    description: str,
    required: Iterable[str] = (),
    complete: Callable[[Row], bool] = lambda row: True,
    shard: tuple[int, int] | None = None,
    done_in: str | Path | None = None,
) -> tuple[dict[Hashable, Row], int]:
    """The one resumable loop of every long stage that appends rows to a JSONL file.

    Rows already in `path` whose `complete(row)` holds are kept (a torn last line is ignored); the
    other items go to `work(offset, part)` in chunks of `chunk` taken from `items` in order (`offset`
    is the chunk's start in `items`, so a seed derived from it is the same however often the run
    was interrupted), which returns one row per item of `part`. Each row is appended and flushed as
    soon as its chunk is done. A chunk only partly in the file (killed while its rows were being
    written) is dropped from the file and done again whole: its rows come from one `work` call, and
    a call on the rest of it alone (other batches, other random draws) would not give the rows of a
    run that was never interrupted. Returns every row by key (old and new) and the number written now.

    `shard=(w, n)`: this process does only every n-th chunk from the w-th (chunks and their offsets are those of
    the whole list, so the rows equal an unsharded run's) into its own `path`; rows in `done_in` (the whole
    stage's file) count as done too.
    """
    path = Path(path)
    rows: dict[Hashable, Row] = {}
    for f in (done_in, path):
        if f is not None and Path(f).exists():
            for row in iter_jsonl(f, required, tolerate_torn_tail=True):
                if complete(row):
                    rows[row_key(row)] = row
    w_, n_ = shard or (0, 1)
    starts = [s for s in range(0, len(items), chunk) if (s // chunk) % n_ == w_]
    partial: set[Hashable] = set()
    for start in starts:
        have = [k for k in map(item_key, items[start : start + chunk]) if k in rows]
        if have and len(have) < len(items[start : start + chunk]):
            partial.update(have)
    if partial:
        if path.exists():
            kept = [r for r in iter_jsonl(path, required, tolerate_torn_tail=True) if row_key(r) not in partial]
            write_jsonl(path, kept)  # atomically: a kill now leaves the old file or the new one
        for k in partial:
            del rows[k]
    from .progress import progress_bar

    mine = [it for start in starts for it in items[start : start + chunk]]
    written = 0
    with JsonlAppender(path) as w, progress_bar(description, len(mine)) as (bar, tid):
        bar.advance(tid, sum(item_key(it) in rows for it in mine))
        for start in starts:
            part = [it for it in items[start : start + chunk] if item_key(it) not in rows]
            if not part:
                continue
            new = work(start, part)
            if len(new) != len(part):
                raise GenrmError(f"{path}: a chunk of {len(part)} item(s) gave {len(new)} row(s)")  # a bug, not input
            for it, row in zip(part, new):
                w.write(row)
                rows[item_key(it)] = row
            written += len(part)
            bar.advance(tid, len(part))
    return rows, written


def write_json(path: str | Path, obj: Any) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, p)


def read_json(path: str | Path) -> Any:
    p = Path(path)
    if not p.exists():
        raise GenrmError(f"missing file {p}: run the stage that writes it first")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise GenrmError(f"{p}: malformed JSON ({e.msg} at line {e.lineno}); fix or delete the file") from None


def git_revision() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """Versions and machine facts recorded in every artefact header."""
    import torch
    import transformers

    from .. import __version__

    return {
        "genrm": __version__,
        "git": git_revision(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def replace_dir(new: Path, old: Path) -> None:
    """Move folder `new` to `old`, replacing it (the old one is renamed aside first, then deleted)."""
    aside = old.with_name(old.name + ".old")
    shutil.rmtree(aside, ignore_errors=True)
    if old.exists():
        old.rename(aside)
    new.rename(old)
    shutil.rmtree(aside, ignore_errors=True)
