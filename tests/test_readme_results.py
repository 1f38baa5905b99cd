"""Every results table in the README and the docs pages equals what `bench/results_tables.py` makes from the run
files under `docs/results/`: no number in those tables is typed by hand, and each has its artefact."""

import importlib.util
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _tables():
    spec = importlib.util.spec_from_file_location("results_tables", ROOT / "bench" / "results_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_results_tables_equal_their_files():
    mod = _tables()
    shown: dict[str, list[str]] = {}
    for page in mod.PAGES:
        for name, table in mod.blocks(page.read_text(encoding="utf-8")).items():
            shown.setdefault(name, []).append(table)
    made = mod.tables()
    assert set(shown) == set(made), "the pages' results blocks and bench/results_tables.py's tables differ"
    assert "headline" in mod.blocks((ROOT / "README.md").read_text(encoding="utf-8")), "the README's one table"
    for name, table in made.items():
        assert table.count("\n") >= 2, f"table {name} has no rows: are its files under docs/results/?"
        assert all(t == table for t in shown[name]), f"table '{name}' differs: run bench/results_tables.py --write"


def test_a_changed_file_changes_its_table(tmp_path, monkeypatch):
    """The check can fail: one number edited in a copy of a results file shows in the table made from it."""
    mod = _tables()
    src = ROOT / "docs" / "results" / "final" / "last_letter-s0"
    shutil.copytree(src, tmp_path / "final" / "last_letter-s0")
    before = mod.test_table("final", "last_letter", seeds=(0,))
    r = json.loads((src / "results.json").read_text())
    r["methods"]["GenRM-CoT"]["best_of_n"][str(r["N"])] = 0.001
    (tmp_path / "final" / "last_letter-s0" / "results.json").write_text(json.dumps(r))
    monkeypatch.setattr(mod, "DOCS", tmp_path)
    after = mod.test_table("final", "last_letter", seeds=(0,))
    assert before != after and "| 0.001 (" in after
