#!/usr/bin/env bash
# GPU check: the quickstart's `gpu` preset on one CUDA device, three runs side by side:
# last-letter (in distribution), last-letter with the paper's length split (train 2-4, test 5-6
# words) and word sorting. Prints every results table; packs the small artefacts into $OUT.
set -u
OUT=${OUT:-/tmp/genrm-gpu-out}
R=/tmp/gpu-runs
LIMIT=${LIMIT:-480}
mkdir -p "$OUT" "$R"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 GENRM_QUIET=1 OMP_NUM_THREADS=4
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
one() {
  name=$1; shift
  start=$(date +%s)
  timeout "$LIMIT" python3 -m genrm quickstart --preset gpu --out "$R/$name" "$@" > "$R/$name.log" 2>&1
  echo "$name rc=$? wall_s=$(( $(date +%s) - start ))" | tee -a "$R/rc.txt"
}
one last_letter &
one last_letter_len --test-words 5-6 &
one word_sort --task word_sort &
wait
for r in last_letter last_letter_len word_sort; do
  echo "== $r"; cat "$R/$r/results.md" 2>/dev/null || tail -20 "$R/$r.log"
done
cd "$R" && tar czf "$OUT/gpu_runs.tgz" --exclude='*.safetensors' --exclude='samples' --exclude='scores' \
  --exclude='verifier_data/*.jsonl' --exclude='problems' --exclude='_trainer' . && ls -la "$OUT"
