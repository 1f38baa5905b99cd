"""Verification prompt formats. The defaults are the GenRM paper's (and its released GSM8K data's)."""

from __future__ import annotations

from dataclasses import dataclass, field

DECISION = "Verification: Is the answer correct (Yes/No)?"


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
    rationale_stop: tuple[str, ...] = field(
        default=(DECISION,),
        metadata={"help": "where a sampled rationale is cut before p(Yes) is read ('\\n' for one-line rationales)"},
    )
    max_rationale_tokens: int = field(
        default=256, metadata={"help": "token cap of a sampled rationale unless a run or caller sets one"}
    )
    restate_question: bool = field(
        default=False,
        metadata={
            "help": "repeat the solve prompt after the CoT line, so the rationale re-derives the steps right "
            "after the question, as a solution does (the step tasks' format)"
        },
    )

    def direct_prompt(self, solve_prompt: str, solution: str) -> str:
        return solve_prompt + solution + self.direct

    def cot_prompt(self, solve_prompt: str, solution: str) -> str:
        return solve_prompt + solution + self.cot + (solve_prompt if self.restate_question else "")

    def decision_prompt(self, cot_prompt: str, rationale_body: str) -> str:
        """Where p(Yes) is read after a rationale: the rationale (cut at `rationale_stop`), then the decision line."""
        return cot_prompt + self.decision_prefix(rationale_body)

    def decision_prefix(self, rationale_body: str) -> str:
        """The rationale and the decision line: what follows the CoT prompt when p(Yes) is read."""
        return rationale_body + ("" if rationale_body.endswith("\n") else "\n") + self.decision

    def verdict(self, correct: bool) -> str:
        return self.yes if correct else self.no
