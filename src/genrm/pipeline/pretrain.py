"""Pretraining the built-in model as a language model: packed documents that hold every skill later stages need.

A verifier starts from a pretrained LM (the paper's start from Gemma); ours starts from this.
By default the corpus holds *solve* documents only (a problem and its reference solution), for the
tasks and for general list tasks on longer lists (`aux_tasks`): a base that never saw verification, so
every verifier format is equally new to it. `solve_share < 1` mixes in *verify* documents (a problem, a
candidate solution -- the reference or a synthetic wrong one made by `task.perturb` -- and the oracle
rationale with its Yes/No verdict), as the verification-pretrained ablation was made. Documents are concatenated
into fixed-length rows, as LMs are pretrained, so every skill is learnt at every position: a model
trained only on rows that start with the problem solves at position 0 and fails after any context.

One run, several checkpoints: the *generator* of each task is the first checkpoint whose sampled
accuracy on held-out dev problems reaches `generator_accuracy` (Best-of-N needs a generator that
is neither hopeless nor saturated); the final checkpoint is the *base* the verifiers are fine-tuned
from and the LLM-as-a-Judge prompts. Problems come only from the training share of the question
space (`is_held_out` reserves a tenth of it for test sets), so no test problem of any run is seen.

    OUT/base/                  final checkpoint (Hugging Face folder)
    OUT/generator-<task>/      per task: the first checkpoint at the target accuracy (+ pretrain_log.json)
    OUT/pretrain_log.json      config, command, dev accuracy history, probes, times
    OUT/README.md              model card
"""

from __future__ import annotations

import random
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import TrainerCallback

from ..core.errors import GenrmError
from ..core.io import environment, read_json, replace_dir, write_json
from ..core.progress import console
from ..core.train_config import PretrainConfig
from ..core.types import Problem
from .corpus import HELD_OUT_EVERY, build_corpus, corpus_problems, document_mix


def builtin_dir() -> Path:
    """The pretraining output shipped inside the package (`genrm/pretrained/`)."""
    return Path(__file__).parents[1] / "pretrained"


class PackedRows(torch.utils.data.Dataset):
    """Whole documents (BOS + prompt + completion + EOS, loss on the completion) packed into fixed-length rows.

    A row takes documents until the next one does not fit; the rest is padding (no loss). No document
    is cut, so every verdict is trained on, at offsets from 0 to the row's end.
    """

    def __init__(self, tokenizer, docs: list[tuple[str, str]], seq_len: int, rows: int):
        prompts = tokenizer([p for p, _ in docs], add_special_tokens=True).input_ids
        completions = tokenizer([c for _, c in docs], add_special_tokens=False).input_ids
        self.ids = torch.full((rows, seq_len), tokenizer.pad_token_id, dtype=torch.int32)  # (R, T)
        self.labels = torch.full((rows, seq_len), -100, dtype=torch.int32)  # (R, T)
        d = 0
        for r in range(rows):
            ids: list[int] = []
            labels: list[int] = []
            while True:
                p, c = prompts[d % len(docs)], completions[d % len(docs)] + [tokenizer.eos_token_id]
                if len(p) + len(c) > seq_len:
                    raise GenrmError(f"a pretraining document has {len(p) + len(c)} tokens > seq_len={seq_len}")
                if len(ids) + len(p) + len(c) > seq_len:
                    break
                ids += p + c
                labels += [-100] * len(p) + c
                d += 1
            self.ids[r, : len(ids)] = torch.tensor(ids)
            self.labels[r, : len(ids)] = torch.tensor(labels)
        self.documents_used = d

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i].tolist(), "labels": self.labels[i].tolist()}


def solved(engine, task, problems, max_new_tokens: int, seed: int, temperature=1.0, context="") -> list[bool]:
    """Per problem: is one sample (greedy at temperature 0) from `engine`, after `context` text, correct?"""
    outs = engine.generate(
        [context + task.prompt(p) for p in problems],
        n=1,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
    )
    return [task.is_correct(p, o[0]) for p, o in zip(problems, outs)]


def _engine(model, tokenizer):
    from ..engines import TransformersEngine

    return TransformersEngine(getattr(model, "module", model), tokenizer)


def _mean(flags: list[bool]) -> float:
    return sum(flags) / max(1, len(flags))


class GeneratorCheckpoints(TrainerCallback):
    """Every `eval_every` steps: each task's sampled dev accuracy; the first checkpoint at `generator_accuracy`
    is that task's generator."""

    def __init__(self, tasks, dev, tokenizer, cfg: PretrainConfig, out: Path):
        self.tasks, self.dev, self.tokenizer, self.cfg, self.out = tasks, dev, tokenizer, cfg, out
        self.history: list[dict] = []
        self.saved: dict[str, int] = {}
        self.state_file = out / "generator_checkpoints.json"

    def on_train_begin(self, args, state, control, **kw):
        """On a resumed training, what was found up to the resumed step (later evaluations run again)."""
        if state.global_step and self.state_file.exists():
            old = read_json(self.state_file)
            self.history = [r for r in old["history"] if r["step"] <= state.global_step]
            self.saved = {t: s for t, s in old["saved"].items() if s <= state.global_step}

    def on_step_end(self, args, state, control, model=None, **kw):
        if state.global_step % self.cfg.eval_every or model is None:
            return
        row = {"step": state.global_step}
        for task in self.tasks:
            if task.name in self.saved:
                continue
            engine = _engine(model, self.tokenizer)
            acc = _mean(solved(engine, task, self.dev[task.name], self.cfg.max_new_tokens, seed=state.global_step))
            row[task.name] = round(acc, 4)
            if acc >= self.cfg.generator_accuracy:
                save_model(model, self.tokenizer, self.out / f"generator-{task.name}")
                self.saved[task.name] = state.global_step
        model.train()
        if len(row) > 1:
            self.history.append(row)
            write_json(self.state_file, {"history": self.history, "saved": self.saved})
            saved = ", ".join(f"generator-{t} at step {s}" for t, s in self.saved.items())
            accs = {k: v for k, v in row.items() if k != "step"}
            console.print(f"step {row['step']}: sampled dev accuracy {accs}" + (f"; {saved}" if saved else ""))


def save_model(model, tokenizer, path: Path) -> None:
    """Write a model folder atomically (a temp folder renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    from ..models.model import quiet_hf_progress

    with quiet_hf_progress():
        getattr(model, "module", model).save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    replace_dir(tmp, path)


def probes(
    model, tokenizer, task, dev: list[Problem], max_new_tokens: int, longer: dict | None = None, seed: int = 0
) -> dict:
    """What the checkpoint can do on the inputs later stages give it.

    - `solve_greedy_at_{0,1,2}`: greedy accuracy with 0, 1 or 2 solved documents before the problem (joined by
      EOS + BOS, as in the packed rows);
    - `solve_sampled`: one sample at temperature 1 (what Best-of-N draws);
    - `verify_verdict`, `verify_exact`: greedy GenRM-CoT on half reference, half synthetic wrong candidates:
      the verdict's accuracy, and the share of rationales identical to the oracle's;
    - `solve_greedy_{n}w`, `solve_sampled_{n}w`: solving problems of `n` words (`longer`: {n: problems}).
    """
    rng = random.Random(seed)
    engine = _engine(model, tokenizer)
    out = {}
    ctx_problems = task.make_problems(2, [3], seed=seed + 12345)
    sep = tokenizer.eos_token + tokenizer.bos_token
    contexts = ["", *(task.prompt(q) + task.reference_solution(q) + sep for q in ctx_problems)]
    for i in range(3):
        ctx = "".join(contexts[1 : i + 1])
        out[f"solve_greedy_at_{i}"] = _mean(solved(engine, task, dev, max_new_tokens, seed, 0.0, ctx))
    out["solve_sampled"] = _mean(solved(engine, task, dev, max_new_tokens, seed))
    for n, ps in (longer or {}).items():
        out[f"solve_greedy_{n}w"] = _mean(solved(engine, task, ps, max_new_tokens, seed, 0.0))
        out[f"solve_sampled_{n}w"] = _mean(solved(engine, task, ps, max_new_tokens, seed))
    fmt = task.verify_format
    cands = [task.reference_solution(p) if i % 2 else task.perturb(p, rng) for i, p in enumerate(dev)]
    texts = engine.generate(
        [fmt.cot_prompt(task.prompt(p), c) for p, c in zip(dev, cands)],
        n=1,
        max_new_tokens=4 * max_new_tokens,
        temperature=0.0,
        seed=seed,
    )
    oracle = [task.oracle_rationale(p, c, fmt.decision) for p, c in zip(dev, cands)]
    verdicts = [t[0].rstrip().endswith(o[-4:].strip()) for t, o in zip(texts, oracle)]
    out["verify_verdict"] = sum(verdicts) / len(dev)
    out["verify_exact"] = sum(t[0].strip() == o.strip() for t, o in zip(texts, oracle)) / len(dev)
    return {k: round(v, 4) for k, v in out.items()}


def pretrain(cfg: PretrainConfig, out: str | Path) -> dict:
    """Pretrain the built-in model on the packed corpus; write the base, the generators, a log and a card."""
    from ..core.config import parse_counts
    from ..models.model import build_tiny_model
    from ..models.training import TrainConfig, train_lm_rows
    from ..tasks import StepTask, get_task

    out = Path(out)
    tasks: list[StepTask] = []
    aux: list[StepTask] = []
    for names, into in ((cfg.task_list(), tasks), (cfg.aux_list(), aux)):
        for name in names:
            t = get_task(name)
            if not isinstance(t, StepTask):
                raise GenrmError(f"task {t.name} cannot be pretrained on (no synthetic candidates); use step tasks")
            into.append(t)
    if not tasks:
        raise GenrmError("pretrain needs at least one task: --tasks last_letter,word_sort")
    if aux and not 0 < cfg.aux_share < 1:
        raise GenrmError(f"--aux-share {cfg.aux_share}: give a share of documents between 0 and 1")
    words = sorted({w for t in tasks + aux for w in t.vocabulary()})
    if cfg.init:
        from ..models.model import load_model

        model, tok = load_model(cfg.init, dtype=torch.float32)
        model.train()
    else:
        model, tok = build_tiny_model(cfg.model_size, seed=cfg.seed, words=words)
    model.config._attn_implementation = "sdpa"  # packed rows have no padding: PyTorch's fused attention is faster
    rows = cfg.steps * cfg.batch_size
    t0 = time.time()
    dev, docs = build_corpus(cfg, tasks, aux, out)
    data = PackedRows(tok, docs, cfg.seq_len, rows)
    corpus_seconds = time.time() - t0
    checkpoints = GeneratorCheckpoints(tasks, dev, tok, cfg, out)
    train_cfg = TrainConfig(
        max_steps=cfg.steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        max_seconds=cfg.max_seconds,
        seed=cfg.seed,
        checkpoint_steps=cfg.checkpoint_steps,
        checkpoint_minutes=cfg.checkpoint_minutes,
        report_to=cfg.report_to,
    )
    log = train_lm_rows(
        model, tok, data, train_cfg, out / "base", what="pretraining", callbacks=[checkpoints], params=asdict(cfg)
    )
    model.eval()
    for task in tasks:  # a task that never reached the target: its generator is the final checkpoint
        if task.name not in checkpoints.saved:
            save_model(model, tok, out / f"generator-{task.name}")
    probe_seconds = time.time()
    result = {
        "config": asdict(cfg),
        "command": "genrm pretrain " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["pretrain"] else None,
        "environment": environment(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocabulary": len(tok),
        "documents": data.documents_used,
        "tokens": rows * cfg.seq_len,
        "corpus_seconds": round(corpus_seconds, 1),
        "train_seconds": log["seconds"],
        "steps": log["steps"],
        "losses": log["losses"],
        "dev_accuracy": checkpoints.history,
        "generator_step": {t.name: checkpoints.saved.get(t.name) for t in tasks},
        "probes": {},
    }
    from ..models.model import load_model

    for i, task in enumerate(tasks):
        longer = {  # the task at lengths the corpus never holds (training-share questions: a dev set)
            n: corpus_problems(task, cfg, cfg.n_dev, seed=cfg.seed * 100 + 90 + i, words=str(n))
            for n in (parse_counts(cfg.probe_words) if cfg.probe_words else [])
        }
        for name in ("base", f"generator-{task.name}"):
            m, t = load_model(out / name)
            result["probes"][f"{name}/{task.name}"] = probes(m, t, task, dev[task.name], cfg.max_new_tokens, longer)
    result["probe_seconds"] = round(time.time() - probe_seconds, 1)
    write_json(out / "pretrain_log.json", result)
    for name in ("base", *(f"generator-{t.name}" for t in tasks)):  # each checkpoint carries its run's log
        write_json(out / name / "pretrain_log.json", result)
    (out / "README.md").write_text(model_card(result), encoding="utf-8")
    console.print(f"pretrained in {result['train_seconds']:.0f} s: {out}")
    return result


def model_card(log: dict) -> str:
    """The README.md of a pretraining output folder."""
    c = log["config"]
    lines = [
        "# genrm built-in base model",
        "",
        f"A {log['parameters']:,}-parameter Llama (size `{c['model_size']}`, word-level tokenizer of "
        f"{log['vocabulary']} tokens) pretrained from scratch by genrm's own command:",
        "",
        "```bash",
        log.get("command") or f"genrm pretrain OUT --steps {c['steps']} --seed {c['seed']}",
        "```",
        "",
        f"Corpus: tasks {c['tasks']}, {c['words']} words a problem, {c['n_problems']:,} training problems per task "
        f"(never a held-out question: test sets draw only questions whose canonical form's SHA-1 is 0 mod "
        f"{HELD_OUT_EVERY}; for list tasks the canonical form is the multiset of words, so no reordering of a test "
        f"question is seen either), {log['documents']:,} documents ({document_mix(c)}), packed into "
        f"{c['seq_len']}-token rows; {log['tokens']:,} tokens in all. {log['steps']} steps of {c['batch_size']} rows "
        f"at lr {c['lr']} took {log['train_seconds']:.0f} s ({log['environment']['device']}, "
        f"{log['environment']['threads']} threads).",
        "",
        "Checkpoints: `base/` (the final one: verifiers start from it, the judge prompts it) and, per task, "
        "`generator-<task>/`, the first checkpoint whose sampled dev accuracy reached "
        f"{c['generator_accuracy']} (step {log['generator_step']}).",
        "",
        "| checkpoint / task | greedy, 0 / 1 / 2 docs before | sampled | verify verdict | verify exact |",
        "|---|---|---|---|---|",
    ]
    for name, p in log["probes"].items():
        lines.append(
            f"| {name} | {p['solve_greedy_at_0']:.3f} / {p['solve_greedy_at_1']:.3f} / {p['solve_greedy_at_2']:.3f} "
            f"| {p['solve_sampled']:.3f} | {p['verify_verdict']:.3f} | {p['verify_exact']:.3f} |"
        )
    longer = [(name, k, v) for name, p in log["probes"].items() for k, v in p.items() if k.endswith("w")]
    if longer:
        lines += ["", "Solving at word counts the corpus never holds for that task (dev questions):", ""]
        lines += [f"- {name}: {k.removeprefix('solve_')} {v:.3f}" for name, k, v in longer]
    lines += ["", "Dev accuracy history (sampled, temperature 1) and losses: `pretrain_log.json`.", ""]
    return "\n".join(lines)
