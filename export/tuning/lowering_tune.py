"""``edgeconv tune``: time a model's shift lowerings on this CPU and back end, and cache the faster one.

Both deploy forms (Pad/Slice/Concat shifts and fixed depthwise-conv shifts) are exported, loaded in
the back end that will run them, and timed in alternating rounds on one input size; the choice is
written to the lowering cache (``edgeconv.export.deploy.lowering``) under this CPU's signature, so later
``edgeconv export --backend`` calls on this machine use it.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgeconv.dynamic import Lowering
from edgeconv.errors import UsageError
from edgeconv.export.deploy.lowering import cache_key, cache_path, read_cache
from edgeconv.export.graph.from_module import export_deployed
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.cpu.features import cpu_signature

LOWERINGS: tuple[Lowering, ...] = ("slice", "conv")
TUNABLE_BACKENDS = ("onnxruntime", "openvino")


@dataclass
class TuneSettings:
    """One ``edgeconv tune`` request: the checkpoint, the back end that will run it, and how to time it."""

    checkpoint: Path
    backend: str = "onnxruntime"
    hw: tuple[int, int] = (180, 320)
    threads: int = 0  # the back end's own choice (every core), as the CLI
    runs: int = 20

    def check(self) -> None:
        """Raise ``UsageError`` for a back end that cannot be tuned here or an impossible timing."""
        if self.backend not in TUNABLE_BACKENDS:
            raise UsageError("--backend", f"cannot tune for {self.backend!r} here", "expected onnxruntime or openvino")
        if self.runs < 1 or self.threads < 0:
            raise UsageError("--runs", "runs must be >= 1 and threads >= 0")


@dataclass
class LoweringTuning:
    """The lowering kept for one model on one back end here, and the times behind it."""

    model: str
    backend: str
    lowering: Lowering
    median_ms: dict[str, float]
    signature: str
    cache: Path


def tune_lowering(
    model: nn.Module, model_name: str, backend: str, hw: tuple[int, int] = (180, 320), threads: int = 2,
    runs: int = 20, rounds: int = 2, write: bool = True,
) -> LoweringTuning:
    """Time ``model``'s lowerings in ``backend`` on a (1, 3, H, W) input; cache and return the faster one."""
    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.backends.registry import create_backend

    example = torch.rand(1, 3, *hw)
    x = np.random.default_rng(0).random((1, 3, *hw), dtype=np.float32)
    samples: dict[str, list[float]] = {name: [] for name in LOWERINGS}
    with tempfile.TemporaryDirectory(prefix="edgeconv-tune-") as tmp:
        runners = {}
        for lowering in LOWERINGS:
            path = Path(tmp) / f"{lowering}.onnx"
            export_deployed(model.eval(), example, path, lowering=lowering)
            runners[lowering] = create_backend(backend, path, BackendOptions(threads=threads))
        for _ in range(rounds):  # alternate, so drift in clocks or load hits both alike
            for lowering, runner in runners.items():
                samples[lowering].append(statistics.median(runner.time_runs(x, runs)))
    median = {name: min(values) for name, values in samples.items()}
    chosen: Lowering = min(LOWERINGS, key=lambda name: median[name])
    tuning = LoweringTuning(model_name, backend, chosen, median, cpu_signature(), cache_path())
    if write:
        cache = read_cache()
        cache[cache_key(backend, model_name)] = {
            "lowering": chosen, "median_ms": {k: round(v, 3) for k, v in median.items()},
            "input": f"{hw[0]}x{hw[1]}", "threads": threads, "measured": time.strftime("%Y-%m-%d"),
        }
        tuning.cache.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(tuning.cache, json.dumps(cache, indent=2, sort_keys=True).encode())
    return tuning


def tune_checkpoint(settings: TuneSettings) -> LoweringTuning:
    """``edgeconv tune`` as one call: check, load the checkpoint safely, time, cache the faster lowering."""
    settings.check()
    ckpt = load_checkpoint(settings.checkpoint)
    return tune_lowering(ckpt.build_model(settings.checkpoint), ckpt.model_name, settings.backend, settings.hw,
                         settings.threads, settings.runs)
