#!/usr/bin/env bash
# Issue 24's x3/x4 trainings, one at a time on one thread, resumable: rerun the script and each run continues
# from its .last.pt; a finished run leaves <stem>.pt.done and is skipped. Best steps on the BSD200 split only.
# Usage: tools/sr_scale_runs.sh QUEUE [MINUTES_PER_SITTING]
#   QUEUE: a file of lines "SCALE CHANNELS BLOCKS DEGRADATION SELECT STEPS [NAME EXTRA...]" (see
#          training/sr/scale_queue3.txt): NAME tags the run's files, EXTRA are more `train sr` options
#          (e.g. --soft-content 0.3 --init runs/sr/x3_....pt --lr 5e-4)
set -euo pipefail
cd "$(dirname "$0")/.."
QUEUE=${1:?usage: tools/sr_scale_runs.sh QUEUE [MINUTES]}
MINUTES=${2:-60}
[ -d runs/data/sr291_train ] || tools/sr_split.sh
mkdir -p runs/sr
start=$(date +%s)
grep -v '^\s*#' "$QUEUE" | while read -r scale ch blocks degradation select steps name extra; do
  [ -n "$scale" ] || continue
  tag=$(echo "$degradation" | tr ':=,' '___')
  stem=runs/sr/x${scale}_c${ch}b${blocks}_${tag}_s${steps}${name:+_$name}
  read -r -a more <<< "${extra:-}"
  [ -f "$stem.pt.done" ] && continue
  left=$(( MINUTES - ($(date +%s) - start) / 60 ))
  if [ "$left" -lt 3 ]; then echo "budget spent; rerun to resume at $stem"; break; fi
  resume=(); [ -f "$stem.last.pt" ] && resume=(--resume "$stem.last.pt")
  echo "$(date -u +%H:%M) $stem (${left} min left)"
  .venv/bin/edgeconv train sr --data runs/data/sr291_train --val runs/data/bsd200_val -o "$stem.pt" --force \
    --scale "$scale" --model plain_edge_sr --model-config "{\"channels\":$ch,\"blocks\":$blocks}" \
    --degradation "$degradation" --select "$select" --steps "$steps" --val-every 1000 --batch-size 32 \
    --lr-patch 48 --seed 0 --threads 1 --max-minutes "$left" "${more[@]}" "${resume[@]}" 2>&1 | tail -2 | tee "$stem.log"
  grep -q "stopped by" "$stem.log" || touch "$stem.pt.done"
done
