"""Last-letter concatenation (Wei et al., 2022), the GenRM paper's length-generalisation task.

Q: last letters of tag boj lob
A: tag -> g, boj -> j, lob -> b. Answer: gjb
"""

from __future__ import annotations

import random

from .base import LETTERS, StepTask


class LastLetter(StepTask):
    name = "last_letter"
    prompt_template = "Q: last letters of {question}\nA:"

    def letter(self, word: str) -> str:
        """The letter a step writes for `word`."""
        return word[-1]

    def steps(self, words: list[str]) -> list[str]:
        return [f"{w} -> {self.letter(w)}" for w in words]

    def answer_for(self, words: list[str]) -> str:
        return "".join(self.letter(w) for w in words)

    def answer_pieces(self, answer: str) -> list[str]:
        """One letter per step: the answer's characters."""
        return list(answer)

    def step_result(self, step: str) -> str:
        return step.split(" -> ")[-1]

    def corrupt_step(self, step: str, rng: random.Random) -> str:
        word, letter = step.split(" -> ")
        others = [c for c in LETTERS if c != letter]
        in_word = [c for c in word if c != letter]
        # another letter of the word, or any letter (both seen in sampled generators' wrong steps)
        wrong = rng.choice(in_word if in_word and rng.random() < 0.5 else others)
        return f"{word} -> {wrong}"

    def answer_from_steps(self, steps: list[str]) -> str:
        return "".join(self.step_result(s) for s in steps)
