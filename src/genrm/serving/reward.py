"""A trained verifier as a reward: (question, solution) in, a score in [0, 1] out.

`RewardModel` is the one object `genrm serve` and the RL hooks (`genrm.integrations`) share. It
holds a verifier (ORM, GenRM, GenRM-CoT with K votes, or the LLM-as-a-Judge) and the prompt the
verifier was trained on, and maps what RL frameworks hand over onto that prompt:

- `prompt_format="question"`: the text is a bare question, put into the task's prompt template;
- `"verbatim"`: the text already is the verifier's solve prompt (e.g. the policy saw the same prompt);
- `"auto"`: verbatim when the text has the template's fixed head and tail, else a question.

`load_reward_model(source)` opens a run folder, a trained model folder (`RUN/models/genrm`), any
model spec with a `method`, or the URL of a running `genrm serve` (a `RemoteRewardModel`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from ..core.config import check_prompt_format
from ..core.errors import GenrmError
from ..core.types import Result, Verifier
from ..pipeline.run import Run
from ..pipeline.verification import make_verifier
from ..tasks import get_task
from ..verifiers import build_verifier, check_method
from .degenerate import is_degenerate

_MARK = "\x00genrm-question\x00"


class RewardModel:
    """A verifier plus the prompt it reads. `score` is thread-safe (one model call at a time)."""

    def __init__(
        self,
        verifier: Verifier,
        prompt_template: str = "{question}",
        method: str = "genrm",
        name: str = "",
        degenerate: str = "score",
    ):
        if "{question}" not in prompt_template:
            raise GenrmError(f"prompt template {prompt_template!r} lacks '{{question}}'")
        self.verifier, self.method, self.name = verifier, method, name or method
        self.degenerate = degenerate  # "floor": degenerate solutions score 0 unread (genrm.serving.degenerate)
        self.prompt_template = prompt_template
        self._head, _, self._tail = prompt_template.format(question=_MARK).partition(_MARK)
        self._lock = threading.Lock()
        engine = getattr(verifier, "engine", None)
        tok = getattr(engine, "tokenizer", None)
        # end-of-text strings a decoded RL rollout may carry (OpenRLHF decodes with them)
        self._trailing = tuple(t for t in {getattr(tok, "eos_token", None), getattr(tok, "pad_token", None)} if t)

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        source: str | Path,
        method: str | None = None,
        *,
        task: str | None = None,
        data: str | None = None,
        k: int | None = None,
        temperature: float | None = None,
        max_new_tokens: int | None = None,
        batch_size: int | None = None,
        score_engine: str | None = None,
    ) -> "RewardModel":
        """A run folder (`method` picks the verifier; default: the first trained of genrm, genrm_cot,
        orm), a verifier folder inside a run (`RUN/models/genrm`), or any model spec with `method`
        (folder, Hub id, .gguf, `vllm:<model>`, OpenAI-compatible URL) and `task` (its prompt format)."""
        path = Path(str(source))
        if (path / "run.json").exists() or (
            path.parent.name == "models" and (path.parent.parent / "run.json").exists()
        ):
            if not (path / "run.json").exists():
                if method not in (None, path.name):
                    raise GenrmError(f"{path} is the '{path.name}' verifier of its run; drop --method {method}")
                path, method = path.parent.parent, path.name
            run = Run(path)
            overrides: dict[str, Any] = dict(
                k_votes=k,
                cot_temperature=temperature,
                cot_max_new_tokens=max_new_tokens,
                batch_size=batch_size,
                score_engine=score_engine,
            )
            run.config = replace(run.config, **{n: v for n, v in overrides.items() if v is not None})
            if task or data:
                raise GenrmError(f"{path} is a run: it reads its own task; drop --task/--data")
            method = method or next((m for m in ("genrm", "genrm_cot", "orm") if _trained(run, m)), None)
            if method is None:
                raise GenrmError(f"{path} has no trained verifier yet: run `genrm train-verifier {path} genrm` first")
            check_method(method)
            if method != "judge" and not _trained(run, method):
                raise GenrmError(
                    f"{run.file('models', method)} holds no trained verifier: run "
                    f"`genrm train-verifier {path} {method}` first"
                )
            return cls(make_verifier(run, method), run.task.prompt_template, method, f"{path.name}/{method}")
        if method is None:
            raise GenrmError(
                f"{source} is not a run folder: say which verifier it is with --method orm|genrm|genrm_cot"
            )
        task_obj = get_task(task or "gsm8k", data=data)
        verifier = build_verifier(
            method,
            str(source),
            task_obj.verify_format,
            k=k or 4,
            temperature=1.0 if temperature is None else temperature,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size or 256,
            chat_template="auto" if method == "judge" else "never",
        )
        return cls(verifier, task_obj.prompt_template, method, f"{Path(str(source)).name}/{method}")

    # -- prompts --------------------------------------------------------------------------------
    def solve_prompt(self, text: str, prompt_format: str = "question") -> str:
        """The verifier's solve prompt for a question (or for a text that already is one)."""
        check_prompt_format(prompt_format)
        if prompt_format == "verbatim" or (prompt_format == "auto" and self.looks_formatted(text)):
            return text
        return self.prompt_template.format(question=text)

    def looks_formatted(self, text: str) -> bool:
        head, tail = self._head, self._tail
        return (
            bool(head or tail) and len(text) >= len(head) + len(tail) and text.startswith(head) and text.endswith(tail)
        )

    def clean_completion(self, text: str) -> str:
        """Drop trailing end-of-text/pad strings a decoded rollout may end with."""
        changed = True
        while changed and self._trailing:
            changed = False
            for t in self._trailing:
                if text.endswith(t):
                    text, changed = text[: -len(t)], True
        return text

    # -- scoring --------------------------------------------------------------------------------
    def score(self, items: Sequence[tuple[str, str]], prompt_format: str = "question") -> list[Result]:
        """`(score, votes, rationales)` per (question, solution); votes/rationales only for GenRM-CoT."""
        flags = self.floored(items)
        kept = [(self.solve_prompt(q, prompt_format), s) for (q, s), f in zip(items, flags) if not f]
        return self.merge_floored(flags, self.score_verbatim(kept))

    def floored(self, items: Sequence[tuple[str, str]]) -> list[bool]:
        """Which (question or prompt, solution) items get 0 unread: degenerate ones, with `degenerate="floor"`."""
        return [self.degenerate == "floor" and is_degenerate(q, s) for q, s in items]

    @staticmethod
    def merge_floored(flags: Sequence[bool], results: Sequence[Result]) -> list[Result]:
        """The results of the items not floored, with a 0 score in place of each floored one."""
        rest = iter(results)
        return [Result(0.0, [], []) if f else next(rest) for f in flags]

    def score_verbatim(self, pairs: Sequence[tuple[str, str]]) -> list[Result]:
        """Score (solve prompt, solution) pairs as they are; identical pairs are scored once; with `degenerate`
        "floor", degenerate solutions (`is_degenerate`) get 0 without a model call."""
        if not pairs:
            return []
        flags = self.floored(pairs)  # a prompt holds its question: a question repeated is found in it
        unique = list(dict.fromkeys(pair for pair, f in zip(pairs, flags) if not f))
        with self._lock:
            scored = dict(zip(unique, self.verifier.score(unique))) if unique else {}
        return self.merge_floored(flags, [scored[p] for p, f in zip(pairs, flags) if not f])


def _trained(run: Run, method: str) -> bool:
    return any((run.file("models", method) / f).exists() for f in ("config.json", "adapter_config.json"))


def load_reward_model(source: str | Path | None = None, method: str | None = None, **kwargs: Any) -> Any:
    """A `RewardModel` (run folder, model folder, model spec) or a `RemoteRewardModel` (http(s) URL
    of `genrm serve`). Unset arguments come from GENRM_VERIFIER, GENRM_METHOD, GENRM_TASK and
    GENRM_SERVE_API_KEY, so RL frameworks that load reward code from a file can be configured
    from the environment."""
    source = source or os.environ.get("GENRM_VERIFIER")
    if not source:
        raise GenrmError(
            "no verifier given: set GENRM_VERIFIER to a run folder, a trained verifier folder or the URL "
            "of `genrm serve` (or pass it in code)"
        )
    method = method or os.environ.get("GENRM_METHOD") or None
    if str(source).startswith(("http://", "https://")):
        from .client import RemoteRewardModel

        return RemoteRewardModel(str(source), api_key=kwargs.pop("api_key", None))
    kwargs.setdefault("task", os.environ.get("GENRM_TASK") or None)
    return RewardModel.load(source, method, **kwargs)


def openrlhf_pairs(
    queries: Sequence[str],
    prompts: Sequence[str] | None,
    prompt_format: str,
    clean: Callable[[str], str] = lambda s: s,
    lenient: bool = False,
) -> tuple[list[Any], str]:
    """OpenRLHF hands over `query` = prompt + response and the `prompts`: split each query into
    (prompt, response). Without prompts the whole query is read verbatim (prompt and response run
    together, which is what the verifier reads anyway). A query that does not contain its prompt is an
    error, or with `lenient` a `None` in its place (the caller gives it a fallback)."""
    if prompts is None:
        return [(clean(q), "") for q in queries], "verbatim"
    if len(prompts) != len(queries):
        raise GenrmError(f"{len(queries)} queries but {len(prompts)} prompts: send one prompt per query")
    pairs: list[Any] = []
    for i, (q, p) in enumerate(zip(queries, prompts)):
        if q.startswith(p):
            pairs.append((p, clean(q[len(p) :])))
            continue
        at = q.find(p.strip()) if p.strip() else -1  # decoding may change whitespace around the prompt
        if at < 0:
            if lenient:
                pairs.append(None)
                continue
            raise GenrmError(f"query[{i}] does not contain prompts[{i}]: the query must be the prompt + the response")
        end = at + len(p.strip())
        pairs.append((q[at:end], clean(q[end:])))
    return pairs, prompt_format


NOT_READ = -2.0  # genrm_first_error of an item whose rationales gave no steps (or no vote)


def reward_value(result: Result, mode: str = "outcome") -> float:
    """The reward of one result: its score, or with `step_min` its lowest step score where its rationales give
    steps (`Result.steps`), else its score."""
    if mode == "step_min":
        steps = result.steps
        if steps is not None:
            return float(steps.step_min)
    return float(result.score)


def step_logs(result: Result) -> dict[str, float]:
    """Per-item step numbers for an RL framework's logs, the same keys for every item: `genrm_steps_read`
    (1/0), `genrm_first_error` (the predicted first wrong step; -1 no error; -2 not read), `genrm_step_min`
    (the lowest step score; the item's score where no steps were read)."""
    steps = result.steps
    first = NOT_READ if steps is None or steps.first_error is None else float(steps.first_error)
    return {
        "genrm_steps_read": float(steps is not None),
        "genrm_first_error": first,
        "genrm_step_min": float(steps.step_min) if steps is not None else float(result.score),
    }


def openrlhf_response(results: Sequence[Result], mode: str = "outcome") -> dict[str, Any]:
    """OpenRLHF's reward response: rewards (per `mode`, see `reward_value`), scores in [0, 1] (for dynamic
    filtering), per-sample logs (with GenRM-CoT or the judge: the votes' spread and `step_logs`)."""
    scores = [r.score for r in results]
    logs = {"genrm_score": scores}
    if any(r.votes for r in results):  # K votes per item: their spread says how sure the verifier is
        logs["genrm_vote_min"] = [min(r.votes) if r.votes else r.score for r in results]
        logs["genrm_vote_max"] = [max(r.votes) if r.votes else r.score for r in results]
        per_item = [step_logs(r) for r in results]
        for key in per_item[0]:
            logs[key] = [d[key] for d in per_item]
    return {"rewards": [reward_value(r, mode) for r in results], "scores": scores, "extra_logs": logs}
