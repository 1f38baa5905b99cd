"""A TRL `GRPOTrainer` reward function over a verifier.

    from genrm.integrations.trl import GRPOReward
    trainer = GRPOTrainer(model=..., reward_funcs=GRPOReward("runs/gsm8k"), train_dataset=...)

Works for plain prompts (strings) and conversational ones (lists of messages): the question is
the last user message, the solution the completion's assistant text. With `question_column`, a
dataset column holds the bare question instead (TRL passes every dataset column to reward
functions). Items longer than `max_chars` get `None` (TRL skips them), not an error; so do all items
of a call that fails or runs past `timeout_s` (see `genrm.integrations.guard`).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..core.errors import GenrmError


def message_text(content: Any) -> str:
    """A message's text: a string, or the text parts of a multimodal content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return "" if content is None else str(content)


def prompt_text(prompt: Any) -> str:
    """A plain prompt as is; for a conversation, the content of its last user message."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return message_text(users[-1].get("content"))
    raise GenrmError(f"cannot read a question from prompt {str(prompt)[:80]!r}: give a string or a chat message list")


def completion_text(completion: Any) -> str:
    """A plain completion as is; for a conversation, its assistant messages' text."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(
            message_text(m.get("content")) for m in completion if isinstance(m, dict) and m.get("role") == "assistant"
        )
    raise GenrmError(f"cannot read a completion from {str(completion)[:80]!r}: give a string or a chat message list")


class GRPOReward:
    """`reward(prompts, completions, **kwargs) -> list[float | None]`: the verifier's p(correct)."""

    def __init__(
        self,
        verifier: Any = None,
        prompt_format: str = "auto",
        question_column: str | None = None,
        max_chars: int | None = None,
        name: str = "genrm",
        timeout_s: float | None = None,
        reward: str = "outcome",
    ):
        """`verifier`: a `RewardModel`/`RemoteRewardModel`, or what `load_reward_model` opens (a run
        folder, a verifier folder, a `genrm serve` URL; default GENRM_VERIFIER). `timeout_s`: deadline
        of one call (default GENRM_REWARD_TIMEOUT, else 300 s). `reward`: outcome (p(correct)) or step_min
        (the lowest step score of a GenRM-CoT/judge rationale's step marks; p(correct) where none are read)."""
        from ..core.config import check_reward_mode
        from ..serving.reward import load_reward_model
        from .guard import GuardedScorer

        self.reward = check_reward_mode(reward)

        if verifier is None or isinstance(verifier, str) or hasattr(verifier, "__fspath__"):
            verifier = load_reward_model(str(verifier) if verifier is not None else None)
        self.verifier, self.prompt_format, self.question_column = verifier, prompt_format, question_column
        self.max_chars = max_chars if max_chars is not None else getattr(verifier, "max_chars", None)
        self.__name__ = name  # TRL logs each reward function under its name
        self.guard = GuardedScorer(verifier, timeout_s, name)

    def _items(self, prompts: Sequence, completions: Sequence, kwargs: dict) -> tuple[list, list[int], str, int]:
        """The (question, solution) items to score, the indices they come from, their prompt format, the count."""
        if len(prompts) != len(completions):
            raise GenrmError(f"{len(prompts)} prompts but {len(completions)} completions")
        if self.question_column:
            if self.question_column not in kwargs:
                raise GenrmError(
                    f"question_column '{self.question_column}' is not a dataset column; columns: "
                    f"{', '.join(k for k in kwargs if k not in ('trainer_state', 'log_extra', 'log_metric'))}"
                )
            questions, fmt = [str(q) for q in kwargs[self.question_column]], "question"
        else:
            questions, fmt = [prompt_text(p) for p in prompts], self.prompt_format
        solutions = [completion_text(c) for c in completions]
        keep = [
            i
            for i in range(len(solutions))
            if self.max_chars is None or len(questions[i]) + len(solutions[i]) <= self.max_chars
        ]
        return [(questions[i], solutions[i]) for i in keep], keep, fmt, len(solutions)

    def _rewards(self, results: list | None, keep: list[int], n: int, kwargs: dict) -> list[float | None]:
        """One reward per completion (None: skipped or failed, which TRL turns into NaN and ignores), and the
        logs: TRL's metrics (`log_metric`) and, for GenRM-CoT and the judge, the K votes and the first
        rationale of each completion as columns of TRL's completions table (`log_extra`)."""
        from ..serving.reward import reward_value, step_logs

        out: list[float | None] = [None] * n
        for i, r in zip(keep, results or []):
            out[i] = reward_value(r, self.reward)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            if results and keep:
                log_metric(f"{self.__name__}/score_mean", sum(out[i] or 0.0 for i in keep) / len(keep))
            log_metric(f"{self.__name__}/skipped_too_long", float(n - len(keep)))
            failed = sum(self.guard.stats[k] for k in ("timeouts", "failures", "busy"))
            log_metric(f"{self.__name__}/failed_calls", float(failed))
        log_extra = kwargs.get("log_extra")
        if callable(log_extra) and results and any(r.votes for r in results):
            votes, rationales, firsts = [""] * n, [""] * n, [""] * n
            for i, r in zip(keep, results):
                votes[i] = " ".join(f"{v:.2f}" for v in r.votes)
                rationales[i] = r.rationales[0] if r.rationales else ""
                first = step_logs(r)["genrm_first_error"]
                firsts[i] = {-2.0: "", -1.0: "none"}.get(first, str(int(first)))
            log_extra(f"{self.__name__}_votes", votes)
            log_extra(f"{self.__name__}_rationale", rationales)
            log_extra(f"{self.__name__}_first_wrong_step", firsts)
        return out

    def __call__(self, prompts: Sequence, completions: Sequence, **kwargs) -> list[float | None]:
        items, keep, fmt, n = self._items(prompts, completions, kwargs)
        return self._rewards(self.guard.score(items, prompt_format=fmt), keep, n, kwargs)


class AsyncGRPOReward(GRPOReward):
    """`GRPOReward` as a coroutine: TRL (>= 1.0) awaits async reward functions on its own event loop, together
    with the other async ones, so a verifier's model call overlaps them (an in-process verifier batches
    concurrent calls; a `genrm serve` URL is called from a thread)."""

    async def __call__(self, prompts: Sequence, completions: Sequence, **kwargs) -> list[float | None]:  # type: ignore[override]
        items, keep, fmt, n = self._items(prompts, completions, kwargs)
        return self._rewards(await self.guard.ascore(items, prompt_format=fmt), keep, n, kwargs)
