"""`genrm serve`: a verifier behind HTTP (FastAPI + Uvicorn).

    POST /score       {"items": [{"question", "solution"}], "return_votes", "return_steps", "prompt_format"}
                      -> {"scores", "votes"?, "rationales"?, "steps"?, "method"}
    POST /get_reward  OpenRLHF's remote reward protocol: {"query", "prompts", "labels"}
                      -> {"rewards", "scores", "extra_logs"}
    GET  /health      status, method, limits, queue depth and counters (no token needed)

    GET  /docs        the OpenAPI schema, browsable (/openapi.json raw)

With --api-key, clients send `Authorization: Bearer <token>`; a client that cannot send headers (OpenRLHF's
remote reward client) puts it in the URL instead, `http://host:port/get_reward?token=<token>` (the URL then
carries the secret: it shows in that client's error logs and in access logs at --log-level info).

Requests that arrive together are scored in one model call (dynamic batching): a single worker
thread owns the model; requests queue as jobs, and each time the worker is free it takes the
queued jobs up to `max_batch_items` items (waiting `max_wait_ms` for company when alone). The
queue is bounded in items: a request that would overflow it gets 429 with Retry-After, so memory
stays bounded under overload; 503 means the server is shutting down or its worker failed.
"""

import ipaddress
import json
import logging
import secrets
import socket
from contextlib import asynccontextmanager
from dataclasses import asdict

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..core.config import ServeLimits
from ..core.errors import GenrmError
from .api import RewardRequest, RewardResponse, ScoreRequest, ScoreResponse
from .batcher import DynamicBatcher, QueueFull, Unavailable
from .reward import openrlhf_pairs, openrlhf_response


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to expose a verifier beyond loopback without a token."""
    if not is_loopback(host) and not api_key:
        raise GenrmError(
            f"--host {host} exposes the verifier beyond this machine without a token: set --api-key (or "
            "GENRM_SERVE_API_KEY), or bind 127.0.0.1"
        )


def create_app(reward_model, limits: ServeLimits | None = None, api_key: str | None = None):
    """The FastAPI app around a `RewardModel` (see the module docstring)."""
    limits = limits or ServeLimits()
    reward_model.degenerate = limits.degenerate
    batcher = DynamicBatcher(
        reward_model.score_verbatim, limits.max_batch_items, limits.max_wait_ms / 1000, limits.max_queue_items
    )

    bearer = HTTPBearer(auto_error=False)
    refused = [0]  # requests refused for their token (OpenRLHF's client logs its failures at INFO only)

    def authorize(
        cred: HTTPAuthorizationCredentials | None = Depends(bearer),
        token: str | None = Query(
            None, description="the API token, for clients that cannot send a header (OpenRLHF's remote reward)"
        ),
    ) -> None:
        if api_key is None:
            return
        sent = cred.credentials if cred is not None else token
        if sent is None or not secrets.compare_digest(sent.encode(), api_key.encode()):
            refused[0] += 1
            logging.getLogger("genrm.serving").warning(
                "refused a request with a %s API token (%d so far): its client gets no score",
                "missing" if sent is None else "wrong",
                refused[0],
            )
            raise HTTPException(
                401,
                "missing or wrong API token: send the header 'Authorization: Bearer <token>' (or, from a client "
                "that sends no headers, ?token=<token> in the URL)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title="genrm verifier",
        version="1",
        description=f"A {reward_model.method} verifier ({reward_model.name}) as a reward: POST /score for "
        "(question, solution) items, POST /get_reward for OpenRLHF. Requests arriving together are batched on the "
        "model; a full queue answers 429 (retry after the Retry-After header).",
        lifespan=lifespan,
    )
    app.state.batcher = batcher

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"detail": "the body is not valid JSON"}, status_code=400)
        if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") == "missing" for e in errors):
            return JSONResponse({"detail": "the request has no body: send a JSON object (see /docs)"}, 400)
        parts = []
        for e in errors:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
            parts.append(f"{where}: {e.get('msg')}")
        brief = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:50]]
        return JSONResponse({"detail": "; ".join(parts[:10]), "errors": brief}, status_code=422)

    async def run(pairs: list[tuple[str, str]]):
        try:
            return await batcher.submit(pairs)
        except QueueFull as e:
            raise HTTPException(429, f"the server is busy: {e}; retry shortly", headers={"Retry-After": "1"}) from e
        except Unavailable as e:
            raise HTTPException(503, str(e), headers={"Retry-After": "5"}) from e
        except GenrmError as e:
            raise HTTPException(422, str(e)) from e
        except Exception as e:
            raise HTTPException(500, f"the verifier failed on this batch: {type(e).__name__}: {e}") from e

    def check_size(n: int, lengths: list[int], what: str) -> None:
        if n > limits.max_items:
            raise HTTPException(
                413, f"{n} {what} in one request; the limit is {limits.max_items}: split the request into smaller ones"
            )
        for i, length in enumerate(lengths):
            if length > limits.max_chars:
                raise HTTPException(
                    413,
                    f"{what}[{i}] has {length} characters; the limit is {limits.max_chars} per item: shorten it, "
                    "or start the server with a larger --max-chars",
                )

    @app.post(
        "/score", response_model=ScoreResponse, response_model_exclude_none=True, dependencies=[Depends(authorize)]
    )
    async def score(req: ScoreRequest):
        """Score (question, solution) items with the verifier."""
        check_size(len(req.items), [len(it.question) + len(it.solution) for it in req.items], "items")
        flags = reward_model.floored([(it.question, it.solution) for it in req.items])
        try:
            pairs = [(reward_model.solve_prompt(it.question, req.prompt_format), it.solution) for it in req.items]
        except GenrmError as e:
            raise HTTPException(422, str(e)) from e
        results = reward_model.merge_floored(flags, await run([p for p, f in zip(pairs, flags) if not f]))
        body = {"scores": [r.score for r in results], "method": reward_model.method}
        if req.return_votes:
            body["votes"] = [r.votes for r in results]
            body["rationales"] = [r.rationales for r in results]
        if req.return_steps:
            body["steps"] = [s.to_dict() if (s := r.steps) is not None else None for r in results]
        return body

    @app.post("/get_reward", response_model=RewardResponse, dependencies=[Depends(authorize)])
    async def get_reward(req: RewardRequest):
        """OpenRLHF's remote reward model protocol (`--remote_rm_url http://host:port/get_reward`)."""
        check_size(len(req.query), [len(q) for q in req.query], "query")
        try:
            texts, fmt = openrlhf_pairs(req.query, req.prompts, limits.prompt_format, reward_model.clean_completion)
            pairs = [(reward_model.solve_prompt(p, fmt), s) for p, s in texts]
        except GenrmError as e:
            raise HTTPException(422, str(e)) from e
        flags = reward_model.floored(texts)
        results = reward_model.merge_floored(flags, await run([p for p, f in zip(pairs, flags) if not f]))
        return openrlhf_response(results, limits.reward)

    @app.get("/health")
    async def health():
        """Liveness, what is served, limits and queue; 503 when the model worker is not running."""
        body = {
            "status": "ok" if batcher.alive else "unavailable",
            "method": reward_model.method,
            "model": reward_model.name,
            "auth": api_key is not None,
            "limits": asdict(limits),
            "queue": {"items": batcher.queued_items, "requests": len(batcher.jobs)},
            "stats": dict(batcher.stats),
        }
        return JSONResponse(body, status_code=200 if batcher.alive else 503)

    return BodyLimit(app, limits.max_body_bytes)


class BodyLimit:
    """ASGI middleware: refuse request bodies over `max_bytes` (413) before they are parsed; read
    every body as JSON whatever its content type."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    def __getattr__(self, name):  # app.state, app.openapi(), ... reach the wrapped FastAPI app
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(send)
        chunks, size, more = [], 0, True
        while more:  # read the body here (chunked uploads have no length), counting as it comes
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                return await self._too_large(send)
        body, sent = b"".join(chunks), False
        # this API speaks JSON only: read every body as JSON (curl -d sends a form content type)
        kept = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-type"]
        scope = {**scope, "headers": [*kept, (b"content-type", b"application/json")]}

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _too_large(self, send):
        detail = json.dumps(
            {"detail": f"request body over {self.max_bytes} bytes: split it, or raise --max-body-bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(detail)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": detail})


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` (0: a free port the OS picks; read it from `getsockname()`), for
    `serve(sock=...)`. Binding first, before the model loads, makes a port in use an error at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise GenrmError(
            f"cannot listen on {host}:{port}: {e.strerror or e}: choose another --port (--port 0 takes a free one "
            "and prints it) or --host"
        ) from e
    sock.set_inheritable(True)
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


def serve(
    reward_model,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: ServeLimits | None = None,
    api_key: str | None = None,
    log_level: str = "warning",
    sock: socket.socket | None = None,
) -> None:
    """Run the server until interrupted, on `sock` (from `bind_socket`) or else on `host`:`port`. Binding
    beyond loopback needs an API token."""
    import uvicorn

    check_bind(host, api_key)
    app = create_app(reward_model, limits, api_key)
    sock = sock or bind_socket(host, port)
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=10)
    uvicorn.Server(config).run(sockets=[sock])
