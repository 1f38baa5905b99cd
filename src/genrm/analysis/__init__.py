"""Layer 7, analysis: numbers from scores.

Owns selection metrics (`metrics`: Best-of-N, pass@N, self-consistency, AUROC, bootstrap intervals), the
evaluation of every method's scores into results (`evaluate`, with paired differences), step-level verdicts
scored as ProcessBench does (`steps`) and token / FLOP accounting (`compute`).
Imports: core, tasks, models, engines, data, verifiers.
"""
