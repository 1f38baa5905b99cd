#!/usr/bin/env bash
# The final test-split runs of the README's results (issue 29), all on one GPU machine side by side, so that
# "before" (the code before the coherent rationales, in OLD/) and "after" (this checkout) share the hardware:
#
#   after:  genrm quickstart --seed 0/1/2, --task word_sort --seed 0/1/2 (the shipped base)
#   before: the same six commands with the old code
#   lineage 2: the shipped base's two pretraining commands with --seed 10 / 11, then last-letter and word
#              sorting on it, after and before
#
# Every run uses --batch-size 2048 (sampling and scoring batches: GPU throughput, not a protocol setting) and
# --threads 1. After each run, the teacher-forced probe of its GenRM-CoT on the oracle rationale
# (bench/probe_rationales.py, the version of the code that trained it). A run that fails on the GPU is
# resumed on the CPU (the finished stages are kept; noted in rc.txt). Packs compact artefacts into $OUT.
#
#   OLD=old bash bench/final_runs.sh     (OLD: a checkout of the code before, with src/ and bench/)
#   EXTRA="--preset micro" SEEDS=0 LINEAGE=0 LIMIT=400 bash bench/final_runs.sh   (a smoke test on a CPU)
set -u
OUT=${OUT:-/tmp/genrm-final-out}
R=${R:-/tmp/final-runs}
LIMIT=${LIMIT:-470}
OLD=${OLD:-old}
EXTRA=${EXTRA:-}  # more quickstart options for every run
STEPS=${STEPS:-3000}  # pretraining steps of each lineage-2 run
SEEDS=${SEEDS:-0 1 2}
LINEAGE=${LINEAGE:-1}  # 0: no second lineage
ROOT=$PWD
mkdir -p "$OUT" "$R"
export PYTHONUNBUFFERED=1 GENRM_QUIET=1 OMP_NUM_THREADS=1
BASE_PATH=${PYTHONPATH:-}
T0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$R/gpu.txt" 2>&1

left() { echo $(( LIMIT - ($(date +%s) - T0) )); }

qs() {  # qs NAME CODE_DIR [quickstart options]
  local name=$1 code=$2
  shift 2
  local start
  start=$(date +%s)
  PYTHONPATH="$code/src:$BASE_PATH" timeout "$(left)" python3 -m genrm quickstart --out "$R/$name" --threads 1 \
    --batch-size 2048 $EXTRA "$@" > "$R/$name.log" 2>&1
  local rc=$?
  local where=gpu
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$(left)" -gt 30 ]; then  # a GPU failure: resume on the CPU
    where=gpu+cpu
    CUDA_VISIBLE_DEVICES= PYTHONPATH="$code/src:$BASE_PATH" timeout "$(left)" python3 -m genrm quickstart \
      --out "$R/$name" --threads 1 --batch-size 2048 $EXTRA "$@" >> "$R/$name.log" 2>&1
    rc=$?
  fi
  if [ -d "$R/$name/models/genrm_cot" ] && [ "$(left)" -gt 20 ]; then
    PYTHONPATH="$code/src:$BASE_PATH" timeout "$(left)" python3 "$code/bench/probe_rationales.py" \
      "$R/$name/models/genrm_cot" "$R/$name" --pairs 300 > "$R/$name/probe_oracle.json" 2>> "$R/$name.log"
  fi
  echo "$name rc=$rc on=$where wall_s=$(( $(date +%s) - start ))" >> "$R/rc.txt"
}

lineage2() {
  local common="--tasks last_letter,word_sort --solve-share 1.0 --aux-tasks first_letter,copy_list,reverse_list
    --aux-words 1-10 --aux-share 0.3 --probe-words 5,6 --steps $STEPS --generator-accuracy 2"
  local start
  start=$(date +%s)
  # shellcheck disable=SC2086
  PYTHONPATH="$ROOT/src:$BASE_PATH" timeout "$(left)" python3 -m genrm pretrain "$R/l2-run1" $common \
    --eval-every 250 --seed 10 > "$R/l2-run1.log" 2>&1 &&
  PYTHONPATH="$ROOT/src:$BASE_PATH" timeout "$(left)" python3 -m genrm pretrain "$R/l2-run2" $common \
    --init "$R/l2-run1/base" --eval-every 500 --seed 11 > "$R/l2-run2.log" 2>&1 &&
  cp "$R/l2-run1/pretrain_log.json" "$R/l2-run2/pretrain_log-run1.json"
  echo "lineage2-pretraining rc=$? wall_s=$(( $(date +%s) - start ))" >> "$R/rc.txt"
  [ -f "$R/l2-run2/base/config.json" ] || return
  qs l2-last_letter "$ROOT" --base "$R/l2-run2" &
  qs l2-word_sort "$ROOT" --task word_sort --base "$R/l2-run2" &
  qs l2-last_letter-before "$OLD" --base "$R/l2-run2" &
  qs l2-word_sort-before "$OLD" --task word_sort --base "$R/l2-run2" &
  wait
}

for s in $SEEDS; do
  qs "last_letter-s$s" "$ROOT" --seed "$s" &
  qs "word_sort-s$s" "$ROOT" --task word_sort --seed "$s" &
done
[ "$LINEAGE" = 1 ] && lineage2 &
for s in $SEEDS; do
  qs "last_letter-s$s-before" "$OLD" --seed "$s" &
  qs "word_sort-s$s-before" "$OLD" --task word_sort --seed "$s" &
done
wait
cat "$R/rc.txt"
# compact artefacts of every run (bench/keep_results.py), logs and exit codes, in one archive
K=$R/keep
mkdir -p "$K"
for run in "$R"/*/; do
  name=$(basename "$run")
  [ "$name" = keep ] && continue
  PYTHONPATH="$ROOT/src:$BASE_PATH" python3 "$ROOT/bench/keep_results.py" "$run" "$K/$name" 2>> "$R/keep.log"
done
cp "$R"/*.log "$R/rc.txt" "$R/gpu.txt" "$K/" 2>/dev/null
tar czf "$OUT/final_runs.tgz" -C "$K" . && ls -la "$OUT"
