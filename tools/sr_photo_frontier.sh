#!/usr/bin/env bash
# Issue 15's photo-model frontier: plain_edge_sr 12 ch x 2 blocks (3.4k MACs / LR px) trained on mixed
# degradations with a growing share of aliased LR (OpenCV INTER_CUBIC), up to aliased LR only; each run's best
# step picked by its worst gain over bicubic upscaling across every protocol on the BSD200 split (never Set5).
# One run at a time, 1 thread; rerun the script to resume (each run continues from its .last.pt).
# Usage: tools/sr_photo_frontier.sh [MINUTES_PER_SITTING] [STEPS]   (defaults 40, 8000: ~32 min per run here)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-40}
STEPS=${2:-8000}
[ -d runs/data/sr291_train ] || tools/sr_split.sh
for mix in aliased3 aliasedonly aliased6 aliased1; do
  case $mix in
    aliasedonly) degradation=cubic-aliased ;;
    *) degradation="mixed:cubic-aliased=${mix#aliased}" ;;
  esac
  stem=runs/sr/photo_c12b2_${mix}_s$STEPS
  if [ -f "$stem.pt.done" ]; then continue; fi
  resume=(); [ -f "$stem.last.pt" ] && resume=(--resume "$stem.last.pt")
  .venv/bin/edgeconv train sr --data runs/data/sr291_train --val runs/data/bsd200_val -o "$stem.pt" --force \
    --model plain_edge_sr --model-config '{"channels":12,"blocks":2}' --degradation "$degradation" \
    --select worst-gain --steps "$STEPS" --val-every 1000 --batch-size 32 --lr-patch 48 --seed 0 --threads 1 \
    --max-minutes "$MINUTES" "${resume[@]}" | tail -1 | tee "$stem.log"
  grep -q "stopped by" "$stem.log" || touch "$stem.pt.done"
done
