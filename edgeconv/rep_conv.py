"""Re-parameterised convolution: extra linear branches while training, one plain conv at deploy.

Collapsible linear blocks (SESR, arXiv 2103.09404), ECBSR's edge-oriented branches (ACM MM'21) and
RepVGG (arXiv 2101.03697) train a k x k conv beside linear branches and fold them afterwards. Here,
summed in training:

- the k x k conv itself (with bias);
- an expand-squeeze pair: k x k conv to ``expand`` x out channels, then 1 x 1 back to ``out``
  (SESR's collapsible block; the 1 x 1 comes *after*, so the fold is exact at image borders too);
- a 1 x 1 conv (zero-padded to k x k at fold time);
- the identity when in == out channels.

No nonlinearity sits between them, so ``to_static()`` returns one ``nn.Conv2d`` computing the same
function: same deploy MACs as a plain conv, more trainable capacity. The deploy rewrite
(``edgeconv.export``) calls it like every other op's static twin.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgeconv.dynamic import DynamicModule, Lowering
from edgeconv.errors import LayerArgumentError


class RepConv(DynamicModule):
    """A k x k conv trained with parallel linear branches, folded into one conv at deploy (see module doc).

    Args:
        in_channels: C_in.
        out_channels: C_out.
        kernel_size: k, odd; the conv pads by k // 2, so (N, C_in, H, W) -> (N, C_out, H, W).
        expand: width multiplier of the expand-squeeze branch; 0 drops the branch.
        one_by_one: add the 1 x 1 branch.
        identity: add the input itself (only when C_in == C_out).

    Raises:
        LayerArgumentError: an even ``kernel_size``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, expand: int = 4,
        one_by_one: bool = True, identity: bool = True,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise LayerArgumentError("RepConv", f"kernel_size must be odd, got {kernel_size}")
        pad = kernel_size // 2
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=pad)
        self.expand = nn.Conv2d(in_channels, expand * out_channels, kernel_size, padding=pad) if expand else None
        self.squeeze = nn.Conv2d(expand * out_channels, out_channels, 1) if expand else None
        self.one_by_one = nn.Conv2d(in_channels, out_channels, 1) if one_by_one else None
        self.identity = identity and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x)
        if self.expand is not None and self.squeeze is not None:
            y = y + self.squeeze(self.expand(x))
        if self.one_by_one is not None:
            y = y + self.one_by_one(x)
        return y + x if self.identity else y

    @torch.no_grad()
    def folded(self) -> tuple[Tensor, Tensor]:
        """The single conv equal to the sum of the branches.

        Returns:
            ``(weight (C_out, C_in, k, k), bias (C_out,))``.
        """
        c = self.kernel_size // 2
        weight, bias = self.conv.weight.clone(), self.conv.bias.clone()
        if self.expand is not None and self.squeeze is not None:
            squeeze = self.squeeze.weight[:, :, 0, 0]  # (out, mid)
            weight += torch.einsum("om,mihw->oihw", squeeze, self.expand.weight)
            bias += squeeze @ self.expand.bias + self.squeeze.bias
        if self.one_by_one is not None:
            weight += F.pad(self.one_by_one.weight, (c, c, c, c))
            bias += self.one_by_one.bias
        if self.identity:
            eye = torch.zeros_like(weight)
            eye[torch.arange(self.out_channels), torch.arange(self.in_channels), c, c] = 1.0
            weight += eye
        return weight, bias

    def to_static(self, lowering: Lowering = "slice") -> nn.Module:
        """One ``nn.Conv2d`` (the lowering does not apply: there is no shift).

        Args:
            lowering: accepted for the common interface, unused.

        Returns:
            ``nn.Conv2d(C_in, C_out, k, padding=k // 2)`` computing this module's function.
        """
        weight, bias = self.folded()
        conv = nn.Conv2d(self.in_channels, self.out_channels, self.kernel_size, padding=self.kernel_size // 2)
        conv.weight.data.copy_(weight)
        conv.bias.data.copy_(bias)
        return conv
