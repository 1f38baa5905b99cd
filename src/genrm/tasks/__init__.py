"""Layer 2, tasks: owns what a task is made of (questions, reference answers, prompts, answer checking, oracle
rationales) for the built-in list tasks (`last_letter`, `word_sort`, ...; `base`, `lists`) and the dataset
tasks (`gsm8k`, `math`, `jsonl`; `data`), and this registry: tasks are found by name, and a typo gets the
closest name suggested. Imports: core.
"""

from __future__ import annotations

import difflib
from typing import Callable

from ..core.errors import GenrmError
from ..core.types import Task
from .base import DECISION, StepTask
from .data import DataTask
from .gsm8k import GSM8K
from .jsonl import JsonlTask
from .last_letter import LastLetter
from .lists import CopyList, FirstLetter, ReverseList
from .math import MathTask
from .word_sort import WordSort

TASKS: dict[str, Callable[..., Task]] = {
    "last_letter": LastLetter,
    "word_sort": WordSort,
    "gsm8k": GSM8K,
    "math": MathTask,
    "jsonl": JsonlTask,
    "first_letter": FirstLetter,  # general list skills (pretraining the built-in base)
    "copy_list": CopyList,
    "reverse_list": ReverseList,
}


def register_task(name: str, factory: Callable[..., Task], replace: bool = False) -> None:
    """Make a task available to every stage and the CLI under `name` (an existing name only with `replace`)."""
    if name in TASKS and not replace and TASKS[name] is not factory:
        raise GenrmError(f"task '{name}' is already registered ({TASKS[name]!r}); use another name or replace=True")
    TASKS[name] = factory


def get_task(name: str, **kwargs) -> Task:
    if name not in TASKS:
        close = difflib.get_close_matches(name, TASKS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"choose one of {', '.join(sorted(TASKS))}"
        raise GenrmError(f"unknown task '{name}': {hint}")
    factory = TASKS[name]
    if kwargs.get("data") and isinstance(factory, type) and not issubclass(factory, DataTask):
        raise GenrmError(f"task '{name}' generates its problems; --data applies to gsm8k, math and jsonl")
    if not kwargs.get("data"):
        kwargs.pop("data", None)
    return factory(**kwargs)


__all__ = [
    "DECISION",
    "TASKS",
    "CopyList",
    "DataTask",
    "FirstLetter",
    "GSM8K",
    "JsonlTask",
    "LastLetter",
    "MathTask",
    "ReverseList",
    "StepTask",
    "WordSort",
    "get_task",
    "register_task",
]
