"""What ``edgeconv profile`` adds to a measurement: its timed loop vs a bare ``session.run`` loop.

Same model, same input, same threads; the two loops alternate in rounds (A, B, A, B, ...) so
clock drift hits both, and the medians over all rounds are compared. Target: < 2 % overhead.
The profiler's loop is ``Backend.time_runs`` (input check once, then ``_run`` calls).

Run: ``python benchmarks/profiler_overhead.py`` (writes benchmarks/results/profiler_overhead.json).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from edgeconv.export.graph.from_checkpoint import export_checkpoint
from edgeconv.models.checkpoints.shipped import DEFAULT_CHECKPOINT
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.registry import create_backend
from edgeconv.runtime.profiling.device_facts import machine_record

RESULTS = Path(__file__).parent / "results" / "profiler_overhead.json"


def bare_loop(backend: str, model: Path, x: np.ndarray, threads: int):  # noqa: ANN201
    """A function timing ``n`` calls of the raw runtime API, no edgeconv code in the loop."""
    if backend == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x}

        def call() -> None:
            session.run(None, feed)
    else:
        import openvino as ov

        core = ov.Core()
        request = core.compile_model(core.read_model(str(model)), "CPU", {
            "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32",
        }).create_infer_request()

        def call() -> None:
            request.infer({0: x})

    def timed(n: int) -> list[float]:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            call()
            samples.append((time.perf_counter() - start) * 1e3)
        return samples

    call()
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    x = np.random.default_rng(0).random((1, 3, 360, 640), dtype=np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "default.onnx"
        export_checkpoint(DEFAULT_CHECKPOINT, model)
        for backend in ("onnxruntime", "openvino"):
            bare = bare_loop(backend, model, x, args.threads)
            runner = create_backend(backend, model, BackendOptions(threads=args.threads))
            a, b = [], []
            for _ in range(args.rounds):
                a += bare(args.runs)
                b += runner.time_runs(x, args.runs, warmup=1)
            overhead = float(np.median(b)) / float(np.median(a)) - 1
            rows.append({"backend": backend, "bare_median_ms": float(np.median(a)),
                         "profiler_median_ms": float(np.median(b)), "overhead": overhead,
                         "samples_each": len(a)})
            print(f"{backend}: bare {np.median(a):.2f} ms, profiler {np.median(b):.2f} ms, "
                  f"overhead {100 * overhead:+.2f} %", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine_record(), "threads": args.threads, "input": "360x640",
                                    "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
