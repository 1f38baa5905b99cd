"""Last-letter concatenation (Wei et al., 2022), the GenRM paper's length-generalisation task.

Q: last letters of tag boj lob
A: tag -> g, boj -> j, lob -> b. Answer: gjb
"""

from __future__ import annotations

import random

from .base import StepTask

LETTERS = "abcdefghijklmnopqrstuvwxyz"


class LastLetter(StepTask):
    name = "last_letter"
    prompt_template = "Q: last letters of {question}\nA:"

    def steps(self, words: list[str]) -> list[str]:
        return [f"{w} -> {w[-1]}" for w in words]

    def answer_for(self, words: list[str]) -> str:
        return "".join(w[-1] for w in words)

    def step_result(self, step: str) -> str:
        return step.split(" -> ")[-1]

    def corrupt_step(self, step: str, rng: random.Random) -> str:
        word, letter = step.split(" -> ")
        wrong = rng.choice([c for c in word if c != letter] or [c for c in LETTERS if c != letter])
        return f"{word} -> {wrong}"  # another letter of the word, as weak solvers pick

    def answer_from_steps(self, steps: list[str]) -> str:
        return "".join(self.step_result(s) for s in steps)
