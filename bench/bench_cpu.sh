#!/usr/bin/env bash
# The CPU numbers of docs/benchmarks.md: the default quickstart's verifiers (RUN) on the public benchmarks.
# Usage: RUN=genrm-runs/quickstart-last_letter-cpu bash bench/bench_cpu.sh   (writes docs/results/bench/)
set -euo pipefail
# ProcessBench 100 + 100 solutions ~ 10 min, BBM 30 + 30 ~ 6 min, the Best-of-N file ~ 5 min, master keys ~ 5 min
RUN=${RUN:-genrm-runs/quickstart-last_letter-cpu}
DATA=${DATA:-../shared/data/benchmarks}
OUT=${OUT:-docs/results/bench}
genrm bench processbench --verifier "$RUN" --method genrm --data "$DATA/processbench" --subset gsm8k --subset math \
  --limit 100 --out "$OUT/processbench-genrm"
genrm bench big-bench-mistake --verifier "$RUN" --method genrm --data "$DATA/big-bench-mistake" \
  --subset word_sorting --subset multistep_arithmetic --limit 30 --out "$OUT/bbm-genrm"
genrm bench bon "$DATA/qwen-math-bon/math_cot_100.jsonl" --verifier "$RUN" --method genrm --out "$OUT/bon-genrm"
genrm bench master-keys --verifier "$RUN" --method genrm --out "$OUT/master-keys-genrm"
genrm bench master-keys --verifier "$RUN" --method genrm_cot --limit 100 --out "$OUT/master-keys-genrm_cot"
