"""Shared machinery for step-by-step word tasks (last-letter concatenation, word sorting).

A solution is a list of steps followed by the final answer, in a compact format:

    " tag -> g, boj -> j. Answer: gj"

The oracle verification rationale re-derives every step from the *question* (which is the
reference solution's step) and annotates it with the candidate's result for that step, then
compares the final answers and ends in the paper's Yes/No line, whose verdict is the label by
construction. For the candidate " tag -> g, boj -> x. Answer: gx":

    " tag -> g/g ok, boj -> j/x wrong. Expected gj, got gx.
    Verification: Is the answer correct (Yes/No)? No"

Re-deriving from the question is what the generator itself does, so the verifier writes steps it
already knows how to write and only copies the candidate's result beside each one.
`perturb` makes synthetic wrong solutions (a wrong step, a dropped, added or swapped word, an
answer that does not follow the steps) for pretraining the built-in model.
"""

from __future__ import annotations

import hashlib
import random
import re
from functools import lru_cache
from importlib import resources
from typing import Sequence

from ..errors import GenrmError
from ..formats import DECISION, VerifyFormat
from ..types import Problem

LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ANSWER = re.compile(r"Answer:[ \t]*([^\n]*)")


@lru_cache(maxsize=1)
def word_list() -> tuple[str, ...]:
    """The seeded word list shipped in the package (common short English words)."""
    text = resources.files("genrm.tasks").joinpath("words.txt").read_text()
    return tuple(w for w in text.split() if w)


class StepTask:
    """Base class: subclasses define `prompt_template`, `steps` and `answer_for`."""

    name = "step_task"
    prompt_template = "Q: {question}\nA:"
    wrong_step_share = 0.5  # of `perturb`'s synthetic candidates
    max_extra_steps = 2  # steps beyond the true count the rationale still inspects
    verify_format = VerifyFormat(rationale_stop=("\n",), max_rationale_tokens=96)  # oracle rationales: one short line
    has_oracle = True  # `oracle_rationale` writes GenRM-CoT rationales

    def __init__(self, prompt_template: str | None = None, words: Sequence[str] | None = None):
        if prompt_template is not None:
            if "{question}" not in prompt_template:
                raise GenrmError(f"prompt_template {prompt_template!r} lacks '{{question}}'; add it where the words go")
            self.prompt_template = prompt_template
        self.words = tuple(words) if words is not None else word_list()

    # -- to be defined by each task -------------------------------------------------
    def steps(self, words: list[str]) -> list[str]:
        raise NotImplementedError

    def answer_for(self, words: list[str]) -> str:
        raise NotImplementedError

    def step_result(self, step: str) -> str:
        """The part of a candidate's step quoted beside a wrong step (default: the whole step)."""
        return step

    def corrupt_step(self, step: str, rng: random.Random) -> str:
        """A plausible wrong version of one true step (default: the step unchanged)."""
        return step

    def answer_from_steps(self, steps: list[str]) -> str:
        """The final answer a solver would write after these steps."""
        raise NotImplementedError

    def vocabulary(self) -> list[str]:
        """Words the built-in model's tokenizer keeps whole: the task's word list."""
        return list(self.words)

    # -- problems -------------------------------------------------------------------
    def make_problems(self, n: int, n_words: Sequence[int], seed: int) -> list[Problem]:
        """`n` problems with a word count drawn uniformly from `n_words`, seeded."""
        if n < 0:
            raise GenrmError(f"n={n}: the number of problems must be >= 0")
        if not n_words or min(n_words) < 1:
            raise GenrmError(f"n_words={list(n_words)}: give word counts >= 1, e.g. 2,3,4")
        if max(n_words) > len(self.words):
            raise GenrmError(f"n_words={list(n_words)}: at most {len(self.words)} words are available")
        rng = random.Random(f"{self.name}:{seed}")
        problems = []
        for _ in range(n):
            words = rng.sample(self.words, rng.choice(list(n_words)))
            question = " ".join(words)
            pid = hashlib.sha1(f"{self.name}:{question}".encode()).hexdigest()[:12]
            problems.append(Problem(pid, question, self.answer_for(words), {"n_words": len(words)}))
        return problems

    def canonical(self, question: str) -> str:
        """The question up to what cannot change its meaning for any list task: the multiset of its words.

        Held-out (test) membership and split disjointness are decided on this form, so no permutation of
        a test question appears in any training data, of this task or of another list task."""
        return " ".join(sorted(question.split()))

    def prompt(self, problem: Problem) -> str:
        return self.prompt_template.format(question=problem.question)

    def reference_solution(self, problem: Problem) -> str:
        words = problem.question.split()
        return " " + ", ".join(self.steps(words)) + ". Answer: " + self.answer_for(words)

    # -- answers ----------------------------------------------------------------------
    def extract_answer(self, solution: str) -> str | None:
        found = _ANSWER.findall(solution)
        return found[-1].strip() if found else None

    def is_correct(self, problem: Problem, solution: str) -> bool:
        answer = self.extract_answer(solution)
        return answer is not None and answer == problem.answer.strip()

    def candidate_steps(self, solution: str) -> list[str]:
        body = solution.split("Answer:")[0].strip().rstrip(".").strip()
        return [s.strip() for s in body.split(",") if s.strip()] if body else []

    # -- oracle verification -------------------------------------------------------------
    def rationale_body(self, problem: Problem, solution: str) -> str:
        """Re-derive every step from the question, annotate it with the candidate's; compare the answers."""
        truth = self.steps(problem.question.split())
        cand = self.candidate_steps(solution)[: len(truth) + self.max_extra_steps]
        parts = []
        for i in range(max(len(truth), len(cand))):
            if i >= len(truth):
                parts.append(f"{cand[i]} extra")
            elif i >= len(cand):
                parts.append(f"{truth[i]} missing")
            else:  # the candidate's result is copied first, so ok / wrong compares two adjacent pieces
                verdict = "ok" if cand[i] == truth[i] else "wrong"
                parts.append(f"{truth[i]}/{self.step_result(cand[i])} {verdict}")
        got = self.extract_answer(solution)
        return " " + ", ".join(parts) + f". Expected {problem.answer}, got {got if got else 'none'}."

    # -- synthetic wrong solutions (pretraining data) ----------------------------------------
    def solution_from(self, steps: list[str], answer: str) -> str:
        return " " + ", ".join(steps) + ". Answer: " + answer

    def perturb(self, problem: Problem, rng: random.Random) -> str:
        """A wrong-looking solution of `problem`, as a weak solver writes them (it may be right by chance).

        A share `wrong_step_share` are wrong step results (each step wrong with probability 1/2, at
        least one): in last-letter the error a sampled generator makes most (85% of the quickstart
        generator's wrong candidates), and a verifier trained on them must re-derive each step rather
        than copy the candidate's. The rest, evenly: a word miscopied, dropped or added; two steps
        swapped; an answer that does not follow the steps (`corrupt_answer`).
        """
        words = problem.question.split()
        steps = self.steps(words)
        op = 5 + rng.randrange(5)
        if rng.random() < self.wrong_step_share:  # the answer follows the steps, or (one time in ten) is the true one
            bad = [i for i in range(len(steps)) if rng.random() < 0.5] or [rng.randrange(len(steps))]
            for i in bad:
                steps[i] = self.corrupt_step(steps[i], rng)
            answer = self.answer_for(words) if rng.random() < 0.1 else self.answer_from_steps(steps)
            return self.solution_from(steps, answer)
        if op < 8:  # a word miscopied, dropped or added: the steps and answer follow the wrong words
            w = list(words)
            self.change_word(w, rng.randrange(len(w)), op - 5, words, rng)
            return self.solution_from(self.steps(w), self.answer_for(w))
        if op == 8 and len(steps) > 1:  # two steps swapped; the answer follows
            i, j = rng.sample(range(len(steps)), 2)
            steps[i], steps[j] = steps[j], steps[i]
            return self.solution_from(steps, self.answer_from_steps(steps))
        return self.solution_from(steps, self.corrupt_answer(self.answer_for(words), rng))

    def change_word(self, w: list[str], i: int, op: int, question: list[str], rng: random.Random) -> None:
        """Change the word list `w` at `i`, in place: 0 replaces it (by another word of the list, or half the
        time by a word of the `question` written twice), 1 drops it (unless it is the only one), 2 adds one."""
        if op == 0:
            w[i] = rng.choice(self.words) if rng.random() < 0.5 else rng.choice(question)
        elif op == 1 and len(w) > 1:
            del w[i]
        else:
            w.insert(i + 1, rng.choice(self.words))

    def corrupt_answer(self, answer: str, rng: random.Random) -> str:
        """A wrong answer next to right steps (default: one character changed)."""
        chars = list(answer)
        i = rng.randrange(len(chars))
        chars[i] = rng.choice([c for c in LETTERS if c != chars[i]])
        return "".join(chars)

    def oracle_rationale(self, problem: Problem, solution: str, decision: str = DECISION) -> str:
        verdict = " Yes" if self.is_correct(problem, solution) else " No"
        return self.rationale_body(problem, solution) + "\n" + decision + verdict
