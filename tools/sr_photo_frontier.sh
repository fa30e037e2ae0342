#!/usr/bin/env bash
# Issue 15's photo-model frontier: plain_edge_sr 12 ch x 2 blocks (3.4k MACs / LR px) on mixed degradations
# with a growing share of aliased LR (OpenCV INTER_CUBIC), each run's best step picked by its worst gain over
# bicubic upscaling across every protocol on the BSD200 split (never Set5). One run at a time, 1 thread;
# rerun the script to resume (each run continues from its .last.pt). Usage: tools/sr_photo_frontier.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-50}
[ -d runs/data/sr291_train ] || tools/sr_split.sh
for weight in 1 3 6; do
  out=runs/sr/photo_c12b2_aliased$weight.pt
  last=runs/sr/photo_c12b2_aliased$weight.last.pt
  if [ -f "$out.done" ]; then continue; fi
  resume=(); [ -f "$last" ] && resume=(--resume "$last")
  .venv/bin/edgeconv train sr --data runs/data/sr291_train --val runs/data/bsd200_val -o "$out" --force \
    --model plain_edge_sr --model-config '{"channels":12,"blocks":2}' --degradation "mixed:cubic-aliased=$weight" \
    --select worst-gain --steps 40000 --val-every 2000 --batch-size 32 --lr-patch 48 --seed 0 --threads 1 \
    --max-minutes "$MINUTES" "${resume[@]}" | tail -1 | tee "runs/sr/photo_c12b2_aliased$weight.log"
  grep -q "stopped by" "runs/sr/photo_c12b2_aliased$weight.log" || touch "$out.done"
done
