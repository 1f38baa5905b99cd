"""The generator stages: train the built-in model, sample N candidates, label them."""

from __future__ import annotations

from ..candidates import label_candidates, sample_candidates
from ..errors import GenrmError
from ..model import build_tiny_model
from ..training import StopAtAccuracy, train_lm
from .run import Run, _engine, generator_spec


def train_generator(run: Run) -> dict:
    """SFT of the built-in tiny model, from scratch, on reference solutions."""
    c, task = run.config, run.task
    if c.generator:
        raise GenrmError(f"this run samples from the pretrained generator {c.generator}; there is none to train")
    problems = run.problems("gen_train")
    model, tok = build_tiny_model(c.model_size, seed=c.seed)
    callbacks = []
    if c.gen_stop_accuracy > 0:
        dev = run.problems("gen_dev")
        callbacks.append(StopAtAccuracy(task, dev, tok, c.gen_stop_accuracy, c.gen_eval_every, c.max_new_tokens))
    return train_lm(
        model,
        tok,
        [task.prompt(p) for p in problems],
        [task.reference_solution(p) for p in problems],
        c.train_config("gen"),
        run.file("models", "generator"),
        what="generator",
        callbacks=callbacks,
    )


def sample(run: Run, split: str) -> int:
    c = run.config
    return sample_candidates(
        _engine(generator_spec(run), run, chat=bool(c.generator)),
        run.task,
        run.problems(split),
        run.file("samples", f"{split}.jsonl"),
        n=c.n_candidates,
        temperature=c.temperature,
        max_new_tokens=c.max_new_tokens,
        seed=c.seed,
        description=f"sampling {split}",
    )


def label(run: Run, split: str) -> dict:
    return label_candidates(
        run.task, run.problems(split), run.file("samples", f"{split}.jsonl"), run.file("candidates", f"{split}.jsonl")
    )
