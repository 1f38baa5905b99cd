"""Core types and protocols of genrm: every stage speaks these and nothing else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    from .formats import VerifyFormat

TRAINED_KINDS = ("orm", "dpo", "genrm", "genrm_cot")  # verifiers fine-tuned on verifier rows
METHODS = (*TRAINED_KINDS, "judge")  # every verification method a run can score with


@dataclass
class Problem:
    """One task instance: a question and its reference answer."""

    id: str
    question: str  # task-specific payload rendered into a prompt by the task
    answer: str  # reference final answer
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Candidate:
    """One sampled solution for a problem, labelled once `correct` is set."""

    problem_id: str
    index: int
    text: str  # the solution as generated (continuation of the solve prompt)
    answer: str | None = None  # extracted final answer, None if none found
    correct: bool | None = None  # None until labelled


class Result(NamedTuple):
    """What a verifier says about one (solve prompt, solution) item. A tuple, so `score, votes,
    rationales = result` works; `votes` and `rationales` are the K per-rationale p(Yes) and texts of
    GenRM-CoT and the judge, empty for ORM and GenRM."""

    score: float
    votes: list[float]
    rationales: list[str]

    @property
    def steps(self) -> Any:
        """`genrm.core.steps.StepVerdicts` read from the rationales (GenRM-CoT or the judge on a step task: per step,
        the share of rationales marking it wrong, and the predicted first wrong step), or None where the
        rationales carry no step marks (free text, ORM, GenRM, a malformed rationale)."""
        from .steps import StepVerdicts

        return StepVerdicts.from_rationales(self.rationales) if self.rationales else None


@dataclass
class Score:
    """One candidate's row in a run's `scores/{method}.jsonl` (under its problem's `scores` list)."""

    index: int
    score: float
    votes: list[float] = field(default_factory=list)
    rationales: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, index: int, result: Result) -> "Score":
        return cls(index, result.score, list(result.votes), list(result.rationales))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Task(Protocol):
    """A task knows its problems, prompts, answers and how to verify a solution step by step.

    Subclass `genrm.tasks.StepTask` (generated problems, oracle rationales) or `genrm.tasks.DataTask`
    (problems from a dataset) to get every member; `register_task` makes a task available by name.
    """

    name: str
    prompt_template: str  # how a problem becomes the solve prompt ("{question}" is filled in)
    verify_format: VerifyFormat  # the verification prompts and the Yes/No decision line
    has_oracle: bool  # True when `oracle_rationale` writes GenRM-CoT rationales (else a teacher must)

    def make_problems(self, n: int, n_words: Sequence[int], seed: int | str) -> list[Problem]: ...

    def prompt(self, problem: Problem) -> str: ...

    def reference_solution(self, problem: Problem) -> str: ...

    def extract_answer(self, solution: str) -> str | None: ...

    def is_correct(self, problem: Problem, solution: str) -> bool: ...

    def oracle_rationale(self, problem: Problem, solution: str, decision: str = ...) -> str: ...


Item = tuple[str, str]  # (solve prompt, solution) as a verifier reads it


@runtime_checkable
class Verifier(Protocol):
    """Anything that scores (solve prompt, solution) items: `ORMVerifier`, `GenRMVerifier`, `CoTVerifier`
    (GenRM-CoT and the judge), or your own. `RewardModel`, `genrm serve` and the pipeline need nothing more."""

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        """One `Result` per item, in order; `description` names a progress bar."""
        ...


Probs = list[list[float]]  # per item: p(choice) for each choice


@runtime_checkable
class Engine(Protocol):
    """A text backend: sample continuations, and give probabilities of chosen next tokens."""

    def generate(
        self,
        prompts: Sequence[str],
        n: int,
        max_new_tokens: int,
        temperature: float,
        seed: int,
        stop: Sequence[str] = (),
        description: str | None = None,
        prefixes: Sequence[str] | None = None,
    ) -> list[list[str]]:
        """`n` continuations of each prompt (+ its prefix), each cut before the first `stop` string."""
        ...

    def choice_probs(
        self,
        prompts: Sequence[str],
        choices: Sequence[str],
        description: str | None = None,
        prefixes: Sequence[str] | None = None,
    ) -> list[list[float]]:
        """p(choice) as the next token after each prompt (+ its prefix)."""
        ...


@runtime_checkable
class PrefixSharingEngine(Engine, Protocol):
    """An engine that samples K rationales per prompt from one prefill and reads p(choice) after each
    (`TransformersEngine`); `CoTVerifier` uses it when the engine has it."""

    def sample_and_decide(
        self,
        prompts: Sequence[str],
        k: int,
        decision: Callable[[str], str],
        choices: Sequence[str] = (" Yes", " No"),
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] = (),
        description: str | None = None,
    ) -> tuple[list[list[str]], list[Probs]]: ...
