"""A minimal OpenAI-compatible completions server over a Transformers model, for engine tests.

`python tests/openai_server.py MODEL_DIR PORT` serves `GET /v1/models` and `POST /v1/completions`
(prompt list, n, max_tokens, temperature, seed, stop, logprobs as top-k per token) on loopback,
the subset of the API that genrm's `OpenAIEngine` uses, so that engine is tested over real HTTP
against a separate process. Production users point the engine at vLLM, llama.cpp or SGLang.
"""

from __future__ import annotations

import sys

import torch
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from genrm.engines import TransformersEngine
from genrm.models.model import load_model


class CompletionRequest(BaseModel):
    model: str | None = None
    prompt: str | list[str]
    n: int = 1
    max_tokens: int = 16
    temperature: float = 1.0
    seed: int | None = None
    stop: str | list[str] | None = None
    logprobs: int | None = None


def make_app(model_dir: str) -> FastAPI:
    model, tok = load_model(model_dir)
    engine = TransformersEngine(model, tok)
    app = FastAPI()

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": "tiny", "object": "model"}]}

    @app.post("/v1/completions")
    def completions(req: CompletionRequest):
        prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
        stop = [req.stop] if isinstance(req.stop, str) else (req.stop or [])
        if req.logprobs:  # one greedy token with its top-k alternatives
            choices = []
            for i, p in enumerate(prompts):
                ids = torch.tensor([engine.encode([p])[0]])
                with torch.inference_mode():
                    logp = model(input_ids=ids).logits[0, -1].float().log_softmax(-1)
                top = logp.topk(req.logprobs)
                alts = {tok.decode([t]): v for t, v in zip(top.indices.tolist(), top.values.tolist())}
                first = tok.decode([top.indices[0].item()])
                lp = {"tokens": [first], "token_logprobs": [top.values[0].item()], "top_logprobs": [alts]}
                choices.append({"index": i, "text": first, "logprobs": lp, "finish_reason": "length"})
            return {"object": "text_completion", "model": "tiny", "choices": choices}
        outs = engine.generate(
            prompts, n=req.n, max_new_tokens=req.max_tokens, temperature=req.temperature, seed=req.seed or 0, stop=stop
        )
        choices = [
            {"index": i * req.n + j, "text": t, "logprobs": None, "finish_reason": "stop"}
            for i, ts in enumerate(outs)
            for j, t in enumerate(ts)
        ]
        return {"object": "text_completion", "model": "tiny", "choices": choices}

    return app


if __name__ == "__main__":  # python openai_server.py MODEL_DIR [PORT]: port 0 or none picks a free one
    from genrm.serving.server import bind_socket, socket_url

    sock = bind_socket("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(f"serving at {socket_url(sock)}", flush=True)
    uvicorn.Server(uvicorn.Config(make_app(sys.argv[1]), log_level="warning")).run(sockets=[sock])
