"""The reward server's request and response bodies (pydantic): what `/score` and `/get_reward` accept and
return, with the limits and types FastAPI validates before any model call."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Item(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    question: str = Field(description="the question, or the verifier's whole solve prompt (see prompt_format)")
    solution: str = Field(description="the candidate solution to verify")


class ScoreRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    items: list[Item] = Field(description="the items; at most the server's max_items (see /health)")
    return_votes: bool = Field(False, description="GenRM-CoT: also return each vote's score and rationale")
    return_steps: bool = Field(
        False,
        description="GenRM-CoT/judge on step tasks: also return each item's step verdicts (null where the "
        "rationales carry no step marks)",
    )
    prompt_format: Literal["question", "verbatim", "auto"] = Field(
        "question",
        description="question: put `question` into the verifier's prompt template; verbatim: `question` "
        "already is that prompt; auto: verbatim when it has the template's head and tail",
    )


class StepsOut(BaseModel):
    steps: list[str] = Field(description="the steps as the longest parsed rationale wrote them; 'answer' last")
    wrong_share: list[float] = Field(description="per step, the share of rationales reaching it that mark it wrong")
    first_error: int | None = Field(description="predicted first wrong step; -1: no error; null: undecided")
    votes: int = Field(description="rationales voting for first_error")
    parsed: int = Field(description="rationales that gave steps, of K")
    step_min: float = Field(description="the lowest step score, 1 - wrong_share (a PRM's ranking score)")


class ScoreResponse(BaseModel):
    scores: list[float] = Field(description="p(correct) per item, in [0, 1]")
    votes: list[list[float]] | None = Field(None, description="per item, the K votes' scores (GenRM-CoT)")
    rationales: list[list[str]] | None = Field(None, description="per item, the K rationales (GenRM-CoT)")
    steps: list[StepsOut | None] | None = Field(None, description="per item, its step verdicts (return_steps)")
    method: str


class RewardRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    query: list[str] = Field(description="prompt + response, one string per sample")
    prompts: list[str] | None = Field(None, description="the prompts, to split each query")
    labels: list[Any] | None = Field(None, description="accepted and ignored: a verifier needs no reference")


class RewardResponse(BaseModel):
    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]
