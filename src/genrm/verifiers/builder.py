"""`build_verifier(method, model, fmt, ...)`: the one way the pipeline, `RewardModel` and `genrm serve` make
a verifier."""

from __future__ import annotations

from typing import Any

from ..core.errors import GenrmError
from ..core.formats import VerifyFormat
from ..core.types import METHODS, Verifier
from ..engines import make_engine
from .cot import CoTVerifier
from .direct import GenRMVerifier
from .dpo import DPOVerifier
from .orm import ORMVerifier


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
    concurrency: int | None = None,
) -> Verifier:
    """The verifier `method` (orm, genrm, genrm_cot, judge) over `model`: an ORM folder, or for the others any
    engine spec (folder, Hub id, `vllm:<model>`, server URL). GenRM-CoT and the judge sample `k` rationales at
    `temperature`, each up to `max_new_tokens` (default: the format's `max_rationale_tokens`), after `context`
    (worked examples for a prompted judge). A DPO verifier needs a model folder or Hub id (Transformers).
    `concurrency`: requests in flight per server when `model` is a server URL (or several)."""
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
        concurrency=concurrency,
    )
    if method == "genrm":
        return GenRMVerifier(engine, fmt)
    if method == "dpo":
        return DPOVerifier(engine)  # type: ignore[arg-type]  # checked in DPOVerifier: a Transformers engine
    return CoTVerifier(
        engine, k=k, fmt=fmt, temperature=temperature, max_new_tokens=max_new_tokens, seed=seed, context=context
    )
