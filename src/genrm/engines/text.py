"""Text helpers every engine shares; no torch here, so the OpenAI-HTTP engine stays light."""

from __future__ import annotations

from typing import Any, Sequence


def render(tokenizer: Any, prompts: Sequence[str], prefixes: Sequence[str] | None, chat: bool) -> list[str]:
    """Prompt texts: each prompt as one user turn of the chat template (when `chat`), then its prefix."""
    prefixes = prefixes or [""] * len(prompts)
    if not chat:
        return [p + x for p, x in zip(prompts, prefixes)]
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True) + x
        for p, x in zip(prompts, prefixes)
    ]


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to (not including) the earliest occurrence of any stop string."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=len(text))
    return text[:cut]
