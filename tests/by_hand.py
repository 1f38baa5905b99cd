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
COT = "\nVerification: Let's verify step by step.\n"  # then, for the step tasks, the question again (SOLVE)


@lru_cache(maxsize=4)
def _load(model_dir: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir), AutoModelForCausalLM.from_pretrained(model_dir).eval()


def next_token_probs(model_dir, text: str):
    """softmax(logits) of the token after `text` (tokenised with BOS, as the verifier was trained): (V,)."""
    import torch

    tok, model = _load(str(model_dir))
    with torch.no_grad():
        return torch.softmax(model(tok(text, return_tensors="pt").input_ids).logits[0, -1].float(), -1)


def word_id(model_dir, word: str) -> int:
    (wid,) = _load(str(model_dir))[0](word, add_special_tokens=False).input_ids
    return wid


def decision_distribution(model, tok, text: str, choices=(" Yes", " No"), add_special_tokens: bool = True):
    """softmax(logits) (V,) at the first token where the choices' tokenisations differ, after `text` and the
    tokens they share (" Yes"/" No" in a char tokenizer: " " shared, then Y or N); and each choice's token id."""
    import torch

    toks = [tok(c, add_special_tokens=False).input_ids for c in choices]
    k = 0
    while all(len(t) > k for t in toks) and len({t[k] for t in toks}) == 1:
        k += 1
    ids = tok(text, add_special_tokens=add_special_tokens).input_ids + toks[0][:k]
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([ids])).logits[0, -1].float(), -1)
    return probs, [t[k] for t in toks]


def choice_probs(model, tok, text: str, choices=(" Yes", " No"), add_special_tokens: bool = True) -> list[float]:
    """p(choice) from `decision_distribution`."""
    probs, ids = decision_distribution(model, tok, text, choices, add_special_tokens)
    return [probs[i].item() for i in ids]


def next_word_prob(model_dir, texts: list[str], word: str = " Yes") -> list[float]:
    """p(word) as the next token after each text."""
    wid = word_id(model_dir, word)
    return [next_token_probs(model_dir, text)[wid].item() for text in texts]


def direct_p_yes(model_dir, items, word: str = " Yes") -> list[float]:
    """Direct GenRM: p(word) after `question`'s solve prompt, the solution and the decision line."""
    return next_word_prob(model_dir, [SOLVE.format(q=q) + s + DIRECT for q, s in items], word)


def direct_p_yes_top_k(model_dir, items, k: int = 20, word: str = " Yes") -> list[float]:
    """`direct_p_yes` as an OpenAI-compatible server reports it with top-`k` logprobs: 0 where the word is not
    among the k most likely next tokens."""
    wid = word_id(model_dir, word)
    out = []
    for q, s in items:
        probs = next_token_probs(model_dir, SOLVE.format(q=q) + s + DIRECT)
        out.append(probs[wid].item() if wid in probs.topk(k).indices.tolist() else 0.0)
    return out


def cot_votes(model_dir, items, rationales: list[list[str]]) -> list[list[float]]:
    """GenRM-CoT: per item, p(Yes) after the question restated, each of its rationales and the decision line."""
    out = []
    for (q, s), rs in zip(items, rationales):
        head = SOLVE.format(q=q) + s + COT + SOLVE.format(q=q)
        texts = [head + r + ("" if r.endswith("\n") else "\n") + DECISION for r in rs]
        out.append(next_word_prob(model_dir, texts))
    return out


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)
