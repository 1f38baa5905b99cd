"""Training with `transformers.Trainer` (so `accelerate launch` scales it without our own code).

- `train_lm`: next-token loss on the completion only (generator SFT, GenRM, GenRM-CoT,
  unified rows); prompt tokens are masked with -100.
- `train_orm`: the LM with a scalar head (`AutoModelForSequenceClassification`, one label)
  trained with binary cross-entropy on (problem, solution) -> correct?.
- `train_dpo`: TRL's `DPOTrainer` on (prompt, correct solution, incorrect solution) pairs of one
  problem, against a frozen reference (the DPO verifier of V-STaR / the GenRM paper).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import torch
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments
from transformers.utils import logging as hf_logging

from ..core.batching import pad
from ..core.config import RUNTIME_FIELDS
from ..core.device import bf16_available
from ..core.distributed import barrier, broadcast, is_main, world_size
from ..core.errors import GenrmError
from ..core.io import replace_dir, write_json
from ..core.progress import console, progress_bar
from ..core.train_config import TrainConfig
from .model import LORA_BASE, quiet_hf_progress
from .trackers import _TrackerParams, check_trackers, tracker_dir


def add_lora(model, cfg: TrainConfig, task_type: str):
    """Wrap `model` in PEFT LoRA adapters (only they, and a new ORM head, are trained)."""
    from peft import LoraConfig, get_peft_model

    if not getattr(model, "genrm_source", None):
        raise GenrmError("LoRA needs a pretrained base loaded from a folder or Hub id; use full fine-tuning here")
    targets = cfg.lora_targets if cfg.lora_targets == "all-linear" else cfg.lora_targets.split(",")
    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        task_type=task_type,
    )
    source = model.genrm_source
    model = get_peft_model(model, lora)
    model.genrm_source = source
    return model


class _EpochSeeded(torch.utils.data.Sampler):
    """A length-grouped sampler whose order is drawn from `seed + epoch`, not from the global random state.
    Transformers' `LengthGroupedSampler` takes no seed, so its order depended on the random state when each epoch
    began, which a resumed training does not reproduce: the resumed run saw other batches than an unbroken one.
    The Trainer calls `set_epoch` on it at every epoch, resumed ones included."""

    def __init__(self, sampler, seed: int):
        self.sampler, self.seed, self.epoch = sampler, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        self.sampler.generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)


def _seed_length_grouping(trainer, seed: int) -> None:
    """Make the trainer's length-grouped sampler (if it uses one) reproducible across a resume."""
    from transformers.trainer_pt_utils import LengthGroupedSampler

    build = trainer._get_train_sampler

    def seeded(*args, **kwargs):
        sampler = build(*args, **kwargs)
        return _EpochSeeded(sampler, seed) if isinstance(sampler, LengthGroupedSampler) else sampler

    trainer._get_train_sampler = seeded


def _fingerprint(data, cfg: TrainConfig, what: str) -> str:
    """What a checkpoint may be resumed by: the same settings and data."""
    runtime = (*RUNTIME_FIELDS, "max_seconds")  # a time cap changes where training stops, not what it resumes
    keys = {k: v for k, v in asdict(cfg).items() if k not in runtime}
    h = hashlib.sha1(json.dumps([what, keys, len(data), world_size()], sort_keys=True).encode())
    for i in range(0, len(data), max(1, len(data) // 64)):  # a sample of the rows is enough to tell data apart
        row = data[i]
        h.update(str(row.get("input_ids", row)).encode())
    return h.hexdigest()


def _resume_point(ckpt: Path, fingerprint: str) -> str | None:
    """The checkpoint in the Trainer's folder `ckpt` to resume from (None: start).

    Checkpoints are kept only for the same settings, data and number of processes (a fingerprint file beside
    them); others are deleted, so a changed config never resumes someone else's optimiser state. Only the main
    process deletes and writes; every process then reads the same folder."""
    mark = ckpt / "fingerprint"
    if is_main():
        if ckpt.exists() and (not mark.exists() or mark.read_text() != fingerprint):
            console.print(f"{ckpt}: checkpoints of other settings, data or number of processes; starting afresh")
            shutil.rmtree(ckpt)
        ckpt.mkdir(parents=True, exist_ok=True)
        mark.write_text(fingerprint)
    barrier()
    done = sorted(
        (p for p in ckpt.glob("checkpoint-*") if (p / "trainer_state.json").exists()),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    return str(done[-1]) if done else None


class _Monitor(TrainerCallback):
    """Rich progress with the loss, the wall-clock cap (`max_seconds`) and checkpoints every
    `checkpoint_minutes`. Both time decisions are taken on the main process and broadcast, so every process
    stops or saves at the same step (each deciding on its own clock would desynchronise their collectives)."""

    def __init__(self, cfg: TrainConfig, bar, tid):
        self.cfg, self.bar, self.tid = cfg, bar, tid
        self.start = self.saved = time.time()
        self.save_every = cfg.checkpoint_minutes * 60

    def on_step_end(self, args, state, control, **kw):
        self.bar.update(self.tid, completed=state.global_step)
        now = time.time()
        save = bool(self.save_every) and now - self.saved >= self.save_every
        stop = bool(self.cfg.max_seconds) and now - self.start > self.cfg.max_seconds
        save, stop = broadcast((save, stop))
        if save:
            control.should_save = True
            self.saved = now
        if stop:
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            self.bar.update(self.tid, info=f"loss {logs['loss']:.4f}")


def _pad_collate(pad_id: int, label_pad: int | None):
    def collate(rows: list[dict]) -> dict[str, torch.Tensor]:
        ids, mask = pad([r["input_ids"] for r in rows], pad_id)  # (B, T) each
        batch = {"input_ids": ids, "attention_mask": mask}
        if label_pad is not None:  # token labels: -100 on prompt and padding
            batch["labels"] = pad([r["labels"] for r in rows], label_pad)[0]
        else:  # one float label per sequence (ORM)
            batch["labels"] = torch.tensor([[float(r["labels"])] for r in rows])  # (B, 1)
        return batch

    return collate


def tokenize_prompt_completion(tokenizer, prompts: Sequence[str], completions: Sequence[str]) -> list[dict]:
    """Prompt (with BOS) + completion + EOS; loss only on the completion and EOS."""
    p_ids = tokenizer(list(prompts), add_special_tokens=True).input_ids
    c_ids = tokenizer(list(completions), add_special_tokens=False).input_ids
    rows = []
    for p, c in zip(p_ids, c_ids):
        c = c + [tokenizer.eos_token_id]
        rows.append({"input_ids": p + c, "labels": [-100] * len(p) + c})
    return rows


def _run(
    model,
    tokenizer,
    data,
    cfg: TrainConfig,
    out_dir: Path,
    label_pad,
    what: str,
    callbacks=(),
    packed: bool = False,
    loss=None,
    trainer_class=Trainer,
    args_class=TrainingArguments,
    extra_args: dict | None = None,
    trainer_kwargs: dict | None = None,
    row_tokens=None,
    params: dict | None = None,
) -> dict:
    if not len(data):
        raise ValueError(f"no training rows for {what}; build the training data first")
    report_to = check_trackers(cfg.report_to)  # before any work: a missing package loses nothing
    # Transformers' Trainer on our tokenized rows (our collation and loss), or a TRL trainer that prepares its own
    own_rows = trainer_class is Trainer
    dropped = 0
    if cfg.max_length and not packed and own_rows:
        kept = [r for r in data if len(r["input_ids"]) <= cfg.max_length]
        dropped = len(data) - len(kept)
        if not kept:
            raise GenrmError(f"every {what} training row is longer than max_length={cfg.max_length}; raise it")
        data = kept
    source = getattr(model, "genrm_source", None)
    if cfg.lora_r:
        model = add_lora(model, cfg, "SEQ_CLS" if label_pad is None else "CAUSAL_LM")
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        if cfg.lora_r:
            model.enable_input_require_grads()
    hf_logging.set_verbosity_error()
    cuda = torch.cuda.is_available()
    # length-grouped batches keep padding small; the option's name changed across versions
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    grouping = (
        {"train_sampling_strategy": "group_by_length"}
        if "train_sampling_strategy" in names
        else {"group_by_length": True}
    )
    if packed or not own_rows:  # rows of one length, or a trainer with its own collation
        grouping = {}
    fingerprint = _fingerprint(data, cfg, what)
    ckpt = out_dir.with_name(out_dir.name + ".checkpoints")  # the Trainer's checkpoints of this training
    saving = cfg.checkpoint_steps > 0 or cfg.checkpoint_minutes > 0
    args = args_class(
        output_dir=str(ckpt),
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        lr_scheduler_type="warmup_stable_decay",  # a high LR until the end: tiny models learn copying late
        lr_scheduler_kwargs={"num_decay_steps": max(1, int(cfg.decay_ratio * cfg.max_steps))},
        warmup_steps=max(1, math.ceil(cfg.warmup_ratio * cfg.max_steps)),
        weight_decay=cfg.weight_decay,
        bf16=cfg.bf16 and bf16_available("cuda" if cuda else "cpu"),
        use_cpu=not cuda,
        logging_steps=max(1, min(50, cfg.max_steps // 20)),
        save_strategy="steps" if saving else "no",
        save_steps=cfg.checkpoint_steps or cfg.max_steps,  # by time: _Monitor asks in between
        save_total_limit=1,
        report_to=report_to,
        run_name=str(out_dir),  # the tracker's name of this training: the folder it writes
        disable_tqdm=True,
        **grouping,
        dataloader_num_workers=0,
        seed=cfg.seed,
        # the Trainer counts the tokens it trains on (gathered over the processes) where it can find them
        include_num_input_tokens_seen="non_padding" if own_rows else "no",
        **(extra_args or {}),
    )
    world = args.world_size  # sets up the processes' group (gloo on CPU, NCCL on GPUs) under a launcher
    resume = _resume_point(ckpt, fingerprint)
    start = time.time()
    with progress_bar(f"training {what}", cfg.max_steps) as (bar, tid):
        monitor = _Monitor(cfg, bar, tid)
        if own_rows:
            trainer_kwargs = {
                "data_collator": _pad_collate(tokenizer.pad_token_id, label_pad),
                "compute_loss_func": loss,  # None: the model's own loss (next-token cross-entropy)
                **(trainer_kwargs or {}),
            }
        trainer = trainer_class(
            model=model,
            args=args,
            train_dataset=data,
            callbacks=[monitor, *callbacks],
            **(trainer_kwargs or {}),
        )
        trainer.remove_callback(PrinterCallback)  # our progress bar shows the loss
        _seed_length_grouping(trainer, cfg.seed)
        if report_to:
            for cb in trainer.callback_handler.callbacks:
                if type(cb).__name__ == "TensorBoardCallback" and cb.logging_dir is None:  # env wins
                    cb.logging_dir = str(tracker_dir(out_dir))  # not the checkpoint folder, which is deleted
            trainer.add_callback(_TrackerParams(trainer.callback_handler, params or asdict(cfg)))
        if resume:
            console.print(f"{what}: resuming from {resume}")
        with quiet_hf_progress():  # checkpoint saves inside training draw no bars of their own
            state = trainer.train(resume_from_checkpoint=resume)
        done = trainer.state.global_step
        bar.update(tid, total=done, completed=done)  # stopped early (time cap, target accuracy): say so
    seconds = time.time() - start
    steps = trainer.state.global_step
    sample = [data[i] for i in range(min(len(data), 2000))]
    per_row = row_tokens or (lambda r: len(r["input_ids"]))
    rows_per_step = cfg.batch_size * cfg.grad_accum * world  # every process takes its own batch
    counted = trainer.state.num_input_tokens_seen  # by the Trainer: all processes, across resumes
    tokens = counted or sum(per_row(r) for r in sample) * steps * rows_per_step / len(sample)
    if counted:  # measured: the tokens trained on over the tokens of the rows
        epochs = counted / sum(len(r["input_ids"]) for r in data)
    else:
        epochs = steps * rows_per_step / len(data)
    model.eval()
    # the model folder is written whole, then renamed into place: a kill leaves the old folder or the new one.
    # Every process takes part in saving (FSDP and DeepSpeed gather their shards), only the main one writes
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    main = trainer.is_world_process_zero()
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
    barrier()
    with quiet_hf_progress():
        trainer.save_model(str(tmp))  # gathers FSDP / DeepSpeed shards; writes on the main process only
    losses = [(h["step"], float(h["loss"])) for h in trainer.state.log_history if "loss" in h]  # across resumes
    log = {
        "what": what,
        "config": asdict(cfg),
        "world_size": world,
        "steps": steps,
        "epochs": round(epochs, 4),  # passes over the rows, all processes together
        "seconds": round(seconds, 1),
        "tokens_per_second": round(tokens / max(seconds, 1e-9)),
        "tokens": round(tokens),  # trained-on tokens of all processes (forward + backward), padding excluded
        "train_loss": state.training_loss,
        "losses": losses,
        "resumed_from": resume,
        "rows": len(data),
        "rows_dropped_too_long": dropped,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    if main:
        tokenizer.save_pretrained(str(tmp))
        if cfg.lora_r:  # how to load the adapter's base again
            write_json(tmp / LORA_BASE, source)
        write_json(tmp / "train_log.json", log)
        replace_dir(tmp, out_dir)
        shutil.rmtree(ckpt, ignore_errors=True)  # finished: its checkpoints are no longer needed
    barrier()  # no process goes on (to score with it, or to exit) before the model is in place
    return log


def train_lm(
    model, tokenizer, prompts, completions, cfg: TrainConfig, out_dir, what="lm", callbacks=(), params=None
) -> dict:
    """Next-token SFT on prompt-completion pairs; saves an HF folder in `out_dir`. `params`: the settings a
    tracker (`cfg.report_to`) records for the run (default: `cfg`)."""
    data = tokenize_prompt_completion(tokenizer, prompts, completions)
    return _run(
        model, tokenizer, data, cfg, Path(out_dir), label_pad=-100, what=what, callbacks=callbacks, params=params
    )


def train_lm_rows(model, tokenizer, rows, cfg: TrainConfig, out_dir, what="lm", callbacks=(), params=None) -> dict:
    """Next-token training on ready rows of equal length (`input_ids`, `labels`): packed pretraining."""
    return _run(model, tokenizer, rows, cfg, Path(out_dir), -100, what, callbacks=callbacks, packed=True, params=params)


def bce_loss(outputs, labels, num_items_in_batch=None) -> torch.Tensor:
    """The ORM's loss: binary cross-entropy of the scalar head's logit (B, 1) against correct? (B, 1).

    The Trainer passes `num_items_in_batch`, the rows of the whole optimiser step (all accumulation steps, all
    processes), and then neither divides by the accumulation steps nor averages over processes itself (it
    multiplies by their number, which DDP's gradient mean undoes): the loss is the sum over this batch divided
    by that count, so a step's gradient is that of the mean over its rows however they are split."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    if num_items_in_batch is None:
        return bce(outputs.logits.float(), labels.float())
    return bce(outputs.logits.float(), labels.float(), reduction="sum") / num_items_in_batch


def train_orm(model, tokenizer, texts, labels, cfg: TrainConfig, out_dir, what="orm", params=None) -> dict:
    """Binary cross-entropy (`bce_loss`) on a scalar head; `model` is a sequence-classification model with
    one label. The loss is set here, whatever `problem_type` the model's config has."""
    if model.config.num_labels != 1:
        raise GenrmError(f"the ORM needs one scalar output (num_labels=1), got num_labels={model.config.num_labels}")
    ids = tokenizer(list(texts), add_special_tokens=True).input_ids
    data = [{"input_ids": i, "labels": int(bool(y))} for i, y in zip(ids, labels)]
    return _run(model, tokenizer, data, cfg, Path(out_dir), label_pad=None, what=what, loss=bce_loss, params=params)


def train_dpo(
    model, ref_model, tokenizer, rows, cfg: TrainConfig, out_dir, beta: float = 0.1, what="DPO", params=None
) -> dict:
    """DPO (TRL's `DPOTrainer`, sigmoid loss) on `rows` of `prompt`, `chosen` (a correct solution) and `rejected`
    (an incorrect solution of the same problem), against the frozen `ref_model`. A step holds `cfg.batch_size`
    pairs (twice as many sequences). The tokens logged count the chosen and rejected sequences once each (the
    reference's forward passes are not counted)."""
    import warnings

    from datasets import Dataset, disable_progress_bars
    from trl import DPOConfig, DPOTrainer

    disable_progress_bars()  # TRL's dataset preparation: our own progress bar covers training

    if not rows:
        raise GenrmError(f"no training pairs for {what}; every problem needs a correct and an incorrect candidate")
    data = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    lengths = {}

    def row_tokens(r: dict) -> int:  # prompt + chosen + prompt + rejected, as the trainer sees them
        key = (r["prompt"], r["chosen"], r["rejected"])
        if key not in lengths:
            p = len(tokenizer(r["prompt"]).input_ids)
            c, j = (len(tokenizer(x, add_special_tokens=False).input_ids) + 1 for x in (r["chosen"], r["rejected"]))
            lengths[key] = 2 * p + c + j
        return lengths[key]

    # TRL's configs turn gradient checkpointing on by default; the other verifiers train without it unless asked
    extra = {
        "beta": beta,
        "max_length": cfg.max_length or None,
        "dataset_num_proc": None,
        "gradient_checkpointing": cfg.gradient_checkpointing,
    }
    with warnings.catch_warnings():  # TRL 1.16 calls Transformers' renamed gradient-checkpointing methods
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*gradient_checkpointing.*")
        return _run(
            model,
            tokenizer,
            data,
            cfg,
            Path(out_dir),
            label_pad=-100,
            what=what,
            trainer_class=DPOTrainer,
            args_class=DPOConfig,
            extra_args=extra,
            trainer_kwargs={"ref_model": ref_model, "processing_class": tokenizer},
            row_tokens=row_tokens,
            params=params,
        )
