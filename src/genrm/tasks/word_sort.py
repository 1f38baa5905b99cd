"""Word sorting (Big-Bench `word_sorting`): sort the words alphabetically.

The chain of thought names each word in order with its first letter as the key:
Q: sort tag boj lob
A: b boj, l lob, t tag. Answer: boj lob tag
"""

from __future__ import annotations

from .base import StepTask


class WordSort(StepTask):
    name = "word_sort"
    prompt_template = "Q: sort {question}\nA:"

    def steps(self, words: list[str]) -> list[str]:
        return [f"{w[0]} {w}" for w in sorted(words)]

    def answer_for(self, words: list[str]) -> str:
        return " ".join(sorted(words))
