"""Deploy-graph latency per variant with its spread, measured once and cached beside the runs (``latency.json``).

Each variant's deploy graph (ONNX Runtime CPU, one thread) is timed ``repeats`` times, the variants in turn so
drift on the machine hits all alike; one repeat is the median of ``calls`` calls. One thread, whatever the
comparison trained with: on a small machine shared with other work (2 cores, one of them training), two ORT
threads wait on each other whenever one is descheduled, and the repeats scatter by a factor of two; one thread
gives repeats within a few per cent (measured on this machine: plain 1.93-1.94 ms against 1.44-1.98 ms). The
table shows the median of the repeats with their inter-quartile range. The cache names the CPU, the date, the
threads, the weights timed and the load average when timing began, and a comparison that finds a cache for the
same variants, input shape and threads reuses it: regenerating the page never re-times.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from edgeconv.runtime.atomic_write import write_bytes_atomic

if TYPE_CHECKING:
    from torch import nn

    from edgeconv.research.compare import CompareSettings

LATENCY_FILE = "latency.json"
REPEATS, CALLS, THREADS = 7, 30, 1


def machine_name() -> str:
    """The CPU model and core count (``/proc/cpuinfo`` where there is one), else what ``platform`` knows."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()}"


@dataclass(frozen=True)
class LatencyCache:
    """One task's timings: per variant the repeats' medians (ms), and how and where they were taken."""

    machine: str
    date: str
    threads: int
    shape: tuple[int, ...]
    repeats: int
    calls: int
    weights: str  # what was timed: the seed-0 checkpoints, or initial weights of the same architectures
    load: float  # 1-minute load average when timing began (other work on the machine)
    variants: dict[str, tuple[float, ...]]

    def spread(self, variant: str) -> tuple[float, float, float]:
        """(median, first quartile, third quartile) of a variant's repeats, ms."""
        q1, median, q3 = statistics.quantiles(self.variants[variant], n=4, method="inclusive")
        return median, q1, q3

    def fits(self, variants: list[str], shape: tuple[int, ...], threads: int) -> bool:
        """Timed for exactly these variants, input shape and thread count."""
        return sorted(self.variants) == sorted(variants) and tuple(self.shape) == shape and self.threads == threads

    def describe(self) -> str:
        """One sentence for the page: what the numbers are, where and when they were measured."""
        return (f"ORT ms: median [inter-quartile range] of {self.repeats} repeats, each the median of {self.calls} "
                f"calls, variants in turn; ONNX Runtime CPU, {self.threads} thread{'s' * (self.threads != 1)}, input "
                f"{'x'.join(map(str, self.shape))}, {self.weights}; measured {self.date} on {self.machine} (load "
                f"average {self.load:.1f} when timing began) and cached with the runs, not re-timed when the page is "
                "regenerated.")


def read_cache(path: Path) -> LatencyCache | None:
    """The cache at ``path``, or None when there is none."""
    if not path.is_file():
        return None
    stored = json.loads(path.read_text())
    stored["shape"] = tuple(stored["shape"])
    stored["variants"] = {v: tuple(ms) for v, ms in stored["variants"].items()}
    return LatencyCache(**stored)


def write_cache(cache: LatencyCache, path: Path) -> None:
    """Write ``cache`` as JSON at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, json.dumps(asdict(cache), indent=1).encode())


def _models(settings: CompareSettings) -> tuple[dict[str, nn.Module], str]:
    """Each variant's seed-0 net, or (when the checkpoints are not here) its architecture at initial weights."""
    import torch

    from edgeconv.models.checkpoints.format import load_checkpoint
    from edgeconv.models.nets.registry import create_model
    from edgeconv.research.compare import model_spec

    ckpts = {v: settings.out / settings.task / v / f"seed{settings.seeds[0]}.pt" for v in settings.variants}
    if all(p.is_file() for p in ckpts.values()):
        return {v: load_checkpoint(p).build_model(p) for v, p in ckpts.items()}, "the seed-0 checkpoints"
    torch.manual_seed(0)
    models = {}
    for variant in settings.variants:
        name, config = model_spec(settings, variant)
        models[variant] = create_model(name, **config).eval()
    return models, "initial weights of the same architectures (the trained checkpoints are not kept)"


def measure(settings: CompareSettings, repeats: int = REPEATS, calls: int = CALLS) -> LatencyCache:
    """Time every variant of ``settings`` (module docstring) and return the cache to keep."""
    import numpy as np
    import torch

    from edgeconv.export.graph.from_module import export_deployed
    from edgeconv.export.quantization.precision import ort_latency_ms

    shape = (1, 3, 180, 320) if settings.task == "sr" else (1, 3, 128, 128)
    models, weights = _models(settings)
    graphs = {v: export_deployed(m, torch.rand(shape), target_backend="onnxruntime").model for v, m in models.items()}
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    times: dict[str, list[float]] = {v: [] for v in graphs}
    for _ in range(repeats):
        for variant, graph in graphs.items():
            times[variant].append(ort_latency_ms(graph, x, threads=THREADS, runs=calls)[0])
    return LatencyCache(machine_name(), date.today().isoformat(), THREADS, shape, repeats, calls, weights,
                        load, {v: tuple(ms) for v, ms in times.items()})


def task_latencies(settings: CompareSettings, folders: list[Path]) -> tuple[LatencyCache, bool]:
    """The first cache in ``folders`` that fits this task (``LatencyCache.fits``), else a new measurement.

    Returns:
        (cache, measured now).
    """
    shape = (1, 3, 180, 320) if settings.task == "sr" else (1, 3, 128, 128)
    for folder in folders:
        cache = read_cache(folder / LATENCY_FILE)
        if cache is not None and cache.fits(settings.variants, shape, THREADS):
            return cache, False
    return measure(settings), True
