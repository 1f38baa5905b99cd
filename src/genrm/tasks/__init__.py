"""Task registry: tasks are found by name; a typo gets the closest name suggested."""

from __future__ import annotations

import difflib
from typing import Callable

from ..errors import GenrmError
from ..types import Task
from .base import DECISION, StepTask
from .last_letter import LastLetter
from .word_sort import WordSort

TASKS: dict[str, Callable[..., Task]] = {"last_letter": LastLetter, "word_sort": WordSort}


def register_task(name: str, factory: Callable[..., Task]) -> None:
    """Make a task available to every stage and the CLI under `name`."""
    TASKS[name] = factory


def get_task(name: str, **kwargs) -> Task:
    if name not in TASKS:
        close = difflib.get_close_matches(name, TASKS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"choose one of {', '.join(sorted(TASKS))}"
        raise GenrmError(f"unknown task '{name}': {hint}")
    return TASKS[name](**kwargs)


__all__ = ["DECISION", "TASKS", "StepTask", "LastLetter", "WordSort", "get_task", "register_task"]
