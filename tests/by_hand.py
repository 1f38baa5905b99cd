"""Expected values worked out independently of genrm's code: p(" Yes") of the next token from a trained
verifier's logits, with plain Transformers and the last-letter task's prompts written out here by hand
(the paper's format, as the README documents it). Tests compare genrm's rewards with these, never with
genrm's own scoring path, so a swapped Yes/No, a wrong prompt, a wrong vote reduction or mixed-up items
show as a difference."""

from __future__ import annotations

from functools import lru_cache

SOLVE = "Q: last letters of {q}\nA:"
DECISION = "Verification: Is the answer correct (Yes/No)?"
DIRECT = "\n" + DECISION
COT = "\nVerification: Let's verify step by step.\n"


@lru_cache(maxsize=4)
def _load(model_dir: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir), AutoModelForCausalLM.from_pretrained(model_dir).eval()


def next_word_prob(model_dir, texts: list[str], word: str = " Yes") -> list[float]:
    """softmax(logits)[word] at the end of each text (tokenised with BOS, as the verifier was trained)."""
    import torch

    tok, model = _load(str(model_dir))
    (wid,) = tok(word, add_special_tokens=False).input_ids
    out = []
    for text in texts:
        ids = tok(text, return_tensors="pt").input_ids
        with torch.no_grad():
            logits = model(ids).logits[0, -1].float()
        out.append(torch.softmax(logits, -1)[wid].item())
    return out


def direct_p_yes(model_dir, items, word: str = " Yes") -> list[float]:
    """Direct GenRM: p(word) after `question`'s solve prompt, the solution and the decision line."""
    return next_word_prob(model_dir, [SOLVE.format(q=q) + s + DIRECT for q, s in items], word)


def cot_votes(model_dir, items, rationales: list[list[str]]) -> list[list[float]]:
    """GenRM-CoT: per item, p(Yes) after each of its rationales and then the decision line."""
    out = []
    for (q, s), rs in zip(items, rationales):
        texts = [SOLVE.format(q=q) + s + COT + r + ("" if r.endswith("\n") else "\n") + DECISION for r in rs]
        out.append(next_word_prob(model_dir, texts))
    return out


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)
