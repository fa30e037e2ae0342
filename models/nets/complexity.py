"""Parameters and multiply-accumulates of a model, counted on its deploy form.

MACs come from ``torch.utils.flop_counter`` (convolutions and matmuls, functional ones too),
halved to MACs; elementwise ops, resizes and slices are not counted, as SR papers do.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass on a zero input of ``input_shape``."""
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(input_shape))
    return counter.get_total_flops() // 2
