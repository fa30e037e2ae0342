"""``--precision auto``: measure FP32, FP16 and INT8 on this machine and keep the fastest within budget.

INT8 is not always faster on a CPU (no VNNI / dot-product instructions, tiny channel counts) and
FP16 only pays where the hardware computes in half precision, so the choice is measured where
the tool runs - on the Raspberry Pi or Jetson itself - not assumed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import onnx


@dataclass(frozen=True, eq=False)
class Candidate:
    """One precision's artifact with its quality and latency on this machine (timed: a copy, ``timed``)."""

    precision: str
    model: onnx.ModelProto
    psnr_db: float
    median_ms: float = float("nan")
    p90_ms: float = float("nan")
    within_budget: bool = True
    note: str = ""


def timed(candidates: list[Candidate], x: np.ndarray, threads: int, runs: int = 20) -> list[Candidate]:
    """Copies of ``candidates`` with their median and p90 latency (ms) on input ``x`` here (``ort_latency_ms``).

    Args:
        candidates: the precisions to time.
        x: one input, float32 NCHW.
        threads: ONNX Runtime's intra-op threads (0: its own choice).
        runs: timed runs per candidate, after warm-up.

    Returns:
        The same candidates, in order, with ``median_ms`` and ``p90_ms`` set.
    """
    out = []
    for c in candidates:
        median, p90 = ort_latency_ms(c.model, x, threads, runs=runs)
        out.append(replace(c, median_ms=median, p90_ms=p90))
    return out


def ort_latency_ms(
    model: onnx.ModelProto, x: np.ndarray, threads: int, runs: int, warmup: int = 3
) -> tuple[float, float]:
    """Median and p90 latency (ms) of ``model`` on input ``x`` in ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    for _ in range(warmup):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times)), float(np.percentile(times, 90))


def pick_fastest(candidates: list[Candidate]) -> Candidate:
    """The lowest median latency among candidates within budget (FP32 always is)."""
    eligible = [c for c in candidates if c.within_budget]
    return min(eligible, key=lambda c: c.median_ms)
