"""Layer 9, pipeline: owns a run folder and its stages. Each stage reads and writes plain files, so any stage can be
re-run or resumed from its inputs alone:

    run.json                      config + environment header
    problems/{split}.jsonl        gen_train, gen_dev, verifier_train, test
    models/pretrained/            base=pretrain only: `genrm pretrain`'s output for this run
    models/generator/             HF folder (a pretraining checkpoint; + train_log.json)
    samples/{split}.jsonl         N raw samples per problem (resumable)
    candidates/{split}.jsonl      labelled candidates
    verifier_data/{kind}.jsonl    orm, genrm, genrm_cot rows (+ stats.json, teacher_raw.jsonl)
    models/{orm,genrm,genrm_cot}/ trained verifiers (full models or LoRA adapters)
    probes.json                   the generator's and the base's own accuracy on the test problems
    scores/{method}.jsonl         per-candidate scores, votes and rationales (resumable)
    results.json, results.md, best_of_n.png, best_of_n_vs_k.png

Modules: `run` (the folder, engines over its models), `problems`, `generation` (train the
built-in generator, sample, label), `verification` (rows, training, verifier objects), `scoring`,
`evaluation` (probes, results, report files) and `runner` (the ordered stage list, `run_all`).
This file only gathers their public names. The built-in base is pretrained here too (`pretrain`, its
corpus `corpus`), since that stage samples with engines and trains with models.
Imports: every layer before it (core to report); the reward server and the sweeps build on it.
"""

from __future__ import annotations

from .evaluation import evaluate_run, probe_models, rationale_faithfulness
from .generation import label, sample, train_generator
from .problems import make_problems
from .run import N_DEV, SPLITS, Run, generator_spec
from .runner import run_all, stages
from .scoring import score
from .verification import make_verifier, make_verifier_data, train_verifier, verifier_base

__all__ = [
    "N_DEV",
    "SPLITS",
    "Run",
    "evaluate_run",
    "generator_spec",
    "label",
    "make_problems",
    "make_verifier",
    "make_verifier_data",
    "probe_models",
    "rationale_faithfulness",
    "run_all",
    "sample",
    "score",
    "stages",
    "train_generator",
    "train_verifier",
    "verifier_base",
]
