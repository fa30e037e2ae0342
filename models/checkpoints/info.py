"""What a checkpoint holds and costs: its stored facts, parameters and the MACs of its deploy form.

One path for ``edgeconv info`` and the research harness's per-run cost. The deploy rewrite lives in
``edgeconv.export`` (a layer above this one), so callers pass it in as ``deploy``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.nets.complexity import count_macs, count_params

Deploy = Callable[[nn.Module], nn.Module]


@dataclass
class CheckpointSummary:
    """A checkpoint's stored facts and its measured size at one input size."""

    path: Path
    model_name: str
    config: dict[str, Any]
    task: str
    scale: int | None
    metrics: dict[str, Any]
    parameters: int
    macs: int  # of one forward pass of the deploy form on a (1, 3, H, W) input
    input_hw: tuple[int, int]

    @property
    def macs_per_pixel(self) -> float:
        """MACs per input pixel, the size-free cost that compares models."""
        return self.macs / (self.input_hw[0] * self.input_hw[1])


def describe_checkpoint(path: str | Path, input_hw: tuple[int, int], deploy: Deploy | None = None) -> CheckpointSummary:
    """Load ``path`` safely, rebuild its model, count its parameters and the MACs of ``deploy(model)`` at ``input_hw``.

    ``deploy`` is ``edgeconv.export.to_deploy`` for the cost on a device; None counts the training form.
    """
    path = Path(path)
    ckpt = load_checkpoint(path)
    model = ckpt.build_model(path)
    macs = count_macs(deploy(model) if deploy is not None else model, (1, 3, *input_hw))
    return CheckpointSummary(path, ckpt.model_name, ckpt.config, ckpt.task, ckpt.scale, ckpt.metrics,
                             count_params(model), macs, input_hw)
