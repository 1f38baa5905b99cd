"""The run configuration: every setting of a run, documented once; the CLI is generated from it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import GenrmError
from .train_config import REPORT_TO_HELP, TrainConfig, trackers
from .types import METHODS

# the paper's length-generalisation split (`--test-words paper`): verifiers train on 2-4 words, test on these
LENGTH_SPLIT = {"last_letter": "6", "word_sort": "5"}
PROMPT_FORMATS = (
    "question",
    "verbatim",
    "auto",
)  # how a reward request's prompt text is read (genrm.serving.reward)


def check_prompt_format(prompt_format: str, name: str = "prompt_format") -> str:
    if prompt_format not in PROMPT_FORMATS:
        raise GenrmError(f"{name} {prompt_format!r}: use one of {', '.join(PROMPT_FORMATS)}")
    return prompt_format


REWARD_MODES = ("outcome", "step_min")


def check_reward_mode(mode: str, name: str = "reward") -> str:
    if mode not in REWARD_MODES:
        raise GenrmError(
            f"{name} {mode!r}: use outcome (p(correct), the default) or step_min (the lowest step score a "
            "GenRM-CoT or judge rationale gives, as a process reward model ranks; p(correct) where no steps are read)"
        )
    return mode


def parse_counts(spec: str) -> list[int]:
    """'2-4' -> [2, 3, 4]; '5,6' -> [5, 6]."""
    out: list[int] = []
    try:
        for part in str(spec).split(","):
            if "-" in part:
                a, b = part.split("-")
                out.extend(range(int(a), int(b) + 1))
            elif part.strip():
                out.append(int(part))
    except ValueError:
        raise GenrmError(f"word counts '{spec}' are not valid: write a range like 2-4 or a list like 5,6") from None
    if not out or min(out) < 1:
        raise GenrmError(f"word counts '{spec}' are not valid: give counts >= 1, like 2-4")
    return sorted(set(out))


# settings that change how a run or a training is carried out (checkpoints, logs), not what it computes: a run
# folder resumes and a training checkpoint is reused whatever they are
RUNTIME_FIELDS = ("checkpoint_steps", "checkpoint_minutes", "report_to", "workers", "http_concurrency")


@dataclass
class RunConfig:
    """Everything a run needs; saved as the header of run.json in the run folder."""

    # task and data
    task: str = field(default="last_letter", metadata={"help": "task name (genrm tasks lists them)"})
    data: str = field(
        default="", metadata={"help": "gsm8k/math/jsonl data: a .jsonl file, a folder with train/test.jsonl, a Hub id"}
    )
    train_words: str = field(default="2-4", metadata={"help": "word counts of training problems, e.g. 2-4"})
    test_words: str = field(
        default="2-4",
        metadata={
            "help": "word counts of test (and dev) problems; 'paper': the paper's length split (6 words for "
            "last_letter, 5 for word_sort), which the built-in base cannot solve at all (see the README)"
        },
    )
    n_gen_train: int = field(default=50000, metadata={"help": "pretraining problems (base=pretrain)"})
    n_verifier_train: int = field(
        default=6000, metadata={"help": "problems whose sampled candidates train the verifiers"}
    )
    n_test: int = field(default=300, metadata={"help": "test problems"})
    n_dev: int = field(
        default=300, metadata={"help": "dev problems at the test word counts (for tuning; never test questions)"}
    )
    # models (Hub ids, local folders, .gguf files; engines: vllm:<model>, http://host:port for servers)
    generator: str = field(
        default="", metadata={"help": "pretrained generator to sample from (empty: train the built-in tiny model)"}
    )
    verifier_base: str = field(
        default="", metadata={"help": "model the verifiers are fine-tuned from (empty: the generator)"}
    )
    judge: str = field(default="", metadata={"help": "model or engine of the LLM-as-a-Judge (empty: the generator)"})
    judge_shots: int = field(
        default=2,
        metadata={
            "help": "worked verification examples (oracle rationales on training candidates) in the judge's prompt"
        },
    )
    teacher: str = field(
        default="", metadata={"help": "model or engine writing GenRM-CoT training rationales where no oracle exists"}
    )
    verifier_data_dir: str = field(
        default="", metadata={"help": "ready verifier rows ({orm,genrm,genrm_cot}.jsonl) instead of building them"}
    )
    test_candidates: str = field(
        default="", metadata={"help": "folder with problems/ and candidates/test.jsonl to evaluate on, not sampling"}
    )
    chat_template: str = field(
        default="auto", metadata={"help": "chat template for generator/judge/teacher prompts: auto/always/never"}
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "allow models that ship their own code"})
    score_engine: str = field(
        default="transformers",
        metadata={"help": "engine for trained verifiers: transformers, or vllm (LoRA adapters are merged first)"},
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "GPUs per vLLM engine (vllm:<model> specs)"})
    workers: int = field(
        default=1,
        metadata={
            "help": "engine processes that sample and score side by side, each on its own share of the problems "
            "and its own GPUs (tensor_parallel_size each) when there are GPUs; results equal one process's"
        },
    )
    http_concurrency: int = field(
        default=8, metadata={"help": "requests in flight per server for server engines (comma list of URLs: several)"}
    )
    # the built-in models (when no --generator is given)
    base: str = field(
        default="builtin",
        metadata={
            "help": "built-in base: builtin (shipped, never saw verification text), builtin-verify (the ablation "
            "pretrained on GenRM-CoT text), pretrain (pretrain it in this run, from scratch), or a folder written by "
            "`genrm pretrain`"
        },
    )
    roles: str = field(
        default="one",
        metadata={
            "help": "built-in models: 'one' checkpoint (the base) is generator, verifiers' base, DPO reference and "
            "judge, as in the paper; 'split': the generator is an earlier checkpoint at --gen-stop-accuracy"
        },
    )
    model_size: str = field(default="tiny", metadata={"help": "built-in model size (base=pretrain): nano, tiny, small"})
    gen_steps: int = field(default=4000, metadata={"help": "pretraining steps (base=pretrain)"})
    gen_batch_size: int = field(default=16, metadata={"help": "pretraining batch size, packed rows (base=pretrain)"})
    gen_lr: float = field(default=3e-3, metadata={"help": "pretraining learning rate (base=pretrain)"})
    gen_max_seconds: float = field(default=0, metadata={"help": "cap on pretraining seconds (0: none)"})
    gen_stop_accuracy: float = field(
        default=0.4,
        metadata={"help": "the generator is the first pretraining checkpoint at this sampled dev accuracy"},
    )
    gen_eval_every: int = field(default=50, metadata={"help": "pretraining steps between those accuracy checks"})
    # sampling
    n_candidates: int = field(default=16, metadata={"help": "N: candidates sampled per problem"})
    n_train_samples: int = field(
        default=8, metadata={"help": "samples per verifier-training problem (0: N, as for test problems)"}
    )
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature of candidates"})
    max_new_tokens: int = field(default=64, metadata={"help": "token cap of a sampled solution"})
    # verifiers
    methods: str = field(default=",".join(METHODS), metadata={"help": "verifiers to train and score, comma-separated"})
    verifier_init: str = field(default="generator", metadata={"help": "start verifiers from 'generator' or 'scratch'"})
    balance: str = field(
        default="problem",
        metadata={"help": "verifier rows: as many correct as incorrect per 'problem' (Best-of-N's need) or 'global'"},
    )
    unified_lambda: float = field(
        default=1 / 3, metadata={"help": "unified training: solution rows per verification row (0 disables)"}
    )
    ver_epochs: float = field(
        default=6,
        metadata={
            "help": "epochs of every verifier over its rows (steps = epochs x rows / batch size, the same candidates "
            "for all); 0: --ver-steps for each"
        },
    )
    ver_steps: int = field(default=150, metadata={"help": "training steps per verifier (when --ver-epochs is 0)"})
    ver_batch_size: int = field(default=32, metadata={"help": "verifier training batch size"})
    ver_lr: float = field(default=1e-3, metadata={"help": "verifier learning rate (fine-tuning the base)"})
    orm_lr: float = field(default=0, metadata={"help": "the ORM's learning rate (0: --ver-lr)"})
    dpo_lr: float = field(default=0, metadata={"help": "the DPO verifier's learning rate (0: --ver-lr)"})
    dpo_beta: float = field(default=0.1, metadata={"help": "DPO's beta (strength of the pull to the reference)"})
    ver_max_seconds: float = field(default=0, metadata={"help": "cap on each verifier's training seconds (0: none)"})
    ver_grad_accum: int = field(default=1, metadata={"help": "verifier gradient accumulation steps"})
    lora_r: int = field(default=0, metadata={"help": "LoRA rank for verifier training (0: full fine-tuning)"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    max_length: int = field(default=0, metadata={"help": "drop verifier rows longer than this many tokens (0: keep)"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "gradient checkpointing in training"})
    checkpoint_steps: int = field(
        default=0, metadata={"help": "resumable training checkpoint every N steps (0: off; the last one is kept)"}
    )
    checkpoint_minutes: float = field(
        default=10.0, metadata={"help": "resumable training checkpoint every N minutes (0: off)"}
    )
    report_to: str = field(default="none", metadata={"help": REPORT_TO_HELP})
    k_votes: int = field(default=4, metadata={"help": "K: rationales sampled per candidate by GenRM-CoT and the judge"})
    cot_temperature: float = field(
        default=0.3, metadata={"help": "temperature of sampled rationales (0.3: chosen on the dev split over 1.0)"}
    )
    cot_max_new_tokens: int = field(
        default=0, metadata={"help": "rationale token cap (0: the task's; 128 built-in tasks, else 256)"}
    )
    # runtime
    seed: int = field(default=0, metadata={"help": "random seed of every stage"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: all cores)"})
    batch_size: int = field(default=256, metadata={"help": "sequences per batch when sampling and scoring"})

    def __post_init__(self) -> None:
        parse_counts(self.train_words)
        self.test_counts()
        unknown = [m for m in self.method_list if m not in METHODS]
        if unknown:
            raise GenrmError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(METHODS)}")
        if self.balance not in ("problem", "global"):
            raise GenrmError(f"balance '{self.balance}': use 'problem' or 'global'")
        if self.roles not in ("one", "split"):
            raise GenrmError(f"roles '{self.roles}': use 'one' (one checkpoint in every role) or 'split'")
        trackers(self.report_to)
        if self.judge_shots < 0 or self.n_train_samples < 0 or self.ver_epochs < 0:
            raise GenrmError("judge_shots, n_train_samples and ver_epochs must be >= 0")
        if self.verifier_init not in ("generator", "scratch"):
            raise GenrmError(f"verifier_init '{self.verifier_init}': use 'generator' or 'scratch'")
        if self.score_engine not in ("transformers", "vllm"):
            raise GenrmError(f"score_engine '{self.score_engine}': use transformers or vllm")
        if self.chat_template not in ("auto", "always", "never"):
            raise GenrmError(f"chat_template '{self.chat_template}': use auto, always or never")
        names = ("n_gen_train", "n_verifier_train", "n_test", "n_dev", "n_candidates", "k_votes", "workers")
        for name in (*names, "tensor_parallel_size", "http_concurrency"):
            if getattr(self, name) < 1:
                raise GenrmError(f"{name}={getattr(self, name)}: must be >= 1")

    def test_counts(self) -> list[int]:
        """Word counts of test and dev problems (`paper` resolved for this task)."""
        if self.test_words == "paper":
            return parse_counts(LENGTH_SPLIT.get(self.task, self.train_words))
        return parse_counts(self.test_words)

    @property
    def method_list(self) -> list[str]:
        return [m.strip() for m in self.methods.split(",") if m.strip()]

    def train_config(self, prefix: str, kind: str = "", rows: int = 0, world: int = 1) -> TrainConfig:
        """The generator's (`prefix="gen"`) or a verifier's (`prefix="ver"`, its `kind` and number of training
        `rows`: with `ver_epochs` the steps follow from them and from the `world` of processes training together,
        each taking `ver_batch_size` rows per accumulation step) optimisation settings."""
        verifier = prefix == "ver"
        steps, lr = getattr(self, f"{prefix}_steps"), getattr(self, f"{prefix}_lr")
        if verifier and self.ver_epochs and rows:
            per_step = self.ver_batch_size * self.ver_grad_accum * world
            steps = max(1, math.ceil(self.ver_epochs * rows / per_step))
        if verifier and kind in ("orm", "dpo"):
            lr = getattr(self, f"{kind}_lr") or lr
        return TrainConfig(
            max_steps=steps,
            batch_size=getattr(self, f"{prefix}_batch_size"),
            lr=lr,
            max_seconds=getattr(self, f"{prefix}_max_seconds"),
            grad_accum=self.ver_grad_accum if verifier else 1,
            lora_r=self.lora_r if verifier else 0,
            lora_alpha=self.lora_alpha,
            max_length=self.max_length if verifier else 0,
            gradient_checkpointing=self.gradient_checkpointing,
            seed=self.seed,
            checkpoint_steps=self.checkpoint_steps,
            checkpoint_minutes=self.checkpoint_minutes,
            report_to=self.report_to,
        )

    def load_kwargs(self) -> dict[str, Any]:
        return {"trust_remote_code": True} if self.trust_remote_code else {}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise GenrmError(f"run config has unknown field(s) {', '.join(sorted(unknown))}; remove them")
        return cls(**d)


# Presets: named overrides of the defaults (the CPU quickstart is the default itself).
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {},
    # the verifier data size the settings were chosen at on the dev split (about 7,300 rows); ~20 min on 2 cores
    "cpu-large": dict(n_verifier_train=12000),
    "micro": dict(  # seconds: the test suite's end-to-end run (pretrains a nano model in the run)
        base="pretrain",
        model_size="nano",
        train_words="1",
        test_words="1",
        n_gen_train=2000,
        n_verifier_train=24,
        n_test=6,
        n_dev=6,
        gen_steps=200,
        gen_eval_every=100,
        gen_batch_size=8,
        ver_epochs=0,  # a fixed number of steps: the micro rows are too few for epochs to mean anything
        n_train_samples=0,
        ver_steps=8,
        ver_lr=3e-3,  # the base never saw a verification prompt: a few steps must teach ' Yes' / ' No'
        n_candidates=4,
        k_votes=2,
        ver_batch_size=16,
        max_new_tokens=40,
        cot_max_new_tokens=60,
    ),
    "gpu": dict(  # one H100/H200: the same protocol at the paper's scale (Best-of-32, K=32, ~50K verifier records)
        base="pretrain",
        model_size="small",
        n_gen_train=100000,
        gen_steps=6000,
        gen_batch_size=64,
        gen_lr=2e-3,
        n_verifier_train=12000,
        n_train_samples=32,
        ver_batch_size=128,
        n_candidates=32,
        k_votes=32,
        batch_size=2048,
    ),
}


def preset_config(preset: str = "cpu", **overrides: Any) -> RunConfig:
    if preset not in PRESETS:
        raise GenrmError(f"unknown preset '{preset}': choose one of {', '.join(PRESETS)}")
    return replace(RunConfig(), **{**PRESETS[preset], **overrides})


@dataclass
class ServeLimits:
    """Request limits and batching settings of `genrm serve` (its options are generated from these fields)."""

    max_items: int = field(default=256, metadata={"help": "items per request"})
    max_chars: int = field(default=32_000, metadata={"help": "characters per item (question + solution, or query)"})
    max_body_bytes: int = field(default=64 * 2**20, metadata={"help": "bytes per request body"})
    max_batch_items: int = field(default=64, metadata={"help": "items per model call (dynamic batching)"})
    max_wait_ms: float = field(default=5.0, metadata={"help": "how long a lone request waits for others to batch with"})
    max_queue_items: int = field(default=4096, metadata={"help": "items waiting for the model; beyond: 429"})
    prompt_format: str = field(
        default="auto", metadata={"help": "how /get_reward reads prompts: auto, question or verbatim"}
    )
    reward: str = field(
        default="outcome",
        metadata={"help": "/get_reward's rewards: outcome (p(correct)) or step_min (lowest step score of CoT steps)"},
    )
    degenerate: str = field(
        default="score",
        metadata={"help": "degenerate solutions (empty, an opener, the question, a repetition): score, or floor to 0"},
    )

    def __post_init__(self) -> None:
        for name in ("max_items", "max_chars", "max_body_bytes", "max_batch_items", "max_queue_items"):
            if getattr(self, name) < 1:
                raise GenrmError(f"{name}={getattr(self, name)}: must be >= 1")
        check_prompt_format(self.prompt_format, "--prompt-format")
        check_reward_mode(self.reward, "--reward")
        if self.degenerate not in ("score", "floor"):
            raise GenrmError(f"--degenerate {self.degenerate!r}: use score (the verifier reads everything) or floor")
        if self.max_queue_items < self.max_items:
            raise GenrmError(
                f"max_queue_items={self.max_queue_items} < max_items={self.max_items}: a full request could never "
                "be queued; raise --max-queue-items"
            )
