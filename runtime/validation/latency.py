"""Latency of timed calls, summarised the same way by the validator and the profiler; peak memory per row."""

from __future__ import annotations

import math
import resource
import sys
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LatencyStats:
    """Latency summary (ms) of timed calls after warm-up."""

    p50: float
    p90: float
    p99: float
    mean: float
    std: float
    fps: float
    samples: list[float] = field(repr=False, default_factory=list)

    @classmethod
    def of(cls, samples: list[float]) -> LatencyStats:
        """Summarise latency samples.

        Args:
            samples: one latency (ms) per timed call, at least one.

        Returns:
            p50, p90, p99, mean and std (ms), fps = 1000 / p50, and the samples.
        """
        a = np.asarray(samples, dtype=np.float64)
        p50 = float(np.percentile(a, 50))
        return cls(p50, float(np.percentile(a, 90)), float(np.percentile(a, 99)), float(a.mean()), float(a.std()),
                   1e3 / p50 if p50 > 0 else math.inf, list(samples))


def reset_peak_rss() -> bool:
    """Start a new peak: Linux sets the process's peak RSS (VmHWM) back to its current RSS.

    Written to ``/proc/self/clear_refs`` (``5``, Linux >= 4.0), so a table row can report the peak of its own
    runs rather than the process's running peak (which only rises down a table).

    Returns:
        True when the peak was reset; False where the OS cannot (``peak_rss_mb`` is then the process's peak).
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:  # noqa: PTH123 - a proc file, not a path to keep
            f.write("5")
    except OSError:
        return False
    return True


def release_freed_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc ``malloc_trim``), so the next row's RSS
    does not carry a model that is gone. Where there is no glibc, only the collection."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # no libc found, or no malloc_trim (macOS, musl)
        pass


PER_ROW = "the process's peak during this row's runs (reset before each row; the model loaded)"
SO_FAR = "the process's peak so far (this OS cannot reset it: it only rises down the table)"


def peak_rss_mb() -> float:
    """This process's peak resident memory since the last ``reset_peak_rss`` (Linux), else since it started.

    Returns:
        Megabytes: Linux's VmHWM, else ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as f:  # noqa: PTH123
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    divisor = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / divisor
