"""Engines: interchangeable text backends with one small interface (see `genrm.types.Engine`).

- `TransformersEngine`: any Hugging Face causal LM, CPU or GPU (the default);
- `VLLMEngine`: vLLM (optional extra `genrm[vllm]`), prefix caching, tensor parallelism;
- `OpenAIEngine`: any OpenAI-compatible HTTP server (`/v1/completions` with logprobs).

`make_engine(spec, ...)` builds one from a string: a model folder or Hub id (Transformers),
`vllm:<model>`, or `http://host:port[/v1]` / `openai:<url>` (optionally `...#model-name`).
"""

from __future__ import annotations

from .text import cut_at_stop, render

_HF = ("TransformersEngine", "autocast", "cpu_has_bf16", "use_chat_template")


def __getattr__(name: str):
    """The Transformers engine and its helpers load torch: imported on first use only (PEP 562)."""
    if name in _HF:
        from . import hf

        return getattr(hf, name)
    raise AttributeError(f"module 'genrm.engines' has no attribute {name!r}")


def make_engine(
    spec: str,
    batch_size: int = 256,
    chat_template: str | bool = False,
    tensor_parallel_size: int = 1,
    api_key: str | None = None,
    load_kwargs: dict | None = None,
):
    """An engine from a spec string (see the module docstring)."""
    spec = str(spec)
    if spec.startswith(("http://", "https://", "openai:")):
        from .openai import OpenAIEngine

        url, _, model = spec.removeprefix("openai:").partition("#")
        return OpenAIEngine(url, model=model or None, api_key=api_key)
    if spec.startswith("vllm:"):
        from .vllm import VLLMEngine

        kw = load_kwargs or {}
        return VLLMEngine(
            spec.removeprefix("vllm:"),
            tensor_parallel_size=tensor_parallel_size,
            chat_template=chat_template,
            trust_remote_code=kw.get("trust_remote_code", False),
        )
    from .hf import TransformersEngine

    return TransformersEngine.from_pretrained(
        spec, chat_template=chat_template, load_kwargs=load_kwargs, batch_size=batch_size
    )


__all__ = [
    "TransformersEngine",
    "autocast",
    "cpu_has_bf16",
    "cut_at_stop",
    "make_engine",
    "render",
    "use_chat_template",
]
