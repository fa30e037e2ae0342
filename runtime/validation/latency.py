"""Latency of timed calls, summarised the same way by the validator and the profiler; this process's peak memory."""

from __future__ import annotations

import math
import resource
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


def peak_rss_mb() -> float:
    """This process's peak resident memory so far.

    Returns:
        Megabytes (``ru_maxrss`` / 1024, which is KiB on Linux).
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
