"""The vLLM engine (optional extra `genrm-verifiers[vllm]`): fast sampling on GPUs, tensor parallelism.

Prefix caching is on, so the K rationales of a candidate and the N candidates of a problem share
their prompt's KV cache; `n` samples per prompt are one request. p(choice) is read from the top
log-probabilities of one generated token (temperature 0); a choice outside the top `top_logprobs`
counts as probability 0 (a trained verifier puts " Yes"/" No" at the top).
"""

from __future__ import annotations

import math
from typing import Sequence

from ..core.errors import GenrmError
from .hf import use_chat_template
from .text import render


class VLLMEngine:
    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        dtype: str = "auto",
        chat_template: str | bool = False,
        trust_remote_code: bool = False,
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        top_logprobs: int = 20,
        **llm_kwargs,
    ):
        try:
            from vllm import LLM
        except ImportError as e:
            raise GenrmError(
                f"the vLLM engine needs vllm (the extra genrm-verifiers[vllm]): pip install vllm ({e})"
            ) from e
        self.llm = LLM(
            model=str(model),
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
            enable_prefix_caching=True,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            **llm_kwargs,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.chat_template = use_chat_template(self.tokenizer, chat_template)
        self.top_logprobs = top_logprobs

    def generate(
        self,
        prompts: Sequence[str],
        n: int = 1,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] = (),
        description: str | None = None,
        prefixes: Sequence[str] | None = None,
    ) -> list[list[str]]:
        from vllm import SamplingParams

        params = SamplingParams(
            n=n, temperature=temperature, max_tokens=max_new_tokens, seed=seed, stop=list(stop) or None
        )
        texts = render(self.tokenizer, prompts, prefixes, self.chat_template)
        outs = self.llm.generate(texts, params, use_tqdm=description is not None)
        return [[o.text for o in out.outputs] for out in outs]

    def choice_probs(
        self, prompts: Sequence[str], choices: Sequence[str] = (" Yes", " No"), description=None, prefixes=None
    ) -> list[list[float]]:
        from vllm import SamplingParams

        ids = []
        for c in choices:
            toks = self.tokenizer.encode(c, add_special_tokens=False)
            if len(toks) != 1:
                raise GenrmError(f"choice {c!r} is {len(toks)} tokens for this tokenizer; the vLLM engine needs one")
            ids.append(toks[0])
        params = SamplingParams(n=1, temperature=0.0, max_tokens=1, logprobs=self.top_logprobs)
        texts = render(self.tokenizer, prompts, prefixes, self.chat_template)
        outs = self.llm.generate(texts, params, use_tqdm=description is not None)
        result = []
        for out in outs:
            top = out.outputs[0].logprobs[0]  # {token id: Logprob} at the first generated position
            result.append([math.exp(top[i].logprob) if i in top else 0.0 for i in ids])
        return result
