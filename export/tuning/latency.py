"""Latency of a model's deploy form in ONNX Runtime: what the comparison tables report."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgeconv.export.graph.from_module import export_deployed
from edgeconv.export.quantization.precision import ort_latency_ms


def deployed_latency_ms(
    model: nn.Module, shape: tuple[int, int, int, int], threads: int = 2, runs: int = 30
) -> float:
    """Median ms of the exported, simplified deploy graph on a random input of ``shape`` (ORT CPU)."""
    example = torch.rand(shape)
    result = export_deployed(model.eval(), example, target_backend="onnxruntime")
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    median, _ = ort_latency_ms(result.model, x, threads=threads, runs=runs)
    return median
