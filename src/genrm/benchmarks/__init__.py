"""Layer 11, benchmarks: `genrm bench`, a verifier on the public verifier benchmarks.

Owns the readers of ProcessBench, BIG-Bench Mistake and Best-of-N files (`data`), step predictions from a
verifier, by scoring step prefixes or with the authors' critique prompt (`judges`), resumable runs that write
predictions and results (`run`) and the master-key audit (`master_keys`). The metrics are the authors'
(`genrm.analysis.benchmarks`); the report is `genrm.report.benchmarks`.
Imports: every layer up to serving (a verifier is loaded as a `RewardModel`).
"""
