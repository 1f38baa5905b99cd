"""The verifier stages: training rows (built, teacher-written or imported), training, verifier objects."""

from __future__ import annotations

import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from transformers import set_seed
from transformers.utils import logging as hf_logging

from ..core.distributed import barrier, is_main, world_size
from ..core.errors import GenrmError
from ..core.io import write_json, write_jsonl
from ..core.schemas import PreferenceRow, VerifierRow, read_rows
from ..core.types import TRAINED_KINDS, Verifier
from ..data.candidates import load_candidates
from ..data.teacher import teacher_rationales
from ..data.verifier_data import balanced_pairs, build_verifier_rows, rationale_coherence
from ..models.model import build_tiny_model, load_model, merge_lora
from ..models.training import train_dpo, train_lm, train_orm
from ..verifiers import build_verifier
from .run import Run, _engine, generator_spec


def make_verifier_data(run: Run) -> dict:
    """Verifier rows: imported (`verifier_data_dir`), or built from labelled candidates with oracle or
    teacher rationales for GenRM-CoT."""
    c, task = run.config, run.task
    if c.verifier_data_dir:
        return _copy_verifier_rows(run)
    problems = run.problems("verifier_train")
    cands = load_candidates(run.file("candidates", "verifier_train.jsonl"), problems)
    pairs, stats = balanced_pairs(problems, cands, c.seed, within_problem=c.balance == "problem")
    rationales = None
    if not task.has_oracle:
        if c.teacher:
            rationales, stats["teacher"] = teacher_rationales(
                _engine(c.teacher, run, chat=True),
                task,
                pairs,
                run.file("verifier_data", "teacher_raw.jsonl"),
                k=c.k_votes,
                temperature=c.cot_temperature,
                max_new_tokens=c.cot_max_new_tokens or run.fmt.max_rationale_tokens,
                seed=c.seed,
                fmt=run.fmt,
            )
        elif "genrm_cot" in c.method_list:
            raise GenrmError(
                f"task {task.name} has no oracle rationales: set --teacher MODEL, give --verifier-data-dir "
                "(genrm import-release), or drop genrm_cot from --methods"
            )
    rows, more = build_verifier_rows(task, pairs, run.fmt, c.unified_lambda, c.seed, rationales=rationales)
    stats.update(more)
    for kind, rs in rows.items():
        write_jsonl(run.file("verifier_data", f"{kind}.jsonl"), rs)
    write_json(run.file("verifier_data", "stats.json"), stats)
    return stats


def _copy_verifier_rows(run: Run) -> dict:
    src = Path(run.config.verifier_data_dir)
    src = src / "verifier_data" if (src / "verifier_data").is_dir() else src
    stats: dict[str, Any] = {"source": str(src)}
    for kind in TRAINED_KINDS:
        if kind not in run.config.method_list:
            continue
        f = src / f"{kind}.jsonl"
        if not f.exists():
            raise GenrmError(f"{src} has no {kind}.jsonl; run genrm import-release or drop {kind} from --methods")
        rows = read_rows(f, PreferenceRow if kind == "dpo" else VerifierRow)
        if run.config.n_verifier_train and len(rows) > run.config.n_verifier_train:
            rows = rows[: run.config.n_verifier_train]  # imported rows are shuffled: a prefix is a random slice
        stats[kind] = {"rows": len(rows), "yes": sum(bool(r.get("label")) for r in rows)}
        if kind == "genrm_cot":
            stats["cot_coherence"] = rationale_coherence(rows, run.fmt)
        write_jsonl(run.file("verifier_data", f"{kind}.jsonl"), rows)
    write_json(run.file("verifier_data", "stats.json"), stats)
    return stats


def verifier_base(run: Run) -> str:
    """What verifiers are fine-tuned from (and the judge prompts): `verifier_base`; for the built-in models the
    pretraining's final checkpoint (`base/`); else the generator (its weights, not its server)."""
    c = run.config
    if c.verifier_base:
        spec = c.verifier_base
    elif not c.generator:
        from .generation import base_dir

        spec = str(base_dir(run))
    else:
        spec = generator_spec(run)
    if spec.startswith(("http://", "https://", "openai:")):
        raise GenrmError(f"verifiers cannot be fine-tuned from the server {spec}; set --verifier-base to a model")
    return spec.removeprefix("vllm:")


def train_verifier(run: Run, kind: str) -> dict:
    """ORM (scalar head, BCE), DPO (TRL, pairs of one problem) or GenRM / GenRM-CoT (next-token loss on the
    completion). With `ver_epochs` every verifier makes that many passes over its own rows (all built from the
    same candidates). The model folder gets a model card (filled in with results by `evaluate_run`), and the
    run marks the stage done (so `genrm run` does not train it again). Under `accelerate launch` every process
    trains and the main one writes; the others return once the model is in place."""
    from ..report.card import write_card

    log = _train_verifier(run, kind)
    if is_main():
        write_card(run, kind, verifier_base(run))
        run.mark(f"train_{kind}", {"seconds": log["seconds"], "world_size": log["world_size"]})
    barrier()
    return log


def _train_verifier(run: Run, kind: str) -> dict:
    if kind not in TRAINED_KINDS:
        raise GenrmError(f"unknown verifier kind '{kind}': use {', '.join(TRAINED_KINDS)}")
    c = run.config
    # what this stage creates (the ORM's new scalar head) draws from the global generators: seed them here, so
    # the result does not depend on which stages ran before in this process (a resumed run equals an unbroken one)
    set_seed(c.seed)
    rows = read_rows(run.file("verifier_data", f"{kind}.jsonl"), PreferenceRow if kind == "dpo" else VerifierRow)
    base = verifier_base(run)
    scratch = c.verifier_init == "scratch" and not (c.generator or c.verifier_base)
    out = run.file("models", kind)
    lk = c.load_kwargs()
    cfg = c.train_config("ver", kind, len(rows), world=world_size())
    params = {**c.to_dict(), "verifier": kind, **{f"train/{k}": v for k, v in asdict(cfg).items()}}
    if kind == "dpo":
        if scratch:
            raise GenrmError("a DPO verifier needs a pretrained reference; use --verifier-init generator")
        model, tok = load_model(base, dtype=torch.float32, **lk)
        ref, _ = load_model(base, dtype=torch.float32, **lk)  # the frozen reference: the same base
        model.train()
        return train_dpo(model, ref, tok, rows, cfg, out, beta=c.dpo_beta, params=params)
    if kind == "orm":
        if not scratch:
            hf_logging.set_verbosity_error()  # the new scalar head is reported as "missing": expected
            model, tok = load_model(  # fp32 weights for training (bf16 autocast does the speed)
                base, kind="orm", dtype=torch.float32, num_labels=1, problem_type="multi_label_classification", **lk
            )
        else:
            from transformers import LlamaForSequenceClassification

            tiny, tok = build_tiny_model(c.model_size, seed=c.seed + 1, words=_vocabulary(run))
            tiny.config.num_labels, tiny.config.problem_type = 1, "multi_label_classification"
            model = LlamaForSequenceClassification(tiny.config)
        model.config.pad_token_id = tok.pad_token_id
        return train_orm(
            model,
            tok,
            [r["prompt"] + r["completion"] for r in rows],
            [r["label"] for r in rows],
            cfg,
            out,
            what="ORM",
            params=params,
        )
    if not scratch:
        model, tok = load_model(base, dtype=torch.float32, **lk)
        model.train()
    else:
        model, tok = build_tiny_model(c.model_size, seed=c.seed + 1, words=_vocabulary(run))
    return train_lm(
        model,
        tok,
        [r["prompt"] for r in rows],
        [r["completion"] for r in rows],
        cfg,
        out,
        what="GenRM-CoT" if kind == "genrm_cot" else "GenRM",
        params=params,
    )


def _vocabulary(run: Run):
    return run.task.vocabulary() if hasattr(run.task, "vocabulary") else None


def _trained(run: Run, kind: str) -> str:
    """A trained verifier as an engine spec; for vLLM a LoRA adapter is merged into a plain folder first."""
    path = run.file("models", kind)
    if run.config.score_engine != "vllm":
        return str(path)
    if (path / "adapter_config.json").exists():
        merged = run.file("models", f"{kind}_merged")
        if not (merged / "config.json").exists():
            merge_lora(path, merged)
        path = merged
    return f"vllm:{path}"


def judge_context(run: Run) -> str:
    """Worked examples that open the judge's prompt (`judge_shots`): verification documents with oracle rationales
    on candidates of verifier-training problems (never a test or dev question), alternately incorrect and correct,
    each on another problem; separated as the model's pretraining documents are (EOS + BOS) where the judge is a
    model folder with both tokens, else by a blank line. Empty for tasks without an oracle."""
    c, task = run.config, run.task
    if not c.judge_shots or not task.has_oracle or not run.file("candidates", "verifier_train.jsonl").exists():
        return ""
    problems = run.problems("verifier_train")
    cands = load_candidates(run.file("candidates", "verifier_train.jsonl"), problems)
    rng = random.Random(c.seed + 5)
    shots: list[str] = []
    # in the file's (random) order, so that a run with fewer training problems (a prefix of the same draw, as in a
    # data-size sweep) prompts its judge with the same examples
    for p in problems:
        want = len(shots) % 2 == 1  # incorrect first, then correct, ...
        pick = [cd for cd in cands.get(p.id, []) if bool(cd.correct) == want]
        if pick:
            cd = rng.choice(pick)
            prompt = run.fmt.cot_prompt(task.prompt(p), cd.text)
            shots.append(prompt + task.oracle_rationale(p, cd.text, run.fmt.decision))
        if len(shots) == c.judge_shots:
            break
    sep = "\n\n"
    spec = Path(c.judge or verifier_base(run))
    if (spec / "tokenizer_config.json").exists():
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(spec)
        if tok.eos_token and tok.bos_token:
            sep = tok.eos_token + tok.bos_token
    return "".join(s + sep for s in shots)


def make_verifier(run: Run, method: str) -> Verifier:
    """The run's verifier `method`: a trained one (orm, dpo, genrm, genrm_cot) or the judge, an untuned model (the
    verifiers' base, or `judge`) prompted to verify after `judge_shots` worked examples, in its chat format when it
    has one."""
    c = run.config
    context = ""
    if method == "judge":
        model, chat = c.judge or verifier_base(run), bool(c.judge or c.generator or c.verifier_base)
        context = judge_context(run)
    else:
        model, chat = (str(run.file("models", method)) if method in ("orm", "dpo") else _trained(run, method)), False
    return build_verifier(
        method,
        model,
        run.fmt,
        k=c.k_votes,
        temperature=c.cot_temperature,
        max_new_tokens=c.cot_max_new_tokens or None,
        seed=c.seed,
        batch_size=c.batch_size,
        chat_template=c.chat_template if chat else "never",
        tensor_parallel_size=c.tensor_parallel_size,
        load_kwargs=c.load_kwargs(),
        context=context,
        concurrency=c.http_concurrency,
    )
