"""Verifiers: score (solve prompt, solution) pairs.

- `ORMVerifier`: sigmoid of a scalar head (discriminative reward model).
- `GenRMVerifier`: p(" Yes") at the decision token after the direct verification prompt.
- `CoTVerifier`: GenRM-CoT: sample K rationales, read p(" Yes") after each, average (majority
  voting). With an untuned model (and worked examples in its `context`) it is the LLM-as-a-Judge baseline.
- `DPOVerifier`: a DPO-trained policy (V-STaR); score = pi(solution | problem), the whole solution's probability.
Each is a `genrm.types.Verifier` and returns one `Result(score, votes, rationales)` per item.
`build_verifier(method, model, fmt, ...)` is the one way the pipeline, `RewardModel` and
`genrm serve` make them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import torch

from .device import autocast
from .engines import make_engine
from .engines.hf import TransformersEngine
from .errors import GenrmError
from .formats import VerifyFormat
from .progress import progress_bar
from .types import METHODS, Engine, Item, PrefixSharingEngine, Probs, Result, Verifier


class ORMVerifier:
    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 256):
        self.engine = TransformersEngine(model, tokenizer, batch_size=batch_size)  # batching and padding
        self.model = model.eval()

    @classmethod
    def from_pretrained(cls, path: str | Path, batch_size: int = 256, **load_kwargs: Any) -> "ORMVerifier":
        """An ORM folder (full model or LoRA adapter over a base; `load_kwargs` go to `load_model`)."""
        from .model import load_model

        model, tok = load_model(path, kind="orm", num_labels=1, **load_kwargs)
        return cls(model, tok, batch_size=batch_size)

    @torch.inference_mode()
    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        seqs = self.engine.encode([p + s for p, s in items])
        out: list[Result] = [Result(0.0, [], [])] * len(items)
        e = self.engine
        with progress_bar(description, len(seqs)) as (bar, tid):
            for batch in e.batches([len(s) for s in seqs]):
                ids, mask = e.pad([seqs[i] for i in batch], left=False)
                with autocast(e.device):
                    logits = self.model(input_ids=ids, attention_mask=mask).logits.float()  # (B, 1)
                for i, v in zip(batch, torch.sigmoid(logits[:, 0]).tolist()):
                    out[i] = Result(v, [], [])
                bar.advance(tid, len(batch))
        return out


class DPOVerifier:
    """The DPO verifier of V-STaR and the GenRM paper: a policy trained with DPO on (correct, incorrect) solution
    pairs of one problem scores a solution by log pi_DPO(y | x) without subtracting the reference (the paper found
    that better) and without length normalisation. `Result.score` is exp of it, pi(y | x) in [0, 1], which ranks
    exactly as log pi does; it is not a calibrated probability of correctness."""

    def __init__(self, engine: TransformersEngine):
        if not hasattr(engine, "sequence_logprobs"):
            raise GenrmError("the DPO verifier needs a Transformers engine (sequence log-probabilities); give a folder")
        self.engine = engine

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        logps = self.engine.sequence_logprobs([p for p, _ in items], [s for _, s in items], description=description)
        return [Result(math.exp(lp), [], []) for lp in logps]


class GenRMVerifier:
    def __init__(self, engine: Engine, fmt: VerifyFormat | None = None, normalize: bool = False):
        self.engine, self.fmt, self.normalize = engine, fmt or VerifyFormat(), normalize

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        prompts = [self.fmt.direct_prompt(p, s) for p, s in items]
        probs = self.engine.choice_probs(prompts, (self.fmt.yes, self.fmt.no), description=description)
        return [Result(_yes(py, pn, self.normalize), [], []) for py, pn in probs]


class CoTVerifier:
    def __init__(
        self,
        engine: Engine,
        k: int = 4,
        fmt: VerifyFormat | None = None,
        temperature: float = 1.0,
        max_new_tokens: int | None = None,
        normalize: bool = False,
        seed: int = 0,
        shared_prefix: bool = True,
        context: str = "",
    ):
        self.engine, self.k, self.fmt = engine, k, fmt or VerifyFormat()
        self.context = context  # text before every verification prompt: worked examples for a prompted judge
        max_new_tokens = max_new_tokens or self.fmt.max_rationale_tokens
        self.temperature, self.max_new_tokens, self.normalize, self.seed = temperature, max_new_tokens, normalize, seed
        # one prefill per candidate for its K rationales, where the engine can (Transformers; vLLM caches prefixes)
        self.shared_prefix = shared_prefix and isinstance(engine, PrefixSharingEngine)

    def score(self, items: Sequence[Item], description: str | None = None) -> list[Result]:
        cot_prompts = [self.context + self.fmt.cot_prompt(p, s) for p, s in items]
        rationales, probs = (self._shared if self.shared_prefix else self._naive)(cot_prompts, description)
        out = []
        for rs, ps in zip(rationales, probs):
            votes = [_yes(py, pn, self.normalize) for py, pn in ps]
            out.append(Result(sum(votes) / len(votes), votes, list(rs)))
        return out

    def _shared(self, cot_prompts: list[str], description: str | None) -> tuple[list[list[str]], list[Probs]]:
        """K rationales per candidate from one prefill; p(Yes) continuing the same cache."""
        assert isinstance(self.engine, PrefixSharingEngine)
        return self.engine.sample_and_decide(
            cot_prompts,
            self.k,
            self.fmt.decision_prefix,
            (self.fmt.yes, self.fmt.no),
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed,
            stop=self.fmt.rationale_stop,
            description=description and f"{description}: rationales",
        )

    def _naive(self, cot_prompts: list[str], description: str | None) -> tuple[list[list[str]], list[Probs]]:
        """K rationales per candidate (each prefilled), then p(Yes) after each, encoded from scratch."""
        rationales = self.engine.generate(
            cot_prompts,
            n=self.k,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed,
            stop=self.fmt.rationale_stop,
            description=description and f"{description}: rationales",
        )
        queries = [cp for cp, rs in zip(cot_prompts, rationales) for _ in rs]
        prefixes = [self.fmt.decision_prefix(r) for rs in rationales for r in rs]
        flat = self.engine.choice_probs(queries, (self.fmt.yes, self.fmt.no), prefixes=prefixes)
        return rationales, [flat[i * self.k : (i + 1) * self.k] for i in range(len(rationales))]


def _yes(p_yes: float, p_no: float, normalize: bool) -> float:
    return p_yes / max(p_yes + p_no, 1e-12) if normalize else p_yes


def check_method(method: str) -> str:
    """`method` if it is a verification method genrm knows, else an error naming them."""
    if method not in METHODS:
        raise GenrmError(f"unknown verifier method '{method}': use one of {', '.join(METHODS)}")
    return method


def build_verifier(
    method: str,
    model: str,
    fmt: VerifyFormat | None = None,
    *,
    k: int = 4,
    temperature: float = 1.0,
    max_new_tokens: int | None = None,
    seed: int = 0,
    batch_size: int = 256,
    chat_template: str | bool = "never",
    tensor_parallel_size: int = 1,
    load_kwargs: dict[str, Any] | None = None,
    context: str = "",
) -> Verifier:
    """The verifier `method` (orm, genrm, genrm_cot, judge) over `model`: an ORM folder, or for the others any
    engine spec (folder, Hub id, `vllm:<model>`, server URL). GenRM-CoT and the judge sample `k` rationales at
    `temperature`, each up to `max_new_tokens` (default: the format's `max_rationale_tokens`), after `context`
    (worked examples for a prompted judge). A DPO verifier needs a model folder or Hub id (Transformers)."""
    check_method(method)
    if method == "orm":
        if str(model).startswith(("http://", "https://", "openai:", "vllm:")):
            raise GenrmError(f"an ORM is a scalar-head model folder, not {model}; give its folder or Hub id")
        return ORMVerifier.from_pretrained(model, batch_size=batch_size, **(load_kwargs or {}))
    engine = make_engine(
        model,
        batch_size=batch_size,
        chat_template=chat_template,
        tensor_parallel_size=tensor_parallel_size,
        load_kwargs=load_kwargs,
    )
    if method == "genrm":
        return GenRMVerifier(engine, fmt)
    if method == "dpo":
        return DPOVerifier(engine)  # type: ignore[arg-type]  # checked in DPOVerifier: a Transformers engine
    return CoTVerifier(
        engine, k=k, fmt=fmt, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed, context=context
    )
