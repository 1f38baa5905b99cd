"""Import the verification data released with the GenRM paper (GSM8K) into genrm's formats.

Source files (see `../shared/data/genrm-critiques/README.md`), zip, JSONL or JSONL.gz:
- `rm_{correct,incorrect}_solutions_batch_*.zip`: direct rows, `inputs` ending in the decision
  question and `targets` " Yes"/" No" (`*_val` files: the validation rows);
- `critiques_{correct,incorrect}_solutions_batch_*.zip`: GenRM-CoT rows, `inputs` ending in
  "Verification: Let's verify step by step.\\n" and a rationale as `targets`.

Output (a folder): `verifier_data/{genrm,genrm_cot,orm}.jsonl` (TRL prompt/completion/label rows;
ORM rows are the same solutions with the solve prompt as `prompt`), the validation rows as
`verifier_data/*_val.jsonl`, the validation solutions as a labelled test set
(`problems/test.jsonl`, `candidates/test.jsonl`, grouped by question) and `stats.json`.
"""

from __future__ import annotations

import gzip
import random
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Iterator

from ..core.errors import GenrmError
from ..core.formats import DECISION
from ..core.io import parse_jsonl, write_json, write_jsonl
from ..core.progress import progress_bar

SOLVE_END = "A: Let's think step by step.\n"
COT_END = "\nVerification: Let's verify step by step.\n"
DIRECT_END = "\n" + DECISION
FIELDS = ("inputs", "targets")


def read_release_file(path: Path) -> Iterator[dict]:
    """Rows of one released file (.zip holding JSONL, .jsonl, .jsonl.gz), checked for their fields."""
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.endswith((".jsonl", ".json"))]
                if not names:
                    raise GenrmError(f"{path} holds no .jsonl file")
                parts = [(f"{path}!{n}", z.read(n)) for n in names]
        else:
            data = path.read_bytes()
            parts = [(str(path), gzip.decompress(data) if path.name.endswith(".gz") else data)]
    except (zipfile.BadZipFile, gzip.BadGzipFile, EOFError, OSError) as e:
        raise GenrmError(f"{path}: cannot read ({e}); download the file again") from None
    for name, data in parts:
        for _, row in parse_jsonl(name, data, FIELDS):
            yield row


def split_solution(inputs: str, end: str) -> tuple[str, str, str]:
    """(solve prompt, question, solution) of a released `inputs` string that ends with `end`."""
    if not inputs.endswith(end) or SOLVE_END not in inputs:
        raise ValueError("unexpected format")
    head, _, solution = inputs[: -len(end)].partition(SOLVE_END)
    question = head.rpartition("Q: ")[2].rstrip("\n")
    return head + SOLVE_END, question, solution


def import_release(src: str | Path, out: str | Path, max_rows: int = 0, seed: int = 0) -> dict:
    """Convert every released file under `src` into genrm rows under `out`; returns counts."""
    src, out = Path(src), Path(out)
    files = sorted(p for p in src.iterdir() if p.name.startswith(("rm_", "critiques_")))
    if not files:
        raise GenrmError(f"{src} has no rm_*/critiques_* files; point to the GenRM release folder")
    rows: dict[str, list[dict]] = defaultdict(list)
    bad = 0
    with progress_bar("importing GenRM release", len(files)) as (bar, tid):
        for f in files:
            cot = f.name.startswith("critiques_")
            kind = ("genrm_cot" if cot else "genrm") + ("_val" if "_val" in f.name else "")
            for r in read_release_file(f):
                label = r["targets"].rstrip().endswith("Yes")
                try:
                    solve, question, solution = split_solution(r["inputs"], COT_END if cot else DIRECT_END)
                except ValueError:
                    bad += 1
                    continue
                rows[kind].append(
                    {
                        "prompt": r["inputs"],
                        "completion": r["targets"],
                        "label": label,
                        "question_id": r.get("question_id"),
                        "solve_prompt": solve,
                        "question": question,
                        "solution": solution,
                    }
                )
            bar.advance(tid)
    rng = random.Random(seed)
    stats: dict = {"source": str(src), "malformed_rows": bad}
    for kind in sorted(rows):
        rs = rows[kind]
        rng.shuffle(rs)
        total, total_yes = len(rs), sum(r["label"] for r in rs)
        if max_rows and not kind.endswith("_val"):
            rs = rows[kind] = rs[:max_rows]
        yes = sum(r["label"] for r in rs)
        questions = len({r["question_id"] for r in rs})
        stats[kind] = {"rows": len(rs), "yes": yes, "no": len(rs) - yes, "questions": questions}
        if len(rs) < total:
            stats[kind].update(rows_total=total, yes_total=total_yes, no_total=total - total_yes)
    vd = out / "verifier_data"
    for kind, rs in rows.items():
        write_jsonl(vd / f"{kind}.jsonl", ({k: r[k] for k in ("prompt", "completion", "label")} for r in rs))
    for kind in ("genrm", "genrm_val"):
        orm = [{"prompt": r["solve_prompt"], "completion": r["solution"], "label": r["label"]} for r in rows[kind]]
        if orm:
            write_jsonl(vd / f"{kind.replace('genrm', 'orm')}.jsonl", orm)
    if rows.get("genrm_val"):
        stats["test_set"] = _write_test_set(rows["genrm_val"], out)
    write_json(out / "stats.json", stats)
    return stats


def _write_test_set(val_rows: list[dict], out: Path) -> dict:
    """The validation solutions grouped by question: a labelled Best-of-N test set."""
    by_q: dict = defaultdict(list)
    questions = {}
    for r in sorted(val_rows, key=lambda r: (str(r["question_id"]), r["solution"])):
        by_q[r["question_id"]].append(r)
        questions[r["question_id"]] = r["question"]
    from ..tasks.gsm8k import GSM8K

    gsm8k = GSM8K()  # final answers for self-consistency
    problems, cands = [], []
    for qid, rs in by_q.items():
        pid = f"release-{qid}"
        problems.append({"id": pid, "question": questions[qid], "answer": "", "meta": {"question_id": qid}})
        cands.append(
            {
                "problem_id": pid,
                "candidates": [
                    {
                        "index": i,
                        "text": r["solution"],
                        "answer": gsm8k.extract_answer(r["solution"]),
                        "correct": r["label"],
                    }
                    for i, r in enumerate(rs)
                ],
            }
        )
    write_jsonl(out / "problems" / "test.jsonl", problems)
    write_jsonl(out / "candidates" / "test.jsonl", cands)
    n = sum(len(c["candidates"]) for c in cands)
    return {"problems": len(problems), "candidates": n, "correct": sum(r["label"] for r in val_rows)}
