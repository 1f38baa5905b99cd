"""Compute accounting: tokens and FLOPs per problem for every method, and accuracy as a function of them.

What is counted, per test problem (means over problems; a method's cost includes sampling its candidates):

- **solutions**: each of N candidates prefills the solve prompt and generates its solution;
- **ORM / GenRM**: one scoring pass per candidate (prompt + solution [+ the decision line]), nothing generated;
- **GenRM-CoT / judge**: per candidate, the verification prompt is prefilled *once* when its K rationales are
  sampled from a shared prefix (genrm's Transformers engine; `shared_prefix: true`); each rationale is
  generated and its decision line prefilled to read p(Yes). Otherwise (`shared_prefix: false`) each of the K
  rationales prefills the prompt, and p(Yes) is read by a second pass over prompt + rationale + decision
  line (prefix caches of a server may save part of this; they are not counted).

FLOPs follow the usual forward-pass rule, 2 x parameters x tokens (Kaplan et al. 2020), with attention's
quadratic term left out (small at these lengths). A model whose weights genrm cannot see (a server URL) has
token counts only. Accuracy at (N, K) is the expectation over random N-subsets of the candidates and the
first K of their rationales, as in `genrm.analysis.metrics`; cost at (N, K) is N times the mean candidate's cost.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from .metrics import best_of_n, bootstrap_ci, n_grid, vote_at_n

FLOPS_RULE = "2 x parameters x tokens (forward pass; attention's quadratic term left out)"
TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass
class Model:
    """What counting needs of one model: its tokenizer's lengths and its parameter count (None: unknown)."""

    count: TokenCounter
    params: int | None
    exact_tokens: bool = True  # False: lengths estimated from characters (no tokenizer at hand)


def _safetensors_params(path: Path) -> int:
    """Parameters in a .safetensors file, from its header only (no weights read)."""
    with path.open("rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")


def model_params(spec: str) -> int | None:
    """Parameter count of a local model folder (a LoRA adapter adds its base's), else None."""
    path = Path(str(spec).removeprefix("vllm:"))
    if not path.is_dir():
        return None
    files = sorted(path.glob("*.safetensors"))
    total = sum(_safetensors_params(f) for f in files) if files else None
    adapter = path / "adapter_config.json"
    if adapter.exists():
        base = json.loads(adapter.read_text()).get("base_model_name_or_path")
        base_params = model_params(base) if base else None
        return None if base_params is None else base_params + (total or 0)
    return total


def load_model_info(spec: str) -> Model:
    """Token counter and parameter count of a model spec; characters / 4 when its tokenizer cannot be loaded."""
    params = model_params(spec)
    path = str(spec).removeprefix("vllm:")
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path)
    except Exception:  # a server URL, or a Hub id not in the local cache
        return Model(lambda texts: [max(1, math.ceil(len(t) / 4)) for t in texts], params, exact_tokens=False)

    def count(texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in tok(list(texts), add_special_tokens=False).input_ids] if texts else []

    return Model(count, params)


@dataclass
class Cost:
    """Tokens of one candidate's part in a method, for each model that runs."""

    gen_prefill: float = 0.0  # generator: solve prompt
    gen_generated: float = 0.0  # generator: the solution
    ver_prefill: float = 0.0  # verifier: prompts read (and decision lines)
    ver_generated: float = 0.0  # verifier: rationales written

    def plus(self, other: "Cost") -> "Cost":
        return Cost(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def scaled(self, x: float) -> "Cost":
        return Cost(*(a * x for a in self.astuple()))

    def astuple(self) -> tuple[float, float, float, float]:
        return (self.gen_prefill, self.gen_generated, self.ver_prefill, self.ver_generated)

    def tokens(self) -> float:
        return sum(self.astuple())

    def flops(self, gen_params: int | None, ver_params: int | None) -> float | None:
        gen = self.gen_prefill + self.gen_generated
        ver = self.ver_prefill + self.ver_generated
        if (gen and gen_params is None) or (ver and ver_params is None):
            return None
        return 2.0 * ((gen_params or 0) * gen + (ver_params or 0) * ver)

    def to_dict(self, gen_params: int | None, ver_params: int | None) -> dict[str, float | None]:
        return {
            "prefill_tokens": self.gen_prefill + self.ver_prefill,
            "generated_tokens": self.gen_generated + self.ver_generated,
            "tokens": self.tokens(),
            "flops": self.flops(gen_params, ver_params),
        }


def account(
    problem_ids: Sequence[str],
    prompts: dict[str, str],
    candidates: dict[str, list[str]],
    correct: dict[str, list[bool]],
    answers: dict[str, list[str | None]],
    scores: dict[str, dict[str, list[dict[str, Any]]]],
    verifier_prompts: dict[str, Callable[[str, str], str]],
    decision_line: str,
    models: dict[str, Model],
    names: dict[str, str],
    shared_prefix: bool = True,
    seed: int = 0,
    evaluated: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Per-problem cost of every method at the run's N (and K), and accuracy-vs-compute points.

    `scores[method][pid]` are the run's score rows (`score`, `votes`, `rationales`) aligned with
    `candidates[pid]`; `verifier_prompts[method](solve prompt, solution)` is the text that method reads;
    `models` holds "generator" and one entry per method. `evaluated` (results.json's `methods`, by display
    name) already holds accuracy and CI at every N for self-consistency and each verifier at its full K:
    those points are taken from it instead of being computed again.
    """
    gen = models["generator"]
    N = min(len(candidates[p]) for p in problem_ids)
    flat_prompts = [prompts[p] for p in problem_ids]
    prompt_len = dict(zip(problem_ids, gen.count(flat_prompts)))
    sol_len = _count_nested(gen.count, [candidates[p][:N] for p in problem_ids])
    gen_cost = {p: [Cost(prompt_len[p], s) for s in sol_len[i]] for i, p in enumerate(problem_ids)}

    # per method, per problem, per candidate: cost as a function of K (ORM/GenRM: one value, K=1)
    ver_cost: dict[str, dict[str, list[list[Cost]]]] = {}
    Ks: dict[str, int] = {}
    for m, rows in scores.items():
        model = models[m]
        read = _count_nested(
            model.count, [[verifier_prompts[m](prompts[p], c) for c in candidates[p][:N]] for p in problem_ids]
        )
        texts = {p: [r.get("rationales") or [] for r in rows[p][:N]] for p in problem_ids}  # K per candidate
        K = min((len(v) for p in problem_ids for v in texts[p]), default=0)
        Ks[m] = K
        if K == 0:
            ver_cost[m] = {p: [[Cost(ver_prefill=read[i][j])] for j in range(N)] for i, p in enumerate(problem_ids)}
            continue
        decision = model.count([decision_line])[0] + 1  # the line, and the newline before it
        rat = _count_nested(model.count, [[r[:K] for r in texts[p]] for p in problem_ids])
        per: dict[str, list[list[Cost]]] = {}
        for i, p in enumerate(problem_ids):
            per[p] = []
            for j in range(N):
                steps = []
                for k in range(1, K + 1):
                    written = sum(rat[i][j][:k])
                    if shared_prefix:  # one prefill, K rationales from its cache, each decision line after them
                        prefill = read[i][j] + decision * k
                    else:  # K prefills to sample, then K forward passes over prompt + rationale + decision
                        prefill = 2 * read[i][j] * k + written + decision * k
                    steps.append(Cost(ver_prefill=prefill, ver_generated=written))
                per[p].append(steps)
        ver_cost[m] = per

    def mean_cost(p: str, n: int, m: str | None = None, k: int = 1) -> Cost:
        total = Cost()
        for j in range(N):
            c = gen_cost[p][j]
            if m is not None:
                c = c.plus(ver_cost[m][p][j][k - 1])
            total = total.plus(c)
        return total.scaled(n / N)  # expected cost of n random candidates

    points: list[dict[str, Any]] = []
    corr = {p: correct[p][:N] for p in problem_ids}

    def add(method: str, n: int, k: int | None, per_problem: Callable[[], list[float]], m: str | None) -> None:
        cost = [mean_cost(p, n, m, k or 1) for p in problem_ids]
        tot = Cost()
        for c in cost:
            tot = tot.plus(c)
        tot = tot.scaled(1 / len(problem_ids))
        known = (evaluated or {}).get(method, {})
        if str(n) in known.get("ci95", {}) and (m is None or k in (None, Ks[m])):
            accuracy, (lo, hi) = known["best_of_n"][str(n)], known["ci95"][str(n)]
        else:
            values = per_problem()
            accuracy, (lo, hi) = sum(values) / len(values), bootstrap_ci(values, seed=seed)
        ver_params = models[m].params if m else None
        points.append(
            {
                "method": method,
                "N": n,
                "K": k,
                "accuracy": accuracy,
                "ci95": [lo, hi],
                **tot.to_dict(gen.params, ver_params),
            }
        )

    def sc_values(n: int) -> list[float]:
        return [vote_at_n(answers[p][:N], corr[p], n, seed=seed) for p in problem_ids]

    def bon_values(s: dict[str, list[float]], n: int) -> list[float]:
        return [best_of_n(s[p], corr[p], n) for p in problem_ids]

    for n in n_grid(N):
        add("self-consistency", n, None, partial(sc_values, n), None)
    for m, rows in scores.items():
        K = Ks[m]
        ks: list[int | None] = list(n_grid(K)) if K else [None]
        for kv in ks:
            if kv is None:
                s = {p: [r["score"] for r in rows[p][:N]] for p in problem_ids}
            else:
                s = {p: [sum(r["votes"][:kv]) / kv for r in rows[p][:N]] for p in problem_ids}
            for n in n_grid(N):
                add(names.get(m, m), n, kv, partial(bon_values, s, n), m)

    per_method: dict[str, Any] = {}
    full = {(pt["method"], pt["N"], pt["K"]): pt for pt in points}
    per_method["self-consistency"] = {k: v for k, v in full[("self-consistency", N, None)].items() if k != "method"}
    for m in scores:
        pt = full[(names.get(m, m), N, Ks[m] or None)]
        per_method[names.get(m, m)] = {k: v for k, v in pt.items() if k != "method"}
    return {
        "flops_rule": FLOPS_RULE,
        "shared_prefix": shared_prefix,
        "params": {role: mdl.params for role, mdl in models.items()},
        "exact_tokens": {role: mdl.exact_tokens for role, mdl in models.items()},
        "per_problem_at_N": per_method,
        "accuracy_vs_compute": points,
    }


def _count_nested(count: TokenCounter, nested: list[list[Any]]) -> list[list[Any]]:
    """`count` applied to a list of lists (of strings, or of lists of strings) in one call."""
    flat: list[str] = []
    shape: list[list[int]] = []
    for row in nested:
        shape.append([])
        for x in row:
            items = x if isinstance(x, list) else [x]
            shape[-1].append(len(items))
            flat.extend(items)
    lengths = count(flat)
    out: list[list[Any]] = []
    at = 0
    for row_shape, row in zip(shape, nested):
        out.append([])
        for size, x in zip(row_shape, row):
            part = lengths[at : at + size]
            at += size
            out[-1].append(part if isinstance(x, list) else part[0])
    return out


def plan(points: Sequence[dict[str, Any]], budget: float, unit: str = "flops") -> list[dict[str, Any]]:
    """Points within `budget` (per problem, in `unit`: flops or tokens), best expected accuracy first;
    at equal accuracy the cheaper one."""
    if unit not in ("flops", "tokens"):
        raise ValueError(f"unit {unit!r}: use flops or tokens")
    fits = [p for p in points if p.get(unit) is not None and p[unit] <= budget]
    return sorted(fits, key=lambda p: (-p["accuracy"], p[unit]))
