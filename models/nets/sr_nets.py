"""Lightweight super-resolution networks built from edgeconv ops (NCHW, RGB in [0, 1]).

Layout follows BasicSR's habit: ``conv_first`` -> ``body`` -> ``conv_last`` -> ``upsampler``
(pixel shuffle), plus a global residual on the nearest-neighbour upsample of the input (exact
with static ops: the input repeated scale^2 times and pixel-shuffled).
"""

from __future__ import annotations

from torch import Tensor, nn

from edgeconv.jitter_conv import JitterConv
from edgeconv.models.nets.registry import register_model
from edgeconv.pixel_mix import PixelMix
from edgeconv.shiftwise_conv import ShiftwiseConv


class ShiftBlock(nn.Module):
    """Residual block: ShiftwiseConv (large, anisotropic context) -> GELU -> learnable jitter conv."""

    def __init__(self, channels: int, kernel_size: int, rotation: bool, diagonal: bool) -> None:
        super().__init__()
        self.shiftwise = ShiftwiseConv(
            channels, channels, kernel_size=kernel_size, rotation=rotation, diagonal=diagonal
        )
        self.act = nn.GELU()
        self.jitter = JitterConv(channels, channels, mode="learnable", max_shift=1, init_shift=0.5)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.jitter(self.act(self.shiftwise(x)))


class PlainBlock(nn.Module):
    """Residual block of two 3x3 convs, the baseline the shift blocks replace."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.GELU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class SRNet(nn.Module):
    """conv_first -> body -> conv_last -> pixel shuffle, plus nearest-upsampled input."""

    def __init__(self, body: nn.Module, channels: int, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.conv_first = nn.Conv2d(3, channels, 3, padding=1)
        self.body = body
        self.conv_last = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        self.upsampler = nn.PixelShuffle(scale)

    def features(self, x: Tensor) -> Tensor:
        """The last feature map: sub-pixel channels before the skip and the shuffle (LR size)."""
        feats = self.conv_first(x)
        return self.conv_last(self.body(feats) + feats)

    def forward(self, x: Tensor) -> Tensor:
        out = self.features(x)
        skip = x.repeat_interleave(self.scale * self.scale, dim=1)
        return self.upsampler(out + skip)


@register_model
def shift_sr(scale: int = 2, channels: int = 32, blocks: int = 4, kernel_size: int = 13,
             rotation: bool = True, diagonal: bool = False) -> SRNet:
    """Shift family SR net: ShiftwiseConv + learnable JitterConv residual blocks."""
    body = nn.Sequential(*[ShiftBlock(channels, kernel_size, rotation, diagonal) for _ in range(blocks)])
    return SRNet(body, channels, scale)


@register_model
def pixelmix_sr(scale: int = 2, channels: int = 32, blocks: int = 4) -> SRNet:
    """PixelMix SR net: each block is a PixelMix (neighbour gather + MLP, residual)."""
    return SRNet(nn.Sequential(*[PixelMix(channels) for _ in range(blocks)]), channels, scale)


@register_model
def plain_sr(scale: int = 2, channels: int = 32, blocks: int = 4) -> SRNet:
    """Plain-conv baseline with the same skeleton."""
    return SRNet(nn.Sequential(*[PlainBlock(channels) for _ in range(blocks)]), channels, scale)
