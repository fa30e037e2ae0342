"""Compare the aarch64 run with x86 and print the verdict of the ARM check (``make test-arm``).

Usage: python compare.py WORK_DIR
(reads x86.npz, arm.npz/.json, x86_validate.json, arm_validate.json, arm_facts.json, sample_x2.{x86,arm}.png;
writes arm_check.json)
Exit code 1 when a criterion fails. Emulated timings are meaningless: none is reported.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

FP32_ATOL = 1e-4
BACKENDS_AGREE_DB = 40.0
INT8_MAX_DROP_DB = 0.1
UPSCALE_MAX_FLIPS = 1e-4  # share of 8-bit values a level apart (float op order may differ on NEON kernels)
QAT_MAX_DROP_DB = 0.05  # issue 17: every layer INT8, fine-tuned


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def main(work: Path) -> int:
    x86, arm = np.load(work / "x86.npz"), np.load(work / "arm.npz")
    arm_notes = json.loads((work / "arm.json").read_text())
    validate = json.loads((work / "arm_validate.json").read_text())
    checks: list[dict[str, object]] = []
    info: list[str] = []

    def check(name: str, value: str, ok: bool) -> None:
        checks.append({"check": name, "value": value, "ok": ok})

    for key, note in sorted(arm_notes.items()):
        model, backend = key.split("|")
        ref = x86[f"{model}|onnxruntime"]
        if note != "ran":
            refused = "OpenVINO's ARM CPU plugin computes INT8" in note
            check(f"{model} on {backend} (aarch64)", f"refused before use: {note[:150]}", refused)
            continue
        diff = float(np.abs(arm[key] - ref).max())
        if model.startswith("d."):  # FP32
            check(f"{model} on {backend}: aarch64 vs x86 max abs", f"{diff:.1e}", diff <= FP32_ATOL)
        else:
            check(f"{model} on {backend}: aarch64 vs x86 max abs (INT8)", f"{diff:.1e}", True)
        other = f"{model}|{'openvino' if backend == 'onnxruntime' else 'onnxruntime'}"
        if backend == "openvino" and other in arm.files:
            agree = psnr(arm[key], arm[other])
            check(f"{model}: OpenVINO vs ONNX Runtime on aarch64", f"{agree:.1f} dB", agree >= BACKENDS_AGREE_DB)
    rows = {(r["model"], r["backend"]): r for r in validate["rows"]}
    x86_rows = {(r["model"], r["backend"]): r for r in json.loads((work / "x86_validate.json").read_text())["rows"]}
    for (model, backend), row in sorted(rows.items()):
        if row["precision"] == "int8" and backend == "onnxruntime":
            here, there = row["psnr_y_db"], x86_rows[(model, backend)]["psnr_y_db"]
            check(f"{model}: Set5 PSNR-Y on aarch64 kernels vs x86", f"{here:.3f} vs {there:.3f} dB",
                  abs(here - there) <= 1e-3)
            extra = model.startswith("extra")  # ARM_EXTRA_PAIRS: extraN.int8.onnx against extraN.fp32.onnx
            reference = model.replace(".int8.", ".fp32.") if extra else "d.onnx"
            fp32_here = rows[(reference, "onnxruntime")]["psnr_y_db"]
            check(f"{reference}: FP32 Set5 PSNR-Y on aarch64 vs x86",
                  f"{fp32_here:.3f} vs {x86_rows[(reference, backend)]['psnr_y_db']:.3f} dB",
                  abs(fp32_here - x86_rows[(reference, backend)]["psnr_y_db"]) <= 1e-3)
            drop, limit = fp32_here - here, QAT_MAX_DROP_DB if extra else INT8_MAX_DROP_DB
            verdict = "within" if drop <= limit else "OVER"
            info.append(f"{model}: Set5 PSNR-Y drop vs {reference} {drop:.3f} dB ({verdict} {limit} dB) on aarch64 "
                        "kernels" + ("" if extra else " - the quantizer's, identical on x86 (budget chosen on other "
                                                        "images than these)"))
    from PIL import Image

    here, there = (np.asarray(Image.open(work / f"sample_x2.{m}.png"), np.int16) for m in ("arm", "x86"))
    gap = np.abs(here - there) if here.shape == there.shape else np.full(1, 255)
    check("upscale, shipped photo (8-bit form, ONNX Runtime): aarch64 vs x86 pixels",
          f"max {int(gap.max())} level(s), {float((gap > 0).mean()):.1e} of values differ",
          int(gap.max()) <= 1 and float((gap > 0).mean()) <= UPSCALE_MAX_FLIPS)
    facts = json.loads((work / "arm_facts.json").read_text())
    check("device facts: machine", f"{facts['machine']} ({facts['cpu']['model']}, isa {facts['isa']})",
          facts["machine"] == "aarch64")
    width = max(len(str(c["check"])) for c in checks)
    for c in checks:
        print(f"{'ok  ' if c['ok'] else 'FAIL'} {str(c['check']).ljust(width)}  {c['value']}")
    for line in info:
        print(f"info {line}")
    print("timings: none reported - emulated (qemu-user) timings say nothing about a real ARM board")
    (work / "arm_check.json").write_text(json.dumps({"checks": checks, "info": info}, indent=2))
    return 0 if all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
