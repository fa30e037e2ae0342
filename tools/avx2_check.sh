#!/usr/bin/env bash
# `make check-avx2`: what an x86 CPU without VNNI (AVX2 only) computes, from any x86 machine.
#
# ONNX Runtime picks its integer kernels by CPUID: the quantizer and the validator run under
# `qemu-x86_64 -cpu Haswell` (no AVX-512, no VNNI; accuracy only, emulated timings mean nothing),
# told the emulated CPU's flags through EDGECONV_CPUINFO (qemu-user shows the host's /proc/cpuinfo).
# OpenVINO and PyTorch use oneDNN, capped at AVX2 with ONEDNN_MAX_CPU_ISA=AVX2.
# Shows: plain `edgeconv quantize` for this CPU (scheme by measurement), the budget mode, and the
# U8S8 full-range artifact of a VNNI machine (saturates here), each scored on Set5.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
SR=${EDGECONV_SR_DATA:-$REPO/../shared/data/sr}
OUT=${OUT:-$REPO/out/avx2-check}
EC=(.venv/bin/python -m edgeconv.cli.app)
start=$(date +%s)
say() { printf '\n== %s (%ss)\n' "$1" $(( $(date +%s) - start )); }
command -v qemu-x86_64-static >/dev/null || apt-get install -y -q qemu-user-static >/dev/null
[ -d "$SR/Set5" ] || { echo "error: $SR/Set5 | not found. Note: set EDGECONV_SR_DATA" >&2; exit 2; }
mkdir -p "$OUT/val"
ls "$SR"/BSD200/*.png | sort | awk 'NR % 10 == 1' | xargs -I{} cp {} "$OUT/val/"   # the fixed 10 % split
HASWELL=(env EDGECONV_CPUINFO="$REPO/tools/cpus/haswell.cpuinfo" qemu-x86_64-static -cpu Haswell)
quiet() { grep -v "TCG doesn't support" || true; }

say "export (host)"
"${EC[@]}" export models/weights/sr_x2_photo.pt -o "$OUT/d.onnx" --images "$SR/Set5" --force >/dev/null
say "VNNI-machine artifact: U8S8 full range (pinned), made on the host"
"${EC[@]}" quantize "$OUT/d.onnx" --calib "$SR/T91" --target x86-vnni --activation-type u8 --weight-type s8 \
  --reduce-range off -o "$OUT/vnni_u8s8.int8.onnx" --force > "$OUT/vnni_u8s8.log" 2>&1
say "Haswell: plain edgeconv quantize (target: this CPU)"
"${HASWELL[@]}" "${EC[@]}" quantize "$OUT/d.onnx" --calib "$SR/T91" -o "$OUT/plain.int8.onnx" --force \
  --json "$OUT/plain.json" 2>&1 | quiet | grep -E "^scheme|^on |wrote" || true
say "Haswell: budget mode (0.1 dB, chosen on BSD200 images, not Set5)"
"${HASWELL[@]}" "${EC[@]}" quantize "$OUT/d.onnx" --calib "$SR/T91" --images "$OUT/val" --max-psnr-drop 0.1 \
  -o "$OUT/budget.int8.onnx" --force --json "$OUT/budget.json" 2>&1 | quiet | grep -E "^kept|wrote" || true
say "Haswell: ONNX Runtime on Set5"
"${HASWELL[@]}" "${EC[@]}" validate "$OUT/d.onnx" "$OUT/plain.int8.onnx" "$OUT/budget.int8.onnx" \
  "$OUT/vnni_u8s8.int8.onnx" --images "$SR/Set5" --backend onnxruntime --runs 1 --size 16x16 \
  --json "$OUT/ort_haswell.json" --force > "$OUT/ort_haswell.log" 2>&1 || true
grep -E "warning" "$OUT/ort_haswell.log" | quiet
say "oneDNN capped at AVX2: OpenVINO on Set5"
ONEDNN_MAX_CPU_ISA=AVX2 "${EC[@]}" validate "$OUT/d.onnx" "$OUT/plain.int8.onnx" "$OUT/budget.int8.onnx" \
  "$OUT/vnni_u8s8.int8.onnx" --images "$SR/Set5" --backend openvino --runs 1 --size 16x16 \
  --json "$OUT/ov_avx2.json" --force > "$OUT/ov_avx2.log" 2>&1 || true
say "Set5 PSNR-Y on AVX2 kernels (timings not reported: emulated)"
.venv/bin/python - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for name, label in (("ort_haswell", "ONNX Runtime, qemu Haswell"), ("ov_avx2", "OpenVINO, ONEDNN_MAX_CPU_ISA=AVX2")):
    rows = json.loads((out / f"{name}.json").read_text())["rows"]
    fp32 = next(r["psnr_y_db"] for r in rows if r["precision"] == "fp32")
    for r in rows:
        print(f"{label:36s} {r['model']:22s} PSNR-Y {r['psnr_y_db']:.3f}  drop {fp32 - r['psnr_y_db']:+.3f} dB")
for name in ("plain", "budget"):
    data = json.loads((out / f"{name}.json").read_text())
    print(f"{name}: scheme {data['scheme']['scheme_name']} - {data['scheme']['why']}")
PY
echo "run time: $(( $(date +%s) - start )) s"
