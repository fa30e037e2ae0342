#!/usr/bin/env bash
# The INT8 artifacts issue 25 kept byte-identical across the quantization redesign: run it before and after a
# change into two folders and `cmp` them (same inputs, same CPU). Usage: tools/int8_identity_check.sh OUTDIR
# (needs out/demo/model.fp32.onnx from `make demo` and runs/data/bsd200_val from tools/sr_split.sh)
set -e
O=$1; mkdir -p $O
M=out/demo/model.fp32.onnx; C=../shared/data/sr/T91
for t in x86-vnni x86-avx2 arm tensorrt; do
  .venv/bin/edgeconv quantize $M --calib $C --max-calib-images 16 --target $t -o $O/q_$t.onnx --force > $O/q_$t.log 2>&1
done
.venv/bin/edgeconv quantize $M --calib $C --max-calib-images 16 --precision fp16 -o $O/q_fp16.onnx --force > $O/q_fp16.log 2>&1
.venv/bin/edgeconv quantize $M --calib $C --max-calib-images 16 --method minmax --per-channel -o $O/q_minmax.onnx --force > $O/q_minmax.log 2>&1
.venv/bin/edgeconv quantize $M --calib $C --max-calib-images 16 --images runs/data/bsd200_val --max-psnr-drop 0.002 -o $O/q_budget.onnx --force > $O/q_budget.log 2>&1
