"""Model cards of the micro run's trained verifiers: the numbers equal results.json, the metadata parses."""

import json

import pytest
from huggingface_hub import ModelCard

from genrm.core.types import TRAINED_KINDS
from genrm.report.card import card_summary

NAMES = {"orm": "ORM", "dpo": "DPO", "genrm": "GenRM", "genrm_cot": "GenRM-CoT"}  # results.json's row names


@pytest.mark.parametrize("kind", TRAINED_KINDS)
def test_card_numbers_equal_results_json(micro_run, kind):
    run, _ = micro_run
    folder = run.file("models", kind)
    results = json.loads(run.file("results.json").read_text())
    row, n = results["methods"][NAMES[kind]], str(results["N"])
    card = ModelCard.load(folder / "README.md")  # Hugging Face's own parser of the metadata
    got = {r.metric_name: r.metric_value for r in card.data.eval_results}
    assert got == {
        f"Best-of-{n}": round(row["best_of_n"][n], 4),
        "verifier accuracy": round(row["verifier_accuracy"], 4),
        "AUROC": round(row["auroc"], 4),
        "AUROC within problem": round(row["auroc_within_problem"], 4),
    }
    assert {r.dataset_split for r in card.data.eval_results} == {"test"}
    assert kind in card.data.tags and card.data.library_name == "transformers"
    # the body's table: the verifier's row with its CI and the run's baselines at N
    lo, hi = row["ci95_at_N"]
    base = {m: results["methods"][m]["best_of_n"][n] for m in ("pass@1", "self-consistency", "pass@N (oracle)")}
    cells = [f"{row['best_of_n'][n]:.3f} [{lo:.3f}, {hi:.3f}]", f"{row['auroc']:.3f}"]
    cells += [f"{v:.3f}" for v in base.values()]
    line = next(x for x in card.text.splitlines() if x.startswith("| test |"))
    assert all(f" {c} |" in line for c in cells), line
    summary = card_summary(folder)
    assert summary.startswith(f"{NAMES[kind]} verifier for `last_letter`")
    assert f"Best-of-{n} {row['best_of_n'][n]:.3f}" in summary
    # the worked example is a real training row of this verifier
    first = json.loads(
        next(
            x
            for x in run.file("verifier_data", f"{kind}.jsonl").read_text().splitlines()
            if '"kind": "generate"' not in x
        )
    )
    assert (first.get("completion") or first["chosen"]).strip() in card.text
    # the training table's steps are the training log's
    log = json.loads((folder / "train_log.json").read_text())
    assert f"| {log['rows']} | {log['steps']} |" in card.text
