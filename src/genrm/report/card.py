"""Model cards of trained verifiers: `RUN/models/KIND/README.md` with Hugging Face metadata.

A card says what the verifier is (method, base model, task, prompt format with one worked example), what it
was trained on and how, and what it measured in its run (verifier accuracy, AUROC, Best-of-N with its 95%
CI, beside the run's pass@1 / self-consistency / pass@N), so a folder copied or pushed to a hub explains
itself. It is written when the verifier is trained and rewritten by every evaluation of the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..analysis.evaluate import VERIFIER_NAMES
from ..core.io import iter_jsonl, read_json

SUMMARY = "> "  # the card's one-line summary starts with this (`genrm serve` prints it)

METHOD_TEXT = {
    "orm": "a discriminative outcome reward model (ORM): the base LM with a scalar head trained with binary "
    "cross-entropy on (problem, solution) -> correct?; score = sigmoid(logit)",
    "dpo": "a DPO verifier (V-STaR): the base LM trained with TRL's DPOTrainer on (correct, incorrect) solution "
    "pairs of one problem, against the frozen base; score = pi(solution | problem), no reference subtracted",
    "genrm": "a generative verifier answering directly: the base LM fine-tuned by next-token prediction to "
    "answer the verification question with Yes/No; score = p(Yes)",
    "genrm_cot": "a generative verifier with chain-of-thought: the base LM fine-tuned by next-token prediction "
    "to write a step-by-step verification rationale, then Yes/No; score = the mean p(Yes) over K sampled "
    "rationales",
}


def _hub_id(spec: str) -> str | None:
    """`spec` if it names a Hub model (`org/name`, not a local path), else None."""
    if spec.count("/") == 1 and not Path(spec).exists() and not spec.startswith((".", "/", "~")):
        return spec
    return None


def _results(run) -> list[tuple[str, dict]]:
    """(split, results.json) of the run's evaluations: test first, then dev."""
    found = []
    for split, path in (("test", run.file("results.json")), ("dev", run.file("dev", "results.json"))):
        if path.exists():
            found.append((split, read_json(path)))
    return found


def measured(results: dict, kind: str) -> dict[str, Any] | None:
    """The card's numbers of verifier `kind` from one results.json (None: not scored there)."""
    m = results["methods"].get(VERIFIER_NAMES[kind])
    if m is None:
        return None
    n = str(results["N"])

    def at_n(name: str) -> float | None:
        row = results["methods"].get(name)
        return row["best_of_n"][n] if row else None

    return {
        "N": results["N"],
        "problems": results["problems"],
        "best_of_n": m["best_of_n"][n],
        "ci95": m["ci95_at_N"],
        "verifier_accuracy": m.get("verifier_accuracy"),
        "auroc": m.get("auroc"),
        "auroc_within_problem": m.get("auroc_within_problem"),
        "pass@1": at_n("pass@1"),
        "self-consistency": at_n("self-consistency"),
        "pass@N": at_n("pass@N (oracle)"),
    }


def trained_epochs(log: dict) -> float:
    """Passes over its rows a training made (from its train_log.json): as counted in training (the tokens trained on
    over the tokens of the rows), else steps x sequences per step (of all its processes) / rows."""
    if "epochs" in log:
        return log["epochs"]
    per_step = log["config"]["batch_size"] * log["config"]["grad_accum"] * log.get("world_size", 1)
    return log["steps"] * per_step / max(1, log.get("rows") or 1)


def _example(run, kind: str) -> str:
    """One verification training row of the verifier, as the model sees it."""
    rows = iter_jsonl(run.file("verifier_data", f"{kind}.jsonl"))
    r = next((r for r in rows if r.get("kind") != "generate"), None)  # not a unified solution row
    if r is None:
        return "(no verification training rows found)"
    if kind == "dpo":
        return f"{r['prompt']}\n--- chosen (correct):\n{r['chosen']}\n--- rejected (incorrect):\n{r['rejected']}"
    if kind == "orm":
        return f"{r['prompt']}{r['completion']}\n--- label: {'correct' if r['label'] else 'incorrect'}"
    return f"{r['prompt']}{r['completion']}"


def _fmt(x: Any) -> str:
    return "—" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def write_card(run, kind: str, base: str) -> Path:
    """Write (or rewrite) `RUN/models/KIND/README.md` from the run's config, data, training log and results;
    `base` is the model the verifier was fine-tuned from (`genrm.pipeline.verification.verifier_base`)."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    c, folder = run.config, run.file("models", kind)
    name = VERIFIER_NAMES[kind]
    log = read_json(folder / "train_log.json") if (folder / "train_log.json").exists() else {}
    stats_file = run.file("verifier_data", "stats.json")
    stats = read_json(stats_file) if stats_file.exists() else {}
    builtin = not (c.generator or c.verifier_base)
    lists = not c.data and hasattr(run.task, "vocabulary")
    test_words = ",".join(map(str, c.test_counts()))
    words = f"trained on {c.train_words}-word lists, tested on {test_words}-word lists"
    if not lists:
        words = "train and test problems of the task's data"
    evals, lines = [], []
    evaluated = [(split, got) for split, res in _results(run) if (got := measured(res, kind)) is not None]
    for split, got in evaluated:
        title = f"genrm {c.task} {split}" + (f" ({test_words} words)" if lists else "")
        for metric, key, label in (
            ("accuracy", "best_of_n", f"Best-of-{got['N']}"),
            ("accuracy", "verifier_accuracy", "verifier accuracy"),
            ("roc_auc", "auroc", "AUROC"),
            ("roc_auc", "auroc_within_problem", "AUROC within problem"),
        ):
            if got[key] is not None:
                evals.append(
                    EvalResult(
                        task_type="text-classification",
                        task_name="solution verification (Best-of-N)",
                        dataset_type=f"genrm/{c.task}",
                        dataset_name=title,
                        dataset_split=split,
                        metric_type=metric,
                        metric_name=label,
                        metric_value=round(got[key], 4),
                    )
                )
        lo, hi = got["ci95"]
        lines.append(
            f"| {split} | {got['problems']} | {_fmt(got['best_of_n'])} [{lo:.3f}, {hi:.3f}] | "
            f"{_fmt(got['verifier_accuracy'])} | {_fmt(got['auroc'])} | {_fmt(got['auroc_within_problem'])} | "
            f"{_fmt(got['pass@1'])} | {_fmt(got['self-consistency'])} | {_fmt(got['pass@N'])} |"
        )
    data = ModelCardData(
        model_name=f"{run.path.name}/{kind}",
        library_name="transformers",
        pipeline_tag="text-classification" if kind == "orm" else "text-generation",
        tags=["genrm", "verifier", "reward-model", kind, c.task],
        base_model=_hub_id(base),
        eval_results=evals or None,
        license="mit" if builtin else None,
    )
    first_split, first = evaluated[0] if evaluated else ("", None)
    summary = (
        f"{name} verifier for `{c.task}` ({words}), fine-tuned from "
        f"{'the genrm built-in base' if builtin else base}; "
        + (
            f"Best-of-{first['N']} {first['best_of_n']:.3f} (pass@1 {_fmt(first['pass@1'])}), AUROC "
            f"{_fmt(first['auroc'])} on {first_split}"
            if first
            else "not evaluated yet (`genrm evaluate RUN`)"
        )
    )
    question, solution = "the question", "a solution"
    if run.file("problems", "test.jsonl").exists() and run.file("candidates", "test.jsonl").exists():
        question = next(iter_jsonl(run.file("problems", "test.jsonl")))["question"]
        solution = next(iter_jsonl(run.file("candidates", "test.jsonl")))["candidates"][0]["text"]
    source = (
        f"ready rows from `{c.verifier_data_dir}`"
        if c.verifier_data_dir
        else f"the generator's own samples on {c.n_verifier_train} training problems "
        f"({c.n_train_samples or c.n_candidates} each), balanced 50/50 correct/incorrect within each problem"
    )
    cfg = log.get("config", {})
    epochs = trained_epochs(log) if log.get("rows") else None
    loss = log["losses"][-1][1] if log.get("losses") else None
    batch = cfg.get("batch_size", "—")
    if cfg and (cfg.get("grad_accum", 1) > 1 or log.get("world_size", 1) > 1):  # rows per optimiser step, and how
        world = log.get("world_size", 1)
        batch = f"{batch * cfg['grad_accum'] * world} ({batch} x {cfg['grad_accum']} accumulated x {world} processes)"
    table = (
        "| split | problems | Best-of-N [95% CI] | verifier accuracy | AUROC | AUROC within problem | pass@1 | "
        "self-consistency | pass@N |\n|---|---|---|---|---|---|---|---|---|\n" + "\n".join(lines)
        if lines
        else "Not evaluated yet: run `genrm evaluate RUN` (or finish the run)."
    )
    content = f"""---
{data.to_yaml()}
---

# {name} verifier: `{run.path.name}/models/{kind}`

{SUMMARY}{summary}

Made by genrm (generative verifiers as next-token prediction, Zhang et al., ICLR 2025).

## Method
{name}: {METHOD_TEXT[kind]}.

- Base model: `{base}`{" (genrm's built-in word-level Llama; it never saw verification text)" if builtin else ""}
- Task: `{c.task}`{f" (data `{c.data}`)" if c.data else ""}, {words}
- Training data: {source}

## Prompt format (one training row)
```text
{_example(run, kind)}
```

## Training
| rows | steps | epochs | batch | learning rate | final loss | seconds | trained tokens |
|---|---|---|---|---|---|---|---|
| {log.get("rows", "—")} | {log.get("steps", "—")} | {_fmt(epochs)} | {batch} \
| {cfg.get("lr", "—")} | {_fmt(loss)} | {log.get("seconds", "—")} | {log.get("tokens", "—")} |

Verification data: {json.dumps(stats) if stats else "—"}

## Measured in its run
{table}

Best-of-N: accuracy of the candidate this verifier ranks first among N sampled per problem (95% bootstrap
CI over problems); the other columns are the same run's baselines on the same candidates.

## Use
```python
from genrm import RewardModel

reward = RewardModel.load("{folder}")
reward.score([({question!r}, {solution!r})])  # [Result(score=..., ...)]: a test question, a sampled solution
```
Serve it: `genrm serve {folder}`.
"""
    ModelCard(content).save(folder / "README.md")
    return folder / "README.md"


def card_summary(folder: str | Path) -> str | None:
    """The one-line summary of the model card in `folder` (None: no card)."""
    card = Path(folder) / "README.md"
    if not card.exists():
        return None
    for line in card.read_text(encoding="utf-8").splitlines():
        if line.startswith(SUMMARY):
            return line[len(SUMMARY) :]
    return None
