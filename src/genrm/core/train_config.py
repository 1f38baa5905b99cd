"""Settings of the training loops: `TrainConfig` (every fine-tuning: verifiers, the generator) and
`PretrainConfig` (`genrm pretrain`, the built-in base), with the experiment trackers they may log to."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import GenrmError

TRACKERS = ("tensorboard", "wandb", "mlflow")


REPORT_TO_HELP = (
    "training logs for experiment trackers: none, tensorboard, wandb, mlflow (comma list); TensorBoard writes "
    "next to the model (MODEL.logs/), W&B and MLflow follow their own environment (WANDB_PROJECT, "
    "MLFLOW_TRACKING_URI)"
)


def trackers(report_to: str) -> list[str]:
    """The trackers named in a `--report-to` value (`none`: no tracker), or an error naming the valid ones."""
    names = [t.strip() for t in report_to.split(",") if t.strip() and t.strip() != "none"]
    unknown = [t for t in names if t not in TRACKERS]
    if unknown:
        raise GenrmError(
            f"--report-to {report_to}: unknown tracker(s) {', '.join(unknown)}; use none or "
            f"{', '.join(TRACKERS)} (comma list)"
        )
    return names


@dataclass
class TrainConfig:
    """Optimisation settings shared by every trainer."""

    # schedule
    max_steps: int = field(default=1000, metadata={"help": "optimiser steps (upper bound; see max_seconds)"})
    max_seconds: float = field(default=0, metadata={"help": "stop after this many seconds of training (0: no cap)"})
    batch_size: int = field(default=32, metadata={"help": "sequences per device per step"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps"})
    # optimiser
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate (linear warm-up, constant, cosine decay)"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "fraction of steps for linear warm-up"})
    decay_ratio: float = field(
        default=0.3, metadata={"help": "fraction of steps for the final cosine decay (warmup-stable-decay)"}
    )
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    # LoRA (PEFT): 0 trains every weight
    lora_r: int = field(default=0, metadata={"help": "LoRA rank (0: full fine-tuning)"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    lora_targets: str = field(default="all-linear", metadata={"help": "LoRA target modules (comma list)"})
    # runtime
    max_length: int = field(default=0, metadata={"help": "drop training rows longer than this many tokens (0: keep)"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "trade compute for activation memory"})
    bf16: bool = field(default=True, metadata={"help": "bf16 autocast where the hardware supports it"})
    seed: int = field(default=0, metadata={"help": "random seed for initialisation and data order"})
    # checkpoints: a killed training resumes from the last one (optimizer, schedule and data order included)
    checkpoint_steps: int = field(default=0, metadata={"help": "save a resumable checkpoint every N steps (0: off)"})
    checkpoint_minutes: float = field(
        default=10.0, metadata={"help": "save a resumable checkpoint every N minutes of training (0: off)"}
    )
    report_to: str = field(default="none", metadata={"help": REPORT_TO_HELP})

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError("max_steps, batch_size and grad_accum must be >= 1")
        if self.lora_r < 0:
            raise ValueError("lora_r must be >= 0")
        trackers(self.report_to)


@dataclass
class PretrainConfig:
    """Settings of `genrm pretrain`; saved in the model card."""

    # data
    tasks: str = field(default="last_letter,word_sort", metadata={"help": "step tasks of the corpus, comma-separated"})
    words: str = field(default="1-4", metadata={"help": "word counts of the corpus problems"})
    n_problems: int = field(default=50000, metadata={"help": "training problems per task"})
    solve_share: float = field(
        default=1.0, metadata={"help": "share of solve documents (the rest verify; 1.0: never any verification text)"}
    )
    aux_tasks: str = field(
        default="first_letter,copy_list,reverse_list",
        metadata={"help": "general list tasks, solve documents only (e.g. first_letter,copy_list,reverse_list)"},
    )
    aux_words: str = field(default="1-10", metadata={"help": "word counts of the general list tasks' problems"})
    aux_share: float = field(default=0.3, metadata={"help": "share of documents from the general list tasks"})
    probe_words: str = field(
        default="5,6", metadata={"help": "also probe solving at these word counts (the length split's test lengths)"}
    )
    # model and optimisation
    model_size: str = field(default="tiny", metadata={"help": "built-in model size: nano, tiny, small, base"})
    steps: int = field(default=3000, metadata={"help": "optimiser steps"})
    batch_size: int = field(default=16, metadata={"help": "packed rows per step"})
    seq_len: int = field(default=256, metadata={"help": "tokens per packed row"})
    lr: float = field(default=3e-3, metadata={"help": "peak learning rate"})
    max_seconds: float = field(default=0, metadata={"help": "stop after this many seconds (0: no cap)"})
    # checkpoints
    eval_every: int = field(default=50, metadata={"help": "steps between dev accuracy checks"})
    n_dev: int = field(default=128, metadata={"help": "dev problems per task (held out of the corpus)"})
    generator_accuracy: float = field(
        default=0.4, metadata={"help": "a task's generator is the first checkpoint at this sampled dev accuracy"}
    )
    max_new_tokens: int = field(default=48, metadata={"help": "token cap of a dev solution"})
    checkpoint_steps: int = field(default=0, metadata={"help": "resumable checkpoint every N steps (0: off)"})
    checkpoint_minutes: float = field(default=10.0, metadata={"help": "resumable checkpoint every N minutes (0: off)"})
    report_to: str = field(default="none", metadata={"help": REPORT_TO_HELP})
    seed: int = field(default=0, metadata={"help": "seed of the corpus, the initialisation and the data order"})
    init: str = field(default="", metadata={"help": "continue from this model folder (empty: a new model)"})
    candidates_from: str = field(
        default="",
        metadata={"help": "verify documents also check this generator's sampled solutions (a model folder)"},
    )
    sampled_share: float = field(
        default=0.5, metadata={"help": "with --candidates-from: share of verify documents on sampled solutions"}
    )
    sampled_problems: int = field(default=4000, metadata={"help": "with --candidates-from: problems sampled per task"})
    samples_per_problem: int = field(default=8, metadata={"help": "with --candidates-from: solutions per problem"})

    def __post_init__(self) -> None:
        trackers(self.report_to)

    def task_list(self) -> list[str]:
        return [t.strip() for t in self.tasks.split(",") if t.strip()]

    def aux_list(self) -> list[str]:
        return [t.strip() for t in self.aux_tasks.split(",") if t.strip()]
