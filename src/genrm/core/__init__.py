"""Layer 1, core: what every other layer shares; it imports nothing else of genrm.

Owns the data types and protocols (`types`: Problem, Candidate, Result, Task, Engine, Verifier), the verifier
prompt format (`formats`), the rationale grammar of step-level verdicts (`steps`), errors, JSON/JSONL files
and their row schemas (`io`, `schemas`), every configuration dataclass with its validation (`config`),
device and precision choices (`device`), token batching (`batching`) and progress bars (`progress`).
Imports: the standard library and third-party packages only (and `genrm.__version__`).
"""
