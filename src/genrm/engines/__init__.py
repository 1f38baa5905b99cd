"""Layer 4, engines: owns the interchangeable text backends with one small interface (`genrm.core.types.Engine`).

- `TransformersEngine`: any Hugging Face causal LM, CPU or GPU (the default);
- `VLLMEngine`: vLLM (optional extra `genrm-verifiers[vllm]`), prefix caching, tensor parallelism;
- `OpenAIEngine`: any OpenAI-compatible HTTP server (`/v1/completions` with logprobs).

`make_engine(spec, ...)` builds one from a string: a model folder or Hub id (Transformers),
`vllm:<model>`, or `http://host:port[/v1]` / `openai:<url>` (optionally `...#model-name`; several servers
of one model as a comma list of URLs, `http://a:8000,http://b:8000#model`);
`register_engine(prefix, factory)` adds a backend under a prefix of its own.
Imports: core, tasks, models (Transformers models are loaded by `genrm.models.model`).
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.errors import GenrmError
from ..core.types import Engine
from .text import cut_at_stop, render

_HF = ("TransformersEngine", "autocast", "cpu_has_bf16", "use_chat_template")


def __getattr__(name: str) -> Any:
    """The Transformers engine and its helpers load torch: imported on first use only (PEP 562)."""
    if name in _HF:
        from . import hf

        return getattr(hf, name)
    raise AttributeError(f"module 'genrm.engines' has no attribute {name!r}")


EngineFactory = Callable[..., Engine]
"""`factory(spec, *, batch_size, chat_template, tensor_parallel_size, api_key, load_kwargs) -> Engine`; also
`concurrency` (requests in flight per server, for HTTP engines) when the caller sets it."""

_REGISTRY: dict[str, EngineFactory] = {}


def register_engine(prefix: str, factory: EngineFactory, *, replace: bool = False) -> None:
    """Make `make_engine` build specs that start with `prefix` (e.g. "sglang:") with `factory`; the longest
    registered prefix wins, and "" is the fallback (Transformers). A taken prefix needs `replace=True`."""
    if prefix in _REGISTRY and not replace:
        raise GenrmError(f"an engine is already registered for {prefix!r}; pass replace=True to override it")
    _REGISTRY[prefix] = factory


def make_engine(
    spec: str,
    batch_size: int = 256,
    chat_template: str | bool = False,
    tensor_parallel_size: int = 1,
    api_key: str | None = None,
    load_kwargs: dict[str, Any] | None = None,
    concurrency: int | None = None,
) -> Engine:
    """An engine from a spec string (see the module docstring and `register_engine`). `concurrency`: requests in
    flight per server of an HTTP engine (default 8)."""
    spec = str(spec)
    prefix = max((p for p in _REGISTRY if spec.startswith(p)), key=len)
    more = {} if concurrency is None else {"concurrency": concurrency}
    return _REGISTRY[prefix](
        spec,
        batch_size=batch_size,
        chat_template=chat_template,
        tensor_parallel_size=tensor_parallel_size,
        api_key=api_key,
        load_kwargs=load_kwargs,
        **more,
    )


def _transformers(
    spec: str, *, batch_size: int, chat_template: str | bool, load_kwargs: dict[str, Any] | None, **_: Any
) -> Engine:
    from .hf import TransformersEngine

    engine: Engine = TransformersEngine.from_pretrained(
        spec, chat_template=chat_template, load_kwargs=load_kwargs, batch_size=batch_size
    )
    return engine


def _vllm(
    spec: str,
    *,
    chat_template: str | bool,
    tensor_parallel_size: int,
    load_kwargs: dict[str, Any] | None,
    **_: Any,
) -> Engine:
    from .vllm import VLLMEngine

    return VLLMEngine(
        spec.removeprefix("vllm:"),
        tensor_parallel_size=tensor_parallel_size,
        chat_template=chat_template,
        trust_remote_code=(load_kwargs or {}).get("trust_remote_code", False),
    )


def _openai(spec: str, *, api_key: str | None, concurrency: int = 8, **_: Any) -> Engine:
    from .openai import OpenAIEngine

    urls, _sep, model = spec.removeprefix("openai:").partition("#")
    servers = [u.removeprefix("openai:") for u in urls.split(",") if u.strip()]
    return OpenAIEngine(servers, model=model or None, api_key=api_key, concurrency=concurrency)


register_engine("", _transformers)
register_engine("vllm:", _vllm)
for _prefix in ("http://", "https://", "openai:"):
    register_engine(_prefix, _openai)


__all__ = [
    "TransformersEngine",
    "autocast",
    "cpu_has_bf16",
    "cut_at_stop",
    "make_engine",
    "register_engine",
    "render",
    "use_chat_template",
]
