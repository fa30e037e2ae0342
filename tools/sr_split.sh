#!/usr/bin/env bash
# The SR training / validation split (issue 15): T91 + BSD200 ("291 images") minus a fixed 10 % of BSD200
# (every 10th file in sorted order, 20 images) kept for picking best steps. Set5 is never used to select.
# Writes symlink folders: runs/data/sr291_train (271 images) and runs/data/bsd200_val (20 images).
set -euo pipefail
cd "$(dirname "$0")/.."
SR=${EDGECONV_SR_DATA:-../shared/data/sr}
rm -rf runs/data/sr291_train runs/data/bsd200_val
mkdir -p runs/data/sr291_train runs/data/bsd200_val
i=0
for f in $(ls "$SR"/BSD200/*.png | sort); do
  if [ $((i % 10)) -eq 0 ]; then ln -s "$(realpath "$f")" runs/data/bsd200_val/; else ln -s "$(realpath "$f")" runs/data/sr291_train/; fi
  i=$((i + 1))
done
for f in "$SR"/T91/*.png; do ln -s "$(realpath "$f")" runs/data/sr291_train/; done
echo "train: $(ls runs/data/sr291_train | wc -l) images, val: $(ls runs/data/bsd200_val | wc -l) images"
