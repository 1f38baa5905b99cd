"""General list skills for pretraining the built-in base: first letters, copying and reversing a word list.

An LLM's pretraining holds long lists of every kind; these tasks give the tiny base that breadth, on
lists longer than the verification tasks' training problems, so that a base pretrained on last-letter
and word sorting at 1-4 words can process 5-6 word lists (the paper's length-generalisation split)
without ever seeing the test task at the test length. Same compact step format as the main tasks:

    Q: first letters of tag boj lob        Q: copy tag boj lob          Q: reverse tag boj lob
    A: tag -> t, boj -> b, lob -> l.       A: tag, boj, lob.            A: lob, boj, tag.
       Answer: tbl                            Answer: tag boj lob          Answer: lob boj tag
"""

from __future__ import annotations

import random

from .base import LETTERS, StepTask
from .last_letter import LastLetter


class FirstLetter(LastLetter):
    name = "first_letter"
    prompt_template = "Q: first letters of {question}\nA:"

    def letter(self, word: str) -> str:
        return word[0]

    def corrupt_step(self, step: str, rng: random.Random) -> str:
        word, letter = step.split(" -> ")
        return f"{word} -> {rng.choice([c for c in LETTERS if c != letter])}"


class CopyList(StepTask):
    name = "copy_list"
    prompt_template = "Q: copy {question}\nA:"

    def steps(self, words: list[str]) -> list[str]:
        return list(words)

    def answer_for(self, words: list[str]) -> str:
        return " ".join(words)

    def corrupt_step(self, step: str, rng: random.Random) -> str:
        return rng.choice([w for w in self.words if w != step])

    def answer_from_steps(self, steps: list[str]) -> str:
        return " ".join(steps)


class ReverseList(CopyList):
    name = "reverse_list"
    prompt_template = "Q: reverse {question}\nA:"

    def steps(self, words: list[str]) -> list[str]:
        return list(reversed(words))

    def answer_for(self, words: list[str]) -> str:
        return " ".join(reversed(words))
