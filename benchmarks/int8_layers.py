"""INT8 (every layer, quantization-aware trained) vs FP32 of the shipped SR models, per layer, in ONNX Runtime and
OpenVINO: where the time goes and why INT8 is (or is not) faster on this CPU.

For each shipped model the FP32 graph the back end ships with (``runtime/shipped``: PReLU as Mul + Max
for ONNX Runtime, PReLU for OpenVINO) and the fully INT8 QAT artifact (in the same two forms) are timed
at a 640x360 input with 2 threads by each back end's own profiler (ONNX Runtime's per-node kernel times;
OpenVINO's PERF_COUNT per executed node), one model at a time, and the times summed per PyTorch module.
The table is a ratio on one machine, in one run: the CPU is named in the JSON; on another CPU (AVX2
without VNNI, ARM dot-product cores) run it there.

The INT8 artifacts come from ``edgeconv quantize`` (the commands are in docs/INT8.md); pass them with
``--int8 photo=PATH --int8 bicubic=PATH``. Writes benchmarks/results/int8_layers.json.

Run: ``python benchmarks/int8_layers.py --int8 photo=out/int8/photo.qat.int8.onnx \
--int8 bicubic=out/int8/bicubic.qat.int8.onnx``
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx

from edgeconv.export.graph.activations import prelu_as_max
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.registry import create_backend
from edgeconv.runtime.profiling.device_facts import machine_record
from edgeconv.runtime.shipped_models import resolve_model

RESULTS = Path(__file__).parent / "results" / "int8_layers.json"
BACKENDS = ("onnxruntime", "openvino")


def layer_profile(model: Path, backend: str, x: np.ndarray, threads: int, runs: int) -> dict[str, object]:
    """End-to-end ms, ms per module and the kernels (op types) each module ran, from the back end's profiler."""
    found = create_backend(backend, model, BackendOptions(threads=threads)).layer_times(x, runs=runs).as_json()
    kernels: dict[str, set[str]] = defaultdict(set)
    for layer in found["layers"]:
        kernels[layer["module"]].add(layer["op_type"])
    return {"end_to_end_ms": found["end_to_end_ms"], "by_module": {m["module"]: m["ms"] for m in found["by_module"]},
            "kernels": {m: sorted(k) for m, k in kernels.items()}}


def int8_for(backend: str, int8: Path, folder: Path) -> Path:
    """The artifact in the form the back end runs fastest: for ONNX Runtime its PReLUs as Mul + Max (the same
    numbers; ONNX Runtime's per-channel PRelu is slow), as ``edgeconv export`` writes FP32 graphs for it."""
    if backend != "onnxruntime":
        return int8
    model, rewritten = prelu_as_max(onnx.load(int8))
    if not rewritten:
        return int8
    path = folder / f"{int8.stem}.ort.onnx"
    onnx.save(model, path)
    return path


def compare(name: str, int8: Path, backend: str, x: np.ndarray, threads: int, runs: int) -> dict[str, object]:
    """FP32 vs INT8 of one model on one back end, module by module (largest INT8 - FP32 difference first)."""
    fp32 = layer_profile(resolve_model(name, backend), backend, x, threads, runs)
    with tempfile.TemporaryDirectory() as tmp:
        quant = layer_profile(int8_for(backend, int8, Path(tmp)), backend, x, threads, runs)
    modules = sorted(set(fp32["by_module"]) | set(quant["by_module"]),
                     key=lambda m: -(quant["by_module"].get(m, 0.0) - fp32["by_module"].get(m, 0.0)))
    rows = [{"module": m, "fp32_ms": fp32["by_module"].get(m, 0.0), "int8_ms": quant["by_module"].get(m, 0.0),
             "fp32_kernels": fp32["kernels"].get(m, []), "int8_kernels": quant["kernels"].get(m, [])} for m in modules]
    return {"model": name, "backend": backend, "fp32_ms": fp32["end_to_end_ms"], "int8_ms": quant["end_to_end_ms"],
            "int8_file": str(int8), "modules": rows}


def print_table(result: dict[str, object], top: int) -> None:
    ratio = result["int8_ms"] / result["fp32_ms"]
    print(f"\n{result['model']} on {result['backend']}: FP32 {result['fp32_ms']:.1f} ms, "
          f"INT8 {result['int8_ms']:.1f} ms "
          f"(INT8/FP32 {ratio:.2f}; {'faster' if ratio < 1 else 'SLOWER'})")
    print(f"  {'module':<34} {'FP32 ms':>8} {'INT8 ms':>8}  INT8 kernels (FP32 kernels)")
    for row in result["modules"][:top]:
        print(f"  {row['module'][:34]:<34} {row['fp32_ms']:8.2f} {row['int8_ms']:8.2f}  "
              f"{','.join(row['int8_kernels']) or '-'} ({','.join(row['fp32_kernels']) or '-'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--int8", action="append", required=True, metavar="NAME=PATH",
                        help="a shipped model's INT8 artifact: photo=... and/or bicubic=...")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--size", default="360x640", help="HxW input")
    parser.add_argument("--top", type=int, default=8, help="modules shown per table")
    args = parser.parse_args()
    artifacts = dict(item.split("=", 1) for item in args.int8)
    h, w = (int(v) for v in args.size.split("x"))
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    results = [compare(name, Path(path), backend, x, args.threads, args.runs)
               for name, path in artifacts.items() for backend in BACKENDS]
    for result in results:
        print_table(result, args.top)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine_record(), "size": [h, w], "threads": args.threads,
                                   "runs": args.runs, "results": results}, indent=2))
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
