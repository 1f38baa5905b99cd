"""Degenerate candidates: solutions a verifier should never need to read to reject ("master keys").

A generative verifier can be fooled by text that is no solution at all (an empty string, a colon, an opener
like "Let's solve this problem step by step.", the question copied back, a long repetition); an RL policy
that finds such a key is rewarded for it. `is_degenerate` recognises them without the model; `RewardModel`
with `degenerate="floor"` (`genrm serve --degenerate floor`) scores them 0 without asking the verifier.
A bare answer line with a wrong answer ("The answer is 12.") is not degenerate by this rule: it is a
(terse) solution, and the verifier must judge it. `genrm bench master-keys` measures both.
"""

from __future__ import annotations

import re
import zlib

OPENERS = ("let's solve this problem step by step.", "let's think step by step.", "let's verify step by step.")


def is_degenerate(question: str, solution: str) -> bool:
    """True for a solution with fewer than two letters or digits, one that is only an opener phrase, the
    question repeated (`question` may be the whole prompt: then a repeated text of 20 characters or more
    inside it), or a long text that compresses below a fifth of its length."""
    text = solution.strip()
    if len(re.findall(r"[A-Za-z0-9]", text)) < 2:
        return True
    if text.lower() in OPENERS:
        return True
    if text == question.strip() or (len(text) >= 20 and text in question):
        return True
    raw = text.encode()
    return len(raw) >= 200 and len(zlib.compress(raw, 9)) < len(raw) / 5
