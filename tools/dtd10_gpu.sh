#!/usr/bin/env bash
# Issue 16's DTD10 comparison on a CUDA machine: every conv variant x 5 seeds, split over parallel
# processes (`edgeconv compare --shard I/N`), then the records packed into $OUT. The tables come from
# one run without --shard on any machine (it reuses every run):
#   edgeconv compare --tasks dtd10 --seeds 5 --cls-variants $VARIANTS --cls-steps $STEPS --cls-batch $BATCH --out $RUNS
# Set-up on a bare machine with torch: the package is put on PYTHONPATH from the checkout (no pip).
# Env: STEPS (150), BATCH (32), CROP (96), LOAD (160), SHARDS (1), LIMIT seconds for the shards (480), SEEDS (5),
# DEVICE (cuda), VARIANTS (all nine), DATA (.dtd10/DTD10: a copy of shared/data/textures/DTD10 inside the
# checkout, so it travels), RUNS (runs/dtd10).
#
# Measured on an H200 (2026-11-30, tools/cuda_variant_probe.py, one process, batch 64, 128 px, stride-1 stem):
# plain 22 ms/step, jitter 29-40, shiftwise 151, -diagonal 272, -rotational 171, large-kernel 88 - launch-bound,
# the GPU mostly idle. Do not raise SHARDS on one GPU without MPS: 15 processes at once finished 2 of 45 runs in
# 502 s (time-slicing between 15 CUDA contexts); one process is ~20 s per 300-step plain net.
set -u
STEPS=${STEPS:-150}; BATCH=${BATCH:-32}; CROP=${CROP:-96}; LOAD=${LOAD:-160}
SHARDS=${SHARDS:-1}; LIMIT=${LIMIT:-480}; SEEDS=${SEEDS:-5}; DEVICE=${DEVICE:-cuda}
DATA=${DATA:-.dtd10/DTD10}; RUNS=${RUNS:-runs/dtd10}; OUT=${OUT:-out/dtd10_gpu}
VARIANTS=${VARIANTS:-plain,jitter-random,jitter-channel,jitter-subpixel,jitter-learnable,shiftwise,shiftwise-diagonal,shiftwise-rotational,large-kernel}
root=$(pwd)
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 CUBLAS_WORKSPACE_CONFIG=:4096:8
if ! "$PY" -c "import edgeconv.models" 2>/dev/null; then  # not installed: the checkout's layout as a package
  pkg=/tmp/edgeconv_pkg
  rm -rf "$pkg" && mkdir -p "$pkg" && cp -r edgeconv "$pkg/"
  for d in models export runtime; do ln -s "$root/$d" "$pkg/edgeconv/$d"; done
  export PYTHONPATH="$pkg"
fi
mkdir -p "$RUNS/logs" "$OUT"
if [ "$DEVICE" != cpu ]; then
  set -o pipefail; "$PY" tools/cuda_variant_probe.py 2>&1 | tee "$RUNS/logs/probe.log" || exit 1; set +o pipefail
fi
"$PY" -P -c "from pathlib import Path; from edgeconv.research.dtd_task import dtd10_folders; \
dtd10_folders(Path('$DATA'), Path('$RUNS/dtd10/data'))" || exit 1  # once, before the shards race for it
start=$(date +%s)
for i in $(seq 0 $((SHARDS - 1))); do
  timeout "$LIMIT" "$PY" -P -m edgeconv.cli.app compare --tasks dtd10 --dtd10 "$DATA" --seeds "$SEEDS" \
    --cls-variants "$VARIANTS" --cls-steps "$STEPS" --cls-batch "$BATCH" --crop "$CROP" --load-size "$LOAD" \
    --threads 1 --device "$DEVICE" --out "$RUNS" \
    --shard "$i/$SHARDS" >"$RUNS/logs/shard$i.log" 2>&1 &
done
wait
echo "shards done in $(( $(date +%s) - start )) s; records: $(ls "$RUNS"/dtd10/*/seed?.json 2>/dev/null | wc -l)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$RUNS/logs/gpu.txt" 2>&1
tar czf "$OUT/records.tgz" "$RUNS"/dtd10/*/seed?.json "$RUNS"/dtd10/*/seed?.erf.npy "$RUNS/logs"
tar cf "$OUT/seed0_plainjitter.tar" "$RUNS"/dtd10/{plain,jitter-*}/seed0.pt 2>/dev/null
tar cf "$OUT/seed0_other.tar" "$RUNS"/dtd10/{shiftwise*,large-kernel}/seed0.pt 2>/dev/null
ls -la "$OUT"; tail -n 3 "$RUNS"/logs/shard*.log | tail -n 40
