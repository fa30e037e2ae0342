"""SR speed at 640x360 -> 1280x720: the default model (FP32, INT8 within budget) vs FSRCNN, per back end.

Each model is exported with the lowering chosen for ONNX Runtime and run through edgeconv's own
back ends (``edgeconv.runtime``) with 2 threads: warm-up, then median and p90 of ``--runs``
calls, one model at a time. FSRCNN (d56 s12 m4) and FSRCNN-s (d32 s5 m1) are timed with seeded
weights - speed does not depend on training. PSNR-Y on Set5 x2 is given for the default model's
artifacts (the FSRCNN rows' quality is in ``benchmarks/results/sr_models.json``).

Run: ``python benchmarks/sr_speed.py [--checkpoints runs/*_x2.pt]`` (writes benchmarks/results/sr_speed.{json,txt});
trained checkpoints add rows with their Set5 PSNR-Y: the quality-vs-speed frontier.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch

from edgeconv.export.graph.from_checkpoint import export_checkpoint, set_metadata
from edgeconv.export.graph.from_module import export_deployed
from edgeconv.export.quantization.budget import quantize_within_budget
from edgeconv.export.quantization.calibration import calibration_feeds
from edgeconv.export.quantization.ptq import Int8Config
from edgeconv.models import create_model
from edgeconv.models.checkpoints.shipped import DEFAULT_CHECKPOINT
from edgeconv.models.nets.complexity import count_macs
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.registry import backend_status, create_backend
from edgeconv.runtime.profiling.device_facts import machine_record
from edgeconv.runtime.validation.sr_eval import shared_sr_data, sr_quality, sr_validation_pairs

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "sr_speed.json")
    parser.add_argument("--checkpoints", type=Path, nargs="*", default=[],
                        help="trained SR checkpoints to add (PSNR vs fps frontier), e.g. runs/*_x2.pt")
    args = parser.parse_args()
    torch.manual_seed(0)
    shared = shared_sr_data()
    if shared is None or not (shared / "Set5").is_dir():
        raise SystemExit("benchmarks/sr_speed.py needs ../shared/data/sr/Set5 (or EDGECONV_SR_DATA)")
    x = np.random.default_rng(0).random((1, 3, 360, 640), dtype=np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = {"default (jitter_edge_sr) fp32": tmp / "default.onnx"}
        done = export_checkpoint(DEFAULT_CHECKPOINT, tmp / "default.onnx", check_folder=shared / "Set5")
        facts = done.facts
        calib_dir = shared / "T91" if (shared / "T91").is_dir() else shared / "Set5"
        val = sr_validation_pairs(shared / "Set5", facts)
        budget = quantize_within_budget(done.export.model, calibration_feeds(calib_dir, facts, "input"), val, facts,
                                        Int8Config(method="percentile"), 0.1)
        set_metadata(budget.model, {p.key: p.value for p in done.export.model.metadata_props}
                     | {"edgeconv.precision": "int8"})
        models["default (jitter_edge_sr) int8, 0.1 dB budget"] = tmp / "default.int8.onnx"
        onnx.save(budget.model, models["default (jitter_edge_sr) int8, 0.1 dB budget"])
        default_macs = count_macs(load_default(), (1, 3, 360, 640)) / (360 * 640)
        macs = dict.fromkeys(models, default_macs)
        baselines = (("fsrcnn d56 s12 m4 (seeded weights)", {}),
                     ("fsrcnn-s d32 s5 m1 (seeded weights)", {"d": 32, "s": 5, "m": 1}))
        for i, (name, config) in enumerate(baselines):
            model = create_model("fsrcnn", scale=2, **config).eval()
            result = export_deployed(model, torch.rand(1, 3, 32, 32), target_backend="onnxruntime")
            set_metadata(result.model, facts.to_props() | {"edgeconv.model": name})
            models[name] = tmp / f"fsrcnn{i}.onnx"
            onnx.save(result.model, models[name])
            macs[name] = count_macs(model, (1, 3, 360, 640)) / (360 * 640)
        for ckpt in args.checkpoints:
            label = f"{ckpt.stem} (trained)"
            models[label] = tmp / f"{ckpt.stem}.onnx"
            trained = export_checkpoint(ckpt, models[label], check_folder=shared / "Set5")
            macs[label] = count_macs(load_default(ckpt), (1, 3, 360, 640)) / (360 * 640)
            del trained
        names = [name for name, usable, _ in backend_status() if usable]
        for label, path in models.items():
            for backend in names:
                runner = create_backend(backend, path, BackendOptions(threads=args.threads))
                samples = np.asarray(runner.time_runs(x, args.runs, warmup=5))
                scored = label.startswith("default") or label.endswith("(trained)")
                psnr = sr_quality(runner.run, val, facts)[0] if scored else float("nan")
                rows.append({"model": label, "backend": backend, "median_ms": float(np.median(samples)),
                             "p90_ms": float(np.percentile(samples, 90)), "fps": 1e3 / float(np.median(samples)),
                             "macs_per_input_pixel": macs[label], "set5_psnr_y_db": psnr})
                print(rows[-1], flush=True)
    lines = ["| model | back end | MACs / LR px | Set5 PSNR-Y | median ms | p90 ms | fps |", "|---" * 7 + "|"]
    for r in rows:
        psnr = "-" if np.isnan(r["set5_psnr_y_db"]) else f"{r['set5_psnr_y_db']:.3f}"
        lines.append(f"| {r['model']} | {r['backend']} | {r['macs_per_input_pixel']:,.0f} | {psnr} | "
                     f"{r['median_ms']:.1f} | {r['p90_ms']:.1f} | {r['fps']:.1f} |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine_record(), "threads": args.threads, "runs": args.runs,
                                    "input": "360x640", "rows": rows},
                                   indent=2))
    args.out.with_suffix(".txt").write_text(table + "\n")


def load_default(path: Path = DEFAULT_CHECKPOINT) -> torch.nn.Module:
    from edgeconv.export import to_deploy
    from edgeconv.models.checkpoints.format import load_checkpoint

    return to_deploy(load_checkpoint(path).build_model(path), "conv")


if __name__ == "__main__":
    main()
