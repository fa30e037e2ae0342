#!/usr/bin/env bash
# `make test-arm`: the runtime-only install on aarch64 under emulation, checked against x86.
#
# A Debian arm64 root file system (debootstrap, from the Debian mirror this machine already uses) run
# through qemu-user; aarch64 wheels of the runtime's dependencies from the package registry; the
# project's own wheel. In it: `edgeconv doctor`, `edgeconv upscale` of a Set5 image, `edgeconv validate`
# of the FP32 model and of the INT8 artifact made for the ARM target, raw outputs on both back ends,
# compared on the host with x86's (tools/arm_check/compare.py). Emulated timings are not reported.
#
# Needs root (debootstrap, chroot, mounts). First run ~5 min (root file system), later ~2 min.
# Environment: QEMU_CPU_MODEL (cortex-a76 = Raspberry Pi 5, default; cortex-a72 = Pi 4),
# OUT (default out/arm-check), EDGECONV_SR_DATA (the folder holding Set5 and BSD200), ARM_EXTRA_PAIRS
# ("fp32.onnx:int8.onnx ..." more pairs scored on Set5 on both sides, e.g. the QAT artifacts of docs/INT8.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
PY=${PY:-$REPO/.venv/bin/python}
CPU_MODEL=${QEMU_CPU_MODEL:-cortex-a76}
CACHE=$REPO/.cache/arm64
ROOT=$CACHE/rootfs
WHEELS=$CACHE/wheels
OUT=${OUT:-$REPO/out/arm-check}
WORK=$OUT/work
SR=${EDGECONV_SR_DATA:-$REPO/../shared/data/sr}
MIRROR=$(grep -m1 -oE 'https?://[^ ]+/debian/?$' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null \
         | head -1 | cut -d: -f2- || true)
if [ -z "$MIRROR" ]; then  # no host is named here: the machine's apt configuration says where Debian comes from
  echo "no Debian mirror in /etc/apt/sources.list(.d): set MIRROR=<a Debian archive URL> and rerun" >&2
  exit 2
fi
start=$(date +%s)
say() { printf '\n== %s (%ss)\n' "$1" $(( $(date +%s) - start )); }

if [ ! -d "$SR/Set5" ]; then  # a clone without the shared data (CI): scikit-image's photos stand in, and it says so
  echo "no $SR/Set5 (set EDGECONV_SR_DATA): scikit-image photos stand in for Set5, T91 and BSD200"
  SR=$OUT/skimage_sr
  "$PY" - "$SR" <<'PY'
import sys
from pathlib import Path
from PIL import Image
from skimage import data
root = Path(sys.argv[1])
names = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina"]
for i, name in enumerate(names):
    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    for folder in (["Set5"] if i < 3 else ["T91", "BSD200"]):
        (root / folder).mkdir(parents=True, exist_ok=True)
        image.save(root / folder / f"{name}.png")
PY
fi
[ "$(id -u)" = 0 ] || { echo "error: make test-arm | needs root (debootstrap, chroot, mounts)" >&2; exit 2; }

say "host tools: qemu-user-static, debootstrap"
command -v qemu-aarch64-static >/dev/null && command -v debootstrap >/dev/null \
  || apt-get install -y -q qemu-user-static debootstrap >/dev/null
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || /usr/lib/systemd/systemd-binfmt /usr/lib/binfmt.d/qemu-aarch64.conf

if [ ! -x "$ROOT/usr/bin/python3" ]; then
  say "arm64 root file system (debootstrap bookworm from $MIRROR)"
  rm -rf "$ROOT"; mkdir -p "$ROOT"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip bookworm "$ROOT" "$MIRROR" >/dev/null
fi

say "aarch64 wheels (registry) and the project's wheel"
mkdir -p "$WHEELS"
ORT=$("$PY" -c 'import onnxruntime; print(onnxruntime.__version__)')
OV=$("$PY" -c 'import openvino; print(openvino.__version__.split("-")[0])')
"$PY" -m pip download -q --only-binary=:all: --python-version 3.11 --platform manylinux2014_aarch64 \
  --platform manylinux_2_17_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_35_aarch64 \
  -d "$WHEELS" "onnxruntime==$ORT" "openvino==$OV" numpy pillow typer rich 2>&1 | grep -v "is ignored" || true
rm -f "$WHEELS"/edgeconv-*.whl
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WHEELS" "$REPO" 2>&1 | grep -v "is ignored" || true
rm -rf "$REPO/build"

say "x86 artifacts: export, INT8 for the ARM target (budget chosen on BSD200 images, not Set5), outputs"
rm -rf "$WORK"; mkdir -p "$WORK/val" "$WORK/Set5"
cp "$SR"/Set5/*.png "$WORK/Set5/"
ls "$SR"/BSD200/*.png | sort | awk 'NR % 10 == 1' | xargs -I{} cp {} "$WORK/val/"   # the fixed 10 % split
EC="$REPO/.venv/bin/edgeconv"
"$EC" export "$REPO/models/weights/sr_x2_photo.pt" -o "$WORK/d.onnx" --images "$WORK/Set5" >/dev/null
"$EC" quantize "$WORK/d.onnx" --calib "$SR/T91" --target arm --images "$WORK/val" --max-psnr-drop 0.1 \
  -o "$WORK/arm.int8.onnx" --json "$WORK/arm_quantize.json" > "$WORK/arm_quantize.log"
grep -E "^scheme:|kept in FP32" "$WORK/arm_quantize.log" || true
"$PY" "$REPO/tools/arm_check/outputs.py" "$WORK/x86.npz" "$WORK/Set5" "$WORK/d.onnx" "$WORK/arm.int8.onnx"
IN_WORK=/work
EXTRA=()  # ARM_EXTRA_PAIRS="a.onnx:a.int8.onnx ...": more FP32/INT8 pairs scored on Set5 on both sides
i=0
for pair in ${ARM_EXTRA_PAIRS:-}; do
  i=$((i + 1))
  cp "${pair%%:*}" "$WORK/extra$i.fp32.onnx"; cp "${pair##*:}" "$WORK/extra$i.int8.onnx"
  EXTRA+=("extra$i.fp32.onnx" "extra$i.int8.onnx"); echo "extra$i: $pair"
done
"$EC" validate "$WORK/d.onnx" "$WORK/arm.int8.onnx" "${EXTRA[@]/#/$WORK/}" --images "$WORK/Set5" --backend onnxruntime \
  --runs 1 --size 16x16 --json "$WORK/x86_validate.json" > "$WORK/x86_validate.log" 2>&1
SAMPLE=$(ls "$WORK/Set5" | sort | head -1)
# the shipped default through upscale on ONNX Runtime (its 8-bit output form): pixels compared with aarch64's
"$EC" upscale "$WORK/Set5/$SAMPLE" "$WORK/sample_x2.x86.png" --backend onnxruntime --force >/dev/null 2>&1

say "runtime-only install in the arm64 root (no torch)"
mkdir -p "$ROOT/wheels" "$ROOT/work" "$ROOT/check"
cleanup() {
  for m in work check wheels sys proc/cpuinfo proc; do umount "$ROOT/$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mount --bind "$WHEELS" "$ROOT/wheels"
mount --bind "$WORK" "$ROOT/work"
mount --bind "$REPO/tools" "$ROOT/check"
# ONNX Runtime reads /proc/cpuinfo and crashes on the host's x86 text; OpenVINO needs /proc and /sys:
# mount both, with an ARM cpuinfo over the host's.
mount -t proc proc "$ROOT/proc"
mount --bind "$REPO/tools/cpus/$CPU_MODEL.cpuinfo" "$ROOT/proc/cpuinfo"
mount --bind /sys "$ROOT/sys"
IN=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root QEMU_CPU="$CPU_MODEL" chroot "$ROOT")
"${IN[@]}" /bin/sh -c 'test -x /opt/edgeconv/bin/python || python3 -m venv /opt/edgeconv'
"${IN[@]}" /opt/edgeconv/bin/pip install -q --no-index --find-links /wheels --force-reinstall --no-deps edgeconv
"${IN[@]}" /opt/edgeconv/bin/pip install -q --no-index --find-links /wheels "edgeconv[openvino]"
"${IN[@]}" /opt/edgeconv/bin/python -c "import torch" 2>/dev/null && { echo "torch must not be installed" >&2; exit 1; }
E=(/opt/edgeconv/bin/edgeconv)
quiet() { grep -v "MIDR_EL1\|cpuinfo\|^$" || true; }

say "aarch64 ($CPU_MODEL under qemu): edgeconv doctor"
"${IN[@]}" "${E[@]}" doctor 2>&1 | quiet
"${IN[@]}" /opt/edgeconv/bin/python -c "
import json; from edgeconv.runtime.profiling.device_facts import read_device_facts
json.dump(read_device_facts(), open('/work/arm_facts.json', 'w'), default=str)" 2>&1 | quiet

say "aarch64: edgeconv upscale Set5/$SAMPLE (the shipped default model from the wheel, then the ARM INT8 artifact)"
"${IN[@]}" "${E[@]}" upscale "/work/Set5/$SAMPLE" /work/sample_x2.png --force 2>&1 | quiet
"${IN[@]}" "${E[@]}" upscale "/work/Set5/$SAMPLE" /work/sample_x2.arm.png --backend onnxruntime --force 2>&1 | quiet
"${IN[@]}" "${E[@]}" upscale "/work/Set5/$SAMPLE" /work/sample_x2.int8.png --model /work/arm.int8.onnx --force 2>&1 | quiet
test -s "$WORK/sample_x2.png" && test -s "$WORK/sample_x2.int8.png"

say "aarch64: edgeconv validate FP32 + ARM INT8 on Set5, every back end (accuracy columns only count)"
"${IN[@]}" "${E[@]}" validate /work/d.onnx /work/arm.int8.onnx "${EXTRA[@]/#/$IN_WORK/}" --images /work/Set5 --backend all --runs 1 \
  --size 16x16 --json /work/arm_validate.json --force > "$WORK/arm_validate.log" 2>&1 || true
grep -E "skipped|error" "$WORK/arm_validate.log" | quiet

say "aarch64: raw outputs on ONNX Runtime and OpenVINO"
"${IN[@]}" /opt/edgeconv/bin/python /check/arm_check/outputs.py /work/arm.npz /work/Set5 /work/d.onnx \
  /work/arm.int8.onnx 2>&1 | quiet

say "verdict (QEMU_CPU=$CPU_MODEL)"
"$PY" "$REPO/tools/arm_check/compare.py" "$WORK"
echo "run time: $(( $(date +%s) - start )) s"
