"""Verification prompt formats. The defaults are the GenRM paper's (and its released GSM8K data's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .tasks.base import DECISION


@dataclass
class VerifyFormat:
    """How a (problem, solution) pair is turned into verifier inputs."""

    direct: str = field(default="\n" + DECISION, metadata={"help": "appended to the solution for direct GenRM"})
    cot: str = field(
        default="\nVerification: Let's verify step by step.\n",
        metadata={"help": "appended to the solution before a GenRM-CoT rationale"},
    )
    decision: str = field(default=DECISION, metadata={"help": "the line a rationale ends with, before Yes/No"})
    yes: str = field(default=" Yes", metadata={"help": "the 'correct' completion of the decision"})
    no: str = field(default=" No", metadata={"help": "the 'incorrect' completion of the decision"})

    def direct_prompt(self, solve_prompt: str, solution: str) -> str:
        return solve_prompt + solution + self.direct

    def cot_prompt(self, solve_prompt: str, solution: str) -> str:
        return solve_prompt + solution + self.cot

    def decision_prompt(self, cot_prompt: str, rationale_body: str) -> str:
        """Where p(Yes) is read after a rationale: the rationale's first line, then the decision line."""
        return cot_prompt + rationale_body + "\n" + self.decision

    def verdict(self, correct: bool) -> str:
        return self.yes if correct else self.no
