#!/usr/bin/env bash
# Issue 17: every layer of both shipped SR models in INT8 with quantization-aware training, scored on Set5.
#
# For each shipped model: `edgeconv quantize` of its FP32 graph (the PReLU form OpenVINO fuses; ONNX Runtime runs
# it too) for TARGET (default: this CPU), calibrated on T91, fine-tuned on the 271 training images of the split
# (never Set5; the BSD200 split reports the drop the recipe was chosen by), then `edgeconv validate` on Set5 in
# every back end here. Resumable: a stopped fine-tuning continues from OUT/NAME.TARGET.qat.int8.qat.pt.
# Usage: tools/int8_qat.sh [TARGET]   (OUT=out/int8, EDGECONV_SR_DATA=../shared/data/sr, MINUTES per model)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-auto}
OUT=${OUT:-out/int8}
SR=${EDGECONV_SR_DATA:-../shared/data/sr}
EC=.venv/bin/edgeconv
[ -d runs/data/sr291_train ] || tools/sr_split.sh
mkdir -p "$OUT"
for name in bicubic photo; do
  artifact=$OUT/$name.$TARGET.qat.int8.onnx
  state=${artifact%.onnx}.qat.pt
  resume=(); [ -f "$state" ] && resume=(--resume "$state")
  minutes=(); [ -n "${MINUTES:-}" ] && minutes=(--max-minutes "$MINUTES")
  if [ ! -f "$artifact" ] || [ -n "${FORCE:-}" ]; then   # made already: only scored again (FORCE=1 remakes it)
    "$EC" quantize "runtime/shipped/sr_x2_$name.onnx" --calib "$SR/T91" --qat-data runs/data/sr291_train \
      --images runs/data/bsd200_val --target "$TARGET" -o "$artifact" --json "$OUT/$name.$TARGET.qat.json" --force \
      "${minutes[@]}" "${resume[@]}" > "$OUT/$name.$TARGET.qat.log"
    tail -1 "$OUT/$name.$TARGET.qat.log"
  fi
  [ -f "$artifact" ] || continue   # stopped by MINUTES: rerun to resume
  "$EC" validate "runtime/shipped/sr_x2_$name.onnx" "$artifact" --images "$SR/Set5" --backend all --runs 1 \
    --size 16x16 --json "$OUT/$name.$TARGET.qat.set5.json" --force > "$OUT/$name.$TARGET.qat.set5.log" 2>&1
  .venv/bin/python - "$OUT/$name.$TARGET.qat.set5.json" "$OUT/$name.$TARGET.qat.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
report = json.load(open(sys.argv[2]))
fp32 = next(r["psnr_y_db"] for r in rows if r["precision"] == "fp32" and r["backend"] == "onnxruntime")
split = report["fp32_psnr_y_db"] - report["candidates"][0]["psnr_y_db"]
for r in rows:
    if r["precision"] == "int8":
        print(f"  {r['model']} on {r['backend']}: Set5 PSNR-Y {fp32:.3f} -> {r['psnr_y_db']:.3f} "
              f"(drop {fp32 - r['psnr_y_db']:.3f} dB; BSD200 split drop {split:.3f}); scheme {report['scheme']['scheme_name']}")
PY
done
