"""Shared machinery for step-by-step word tasks (last-letter concatenation, word sorting).

A solution is a list of steps followed by the final answer, in a compact format:

    " tag -> g, boj -> j. Answer: gj"

The oracle verification rationale re-derives every step from the *question* (which is the
reference solution's step) and checks the candidate's final answer against it piece by piece (a letter
of last-letter's answer, a word of a sorted list), so that no check compares more than one piece. Each
part is `true step/answer's piece MARK`, where MARK is `ok` (the pieces are equal), `wrong`, `missing`
(the answer is shorter) or `extra` (longer); where the candidate's own step differs from the true one,
the part ends with that step in parentheses, so a miscopied word is readable even when its letter (and
so the answer) is right. The verdict is the paper's label (the final answer is correct), and it is
" Yes" exactly when every mark is `ok`: the answer equals the truth iff it has as many pieces and each
is equal. For the candidate " tag -> g, bob -> j, lob -> x. Answer: gjx" of "tag boj lob":

    " tag -> g/g ok, boj -> j/j ok (bob -> j), lob -> b/x wrong (lob -> x).
    Verification: Is the answer correct (Yes/No)? No"

Re-deriving from the question is what the generator itself does, so the verifier writes steps it
already knows how to write and only copies the candidate's piece beside each one. The CoT prompt repeats
the solve prompt after "Let's verify step by step." (`VerifyFormat.restate_question`), so the rationale
starts where a solution starts: measured on the dev split (`bench/probe_recall.py`), the shipped base,
untuned, writes the question word a step starts with 99% / 65% / 100% / 100% of the time (steps 1-4) after
the restated question and 0-2% after the candidate and the CoT line alone; a GenRM-CoT fine-tuned without
it wrote those words 0-1% of the time (teacher-forced) while deriving the letter from a given word 99% of
the time.
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

from ..core.errors import GenrmError
from ..core.formats import DECISION, VerifyFormat
from ..core.types import Problem

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
    # oracle rationales: one short line, written after the question restated (see the module)
    verify_format = VerifyFormat(rationale_stop=("\n",), max_rationale_tokens=128, restate_question=True)
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
    def make_problems(self, n: int, n_words: Sequence[int], seed: int | str) -> list[Problem]:
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
    def answer_pieces(self, answer: str) -> list[str]:
        """The pieces a final answer is checked by, one per step (default: space-separated words; exact:
        joining them with single spaces gives the answer back, so equal pieces mean an equal answer)."""
        return answer.split(" ")

    def step_marks(self, problem: Problem, solution: str) -> list[tuple[str, str, str, str]]:
        """The oracle's checks of `solution`, one per answer piece: (true step or "", the answer's piece or "",
        mark, the candidate's step where it differs from the true one, else ""). The mark is `ok` exactly when
        the piece equals the true one, so every mark is `ok` exactly when the final answer is correct."""
        truth = self.steps(problem.question.split())
        want = self.answer_pieces(problem.answer.strip())
        got = self.extract_answer(solution)
        have = self.answer_pieces(got)[: len(want) + self.max_extra_steps] if got else []
        cand = self.candidate_steps(solution)
        out = []
        for i in range(max(len(want), len(have))):
            step = truth[i] if i < len(want) else ""
            piece = have[i] if i < len(have) else ""
            mark = "extra" if i >= len(want) else "missing" if i >= len(have) else "ok" if piece == want[i] else "wrong"
            theirs = cand[i] if i < len(cand) and cand[i] != step else ""
            out.append((step, piece, mark, theirs))
        return out

    def rationale_body(self, problem: Problem, solution: str) -> str:
        """Re-derive every step from the question and check the answer's piece beside it (see the module)."""
        parts = []
        for step, piece, mark, theirs in self.step_marks(problem, solution):
            shown = _shown(piece)
            head = f"{step}/{shown}" if step and mark != "missing" else step or shown
            parts.append(f"{head} {mark}" + (f" ({_shown(theirs)})" if theirs else ""))
        return " " + ", ".join(parts) + "."

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


_UNSHOWN = re.compile(r"[\s,()/]+")


def _shown(text: str) -> str:
    """A candidate's piece or step as a rationale part can hold it: separators (whitespace, commas,
    parentheses, slashes) become one space; an empty piece is written `none`."""
    return _UNSHOWN.sub(" ", text).strip() or "none"
