"""PixelMix: pixel-to-pixel mixing by shifted neighbour features and an MLP, for tiny SR nets.

Seed idea (the study, "Pixel-level Mix via MLP"): in very small networks the receptive field
stays tiny; gathering each pixel's neighbours by shifts, tagging them with a positional encoding
of their offset and mixing with an MLP gives relational, attention-like mixing at conv cost.
Prior work: S2-MLP / AS-MLP (shifted channel groups mixed by MLPs), ELAN / SCNet shift-convs.

Form (NCHW): for each offset o of the (2r + 1)^2 neighbourhood,
``f_o = shift_o(x + pos_o)``, where ``pos_o`` (C) is a learnable encoding initialised
sinusoidally from (dy, dx). Adding it *before* the zero-filled shift means a neighbour that
lies outside the image contributes neither features nor its encoding, so the MLP sees the
border. ``out = x + W2 · GELU(W1 · concat_o f_o)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from edgeconv.dynamic import DynamicModule, Lowering, check_lowering
from edgeconv.shift import ShiftBlend, direction_grid, integer_shift


def offset_encoding(offsets: list[tuple[int, int]], channels: int) -> Tensor:
    """Sinusoidal encoding of 2-D offsets: the first half of the channels encodes dy, the rest dx.

    Args:
        offsets: the (dy, dx) neighbour offsets.
        channels: C, the encoding's width.

    Returns:
        (len(offsets), C) float32 in [-0.1, 0.1] (sines and cosines scaled by 0.1).
    """
    enc = torch.zeros(len(offsets), channels)
    half = max(channels // 2, 1)
    for n, (dy, dx) in enumerate(offsets):
        for c in range(channels):
            axis_value = dy if c < half else dx
            j = (c % half) // 2
            freq = 1.0 / (10000 ** (2 * j / half))
            enc[n, c] = math.sin(axis_value * freq) if c % 2 == 0 else math.cos(axis_value * freq)
    return enc * 0.1


class StaticPixelMix(nn.Module):
    """Static twin of PixelMix: tile + add encodings, one fixed grouped shift, the MLP."""

    def __init__(self, pos: Tensor, shift: ShiftBlend, mix: nn.Sequential) -> None:
        super().__init__()
        self.copies = pos.shape[0]
        self.register_buffer("pos", pos.reshape(1, -1, 1, 1).clone())
        self.shift = shift
        self.mix = mix

    def forward(self, x: Tensor) -> Tensor:
        tiled = torch.cat([x] * self.copies, dim=1) + self.pos
        return x + self.mix(self.shift(tiled))


class PixelMix(DynamicModule):
    """Neighbour gather by shifts + positional encoding + two-layer 1x1 MLP, residual.

    Args:
        channels: C, input and output channels.
        radius: neighbourhood radius r; (2r + 1)^2 offsets including the pixel itself.
        expansion: hidden width of the MLP is ``expansion * C``.
    """

    def __init__(self, channels: int, radius: int = 1, expansion: int = 2) -> None:
        super().__init__()
        self.channels = channels
        self.offsets = direction_grid(radius)
        self.pos = nn.Parameter(offset_encoding(self.offsets, channels))
        hidden = expansion * channels
        self.mix = nn.Sequential(
            nn.Conv2d(len(self.offsets) * channels, hidden, 1),
            nn.GELU(),
            nn.Conv2d(hidden, channels, 1),
        )

    def extra_repr(self) -> str:
        return f"channels={self.channels}, offsets={len(self.offsets)}"

    def forward(self, x: Tensor) -> Tensor:
        gathered = [
            integer_shift(x + self.pos[n].view(1, -1, 1, 1), dy, dx)
            for n, (dy, dx) in enumerate(self.offsets)
        ]
        return x + self.mix(torch.cat(gathered, dim=1))

    def to_static(self, lowering: Lowering = "slice") -> nn.Module:
        """The static twin: encodings added to C-channel copies, one fixed grouped shift, the same MLP.

        Args:
            lowering: ``"slice"`` (Pad/Slice/Concat) or ``"conv"`` (fixed depthwise kernels) for the shifts.

        Returns:
            ``StaticPixelMix``, equal to this module (train and eval compute the same function).
        """
        check_lowering(lowering)
        per_channel = [off for off in self.offsets for _ in range(self.channels)]
        shift = ShiftBlend.integer(per_channel, lowering)
        return StaticPixelMix(self.pos.detach(), shift, self.mix)
