"""Trained SR checkpoints side by side: Set5 PSNR-Y / SSIM-Y, params, MACs, ONNX Runtime speed.

For each checkpoint: PSNR-Y and SSIM-Y on Set5 x2 (whole images, output clipped and rounded to
8 bits, border of `scale` cropped), parameters, MACs at 1280x720 output (640x360 input), and the
median latency of its deploy form (lowering chosen for ONNX Runtime) at 640x360 input in ONNX
Runtime with 2 threads. Prints a Markdown table and writes JSON.

Run: ``python benchmarks/sr_models.py runs/*.pt --set5 ../shared/data/sr/Set5``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from edgeconv.export.graph.from_module import export_deployed
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.data.sr import load_hr_folder
from edgeconv.models.nets.complexity import count_macs, count_params
from edgeconv.models.training.sr import evaluate_sr
from edgeconv.runtime.profiling.device_facts import machine_record

RESULTS = Path(__file__).parent / "results" / "sr_models.json"


def ort_latency_ms(path: Path, shape: tuple[int, ...], runs: int) -> float:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    for _ in range(3):
        session.run(None, {"input": x})
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"input": x})
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--set5", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    for path in args.checkpoints:
        ckpt = load_checkpoint(path)
        model = ckpt.build_model(path)
        scale = ckpt.scale or 2
        metrics = evaluate_sr(model, load_hr_folder(args.set5, scale, keep_grey=True), scale)
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = Path(tmp) / "m.onnx"
            export_deployed(model, torch.rand(1, 3, 36, 64), onnx_path, target_backend="onnxruntime")
            latency = ort_latency_ms(onnx_path, (1, 3, 360, 640), args.runs)
        from edgeconv.export import to_deploy

        macs = count_macs(to_deploy(model, "slice"), (1, 3, 360, 640))
        rows.append({
            "checkpoint": str(path), "model": ckpt.model_name, "config": ckpt.config,
            "steps": ckpt.metrics.get("step"), "psnr_y": metrics["psnr_y"], "ssim_y": metrics["ssim_y"],
            "params": count_params(model), "gmacs_720p_out": macs / 1e9, "macs_per_lr_pixel": macs / (360 * 640),
            "ort_ms_640x360": latency, "ort_fps_640x360": 1e3 / latency,
        })
        print(f"{path}: {metrics['psnr_y']:.2f} dB", flush=True)
    print("\n| model | config | Set5 x2 PSNR-Y | SSIM-Y | params | MACs @720p out | MACs / LR px | ORT fps @640x360 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cfg = {k: v for k, v in r["config"].items() if k != "scale"}
        print(
            f"| {r['model']} | {cfg or '-'} | {r['psnr_y']:.2f} | {r['ssim_y']:.4f} | {r['params']:,} | "
            f"{r['gmacs_720p_out']:.2f} G | {r['macs_per_lr_pixel']:,.0f} | {r['ort_fps_640x360']:.0f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine_record(), "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
