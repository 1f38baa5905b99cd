"""Word sorting (Big-Bench `word_sorting`): sort the words alphabetically.

The chain of thought names each word in order with its first letter as the key:
Q: sort tag boj lob
A: b boj, l lob, t tag. Answer: boj lob tag
"""

from __future__ import annotations

import random

from ..core.types import Problem
from .base import LETTERS, StepTask


class WordSort(StepTask):
    name = "word_sort"
    prompt_template = "Q: sort {question}\nA:"
    wrong_step_share = 0.2  # a wrong sort key leaves the answer right

    def steps(self, words: list[str]) -> list[str]:
        return [f"{w[0]} {w}" for w in sorted(words)]

    def answer_for(self, words: list[str]) -> str:
        return " ".join(sorted(words))

    def corrupt_step(self, step: str, rng: random.Random) -> str:
        key, word = step.split(" ", 1)
        in_word = [c for c in word if c != key]
        others = [c for c in LETTERS if c != key]
        wrong = rng.choice(in_word if in_word and rng.random() < 0.5 else others)
        return f"{wrong} {word}"  # a wrong sort key: another letter of the word, or any letter

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """Half the time one error (`StepTask.perturb`); else several at once, as the sampled word-sort
        generator makes them (its wrong candidates mostly mix miscopied or repeated words, wrong sort keys
        and an answer that differs from the steps): a verifier trained only on single errors re-derives the
        sort from the candidate's words instead of the question's."""
        if rng.random() < 0.5:
            return super().perturb(problem, rng)
        words = problem.question.split()
        w = list(words)
        for _ in range(rng.choice((1, 2))):
            i, op = rng.randrange(len(w)), rng.randrange(3)
            self.change_word(w, i, op, words, rng)
        steps = [self.corrupt_step(s, rng) if rng.random() < 0.3 else s for s in self.steps(w)]
        answer = self.answer_from_steps(steps)
        return self.solution_from(steps, self.corrupt_answer(answer, rng) if rng.random() < 0.5 else answer)

    def corrupt_answer(self, answer: str, rng: random.Random) -> str:
        """One or two words of the answer replaced by other words of the list, as sampled generators write them."""
        words = answer.split()
        for i in rng.sample(range(len(words)), min(len(words), rng.choice((1, 2)))):
            words[i] = rng.choice([w for w in self.words if w != words[i]])
        return " ".join(words)

    def answer_from_steps(self, steps: list[str]) -> str:
        return " ".join(s.split(" ", 1)[-1] for s in steps)
