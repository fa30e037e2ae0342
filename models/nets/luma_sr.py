"""Luma-residual SR networks: the body sees Y, the output is the bicubic upsample plus a Y residual.

The SR literature trains and scores on the BT.601 luma (FSRCNN, ESPCN): a net on Y spends its
multiply-accumulates where PSNR-Y is measured. These nets still take and return RGB in [0, 1]
(NCHW), so nothing outside them converts colours: ``Y = 0.257 R + 0.504 G + 0.098 B`` (+ a
constant the first conv's bias absorbs) is a fixed 1x1 conv, and the predicted luma residual is
added to all three channels of the bicubic upsample divided by 0.859 (the sum of the Y weights),
which changes Y by exactly the residual and leaves Cb and Cr untouched (their weights sum to 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgeconv.jitter_conv import JitterConv
from edgeconv.models.nets.registry import register_model
from edgeconv.pixel_mix import PixelMix
from edgeconv.rep_conv import RepConv
from edgeconv.runtime.imaging.luma import LUMA_GAIN, LUMA_WEIGHTS
from edgeconv.shiftwise_conv import ShiftwiseConv


def rgb_to_luma(rgb: Tensor) -> Tensor:
    """The model's BT.601 luma (no +16/255 offset; ``LUMA_WEIGHTS``) of an RGB batch: what the Y losses compare.

    Args:
        rgb: (N, 3, H, W) RGB, nominally in [0, 1].

    Returns:
        (N, 1, H, W) luma, in [0, 0.859] for inputs in [0, 1], on ``rgb``'s device.
    """
    weights = torch.tensor(LUMA_WEIGHTS, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


def cubic_weight(t: float, a: float = -0.75) -> float:
    """Keys' cubic convolution kernel at distance ``t`` (PyTorch and ONNX Resize use a = -0.75)."""
    t = abs(t)
    if t <= 1:
        return (a + 2) * t**3 - (a + 3) * t**2 + 1
    if t < 2:
        return a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return 0.0


def bicubic_phase_taps(scale: int) -> Tensor:
    """(scale, 5) float64: the 1-D cubic taps of each output phase ``p`` on input ``i - 2 .. i + 2``."""
    taps = torch.zeros(scale, 5, dtype=torch.float64)
    for p in range(scale):
        x = 2 + (p + 0.5) / scale - 0.5  # sample position relative to tap 0 = i - 2
        for k in range(5):
            taps[p, k] = cubic_weight(x - k)
    return taps


class FixedConv(nn.Module):
    """A grouped conv with a fixed kernel (a non-persistent buffer: not trained, not in checkpoints), no padding.

    Its own module, so each of the separable bicubic's two convs exports as ``/bicubic/<name>/Conv`` with its
    weight named ``bicubic.<name>.weight``.
    """

    def __init__(self, kernel: Tensor, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.register_buffer("kernel", kernel.float(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.kernel.to(x.dtype), groups=self.groups)


class BicubicPhases(nn.Module):
    """The bicubic upsample before its pixel shuffle: (N, C, H, W) -> (N, C * s^2, H, W), colour-major.

    Output pixel ``s * i + p`` samples the input at ``i + (p + 0.5) / s - 0.5``: four cubic taps
    within ``i - 2 .. i + 2``. So each of the s^2 output phases is a fixed 5x5 kernel, the outer product
    of a vertical and a horizontal 1-D kernel, on the edge-padded input (PyTorch clamps indices at the
    border, i.e. replicates).

    Two forms, the same output up to float rounding:

    - ``separable=False``: one 5x5 depthwise conv per phase (C * s^2 outputs, ``groups=C``):
      25 C s^2 MACs per LR pixel (300 at x2 for RGB, 1,200 at x4).
    - ``separable=True``: a 5x1 conv giving the (colour, phase_y) channels (C * s outputs, ``groups=C``),
      then a 1x5 conv giving (colour, phase_y, phase_x), PixelShuffle's order (``groups=C * s``, s outputs
      each): 5 C s + 5 C s^2 MACs per LR pixel (RGB: 180 at x3, 300 at x4; the 5x1 conv also runs over
      the 4 padding columns).

    ``separable=None`` picks the 5x5 form at x2 (the shipped x2 graphs and the x2 INT8 code are built on it;
    the separable one would be 90 MACs there) and the separable one from x3 on.
    """

    def __init__(self, scale: int, channels: int = 3, separable: bool | None = None) -> None:
        super().__init__()
        self.scale, self.channels = scale, channels
        self.separable = scale > 2 if separable is None else separable
        taps = bicubic_phase_taps(scale)
        if self.separable:  # out channels (c, py), then (c, py, px)
            self.vertical = FixedConv(taps.reshape(scale, 1, 5, 1).repeat(channels, 1, 1, 1), groups=channels)
            self.horizontal = FixedConv(taps.reshape(scale, 1, 1, 5).repeat(channels * scale, 1, 1, 1),
                                        groups=channels * scale)
        else:
            kernel = torch.einsum("yi,xj->yxij", taps, taps).reshape(scale * scale, 1, 5, 5)
            self.register_buffer("kernel", kernel.repeat(channels, 1, 1, 1).float(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        padded = F.pad(x, (2, 2, 2, 2), mode="replicate")
        if self.separable:
            return self.horizontal(self.vertical(padded))
        return F.conv2d(padded, self.kernel.to(x.dtype), groups=self.channels)


class BicubicUpsample(nn.Module):
    """``F.interpolate(x, scale, mode="bicubic", align_corners=False)`` as a fixed conv + pixel shuffle.

    ONNX Runtime's cubic Resize took 326 ms at 640x360 -> 1280x720 on this CPU; this takes a few.
    """

    def __init__(self, scale: int, channels: int = 3) -> None:
        super().__init__()
        self.scale, self.channels = scale, channels
        self.phases = BicubicPhases(scale, channels)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.shuffle(self.phases(x))


class LumaSR(nn.Module):
    """RGB -> Y -> ``body`` (Y features -> scale^2 residual channels) -> pixel shuffle -> RGB.

    The residual is added to the bicubic upsample *before* the one pixel shuffle, at LR size: both are
    (colour, phase) maps in PixelShuffle's channel order, so ``shuffle(bicubic_phases + [r, r, r])``
    equals ``shuffle(bicubic_phases) + shuffle(r)`` broadcast over colours, with one DepthToSpace and no
    full-resolution Add in the exported graph.
    """

    def __init__(self, body: nn.Module, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.register_buffer("luma", torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1))
        self.body = body
        self.upsampler = nn.PixelShuffle(scale)  # the residual alone as an image (analysis, tests)
        # called from here, so exported nodes read /bicubic/... and /shuffle/; separable (two 1-D convs) from x3 on
        self.bicubic = BicubicPhases(scale)
        self.shuffle = nn.PixelShuffle(scale)

    def upsample(self, x: Tensor) -> Tensor:
        """The bicubic upsample alone (what the residual is added to)."""
        return self.shuffle(self.bicubic(x))

    def features(self, x: Tensor) -> Tensor:
        """The last feature map: the body's scale^2 residual channels at LR size (what ERF analysis reads)."""
        return self.body(F.conv2d(x, self.luma))

    def forward(self, x: Tensor) -> Tensor:
        residual = self.features(x) * (1.0 / LUMA_GAIN)
        return self.shuffle(self.bicubic(x) + torch.cat([residual] * 3, dim=1))


class ShiftMixBlock(nn.Module):
    """Shift (Wu et al.) residual block: channel-shift + 1x1 conv, PReLU, channel-shift + 1x1 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.shift1 = JitterConv(channels, channels, kernel_size=1, mode="channel", max_shift=1)
        self.act = nn.PReLU(channels)
        self.shift2 = JitterConv(channels, channels, kernel_size=1, mode="channel", max_shift=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.shift2(self.act(self.shift1(x)))


class ShiftwiseBlock(nn.Module):
    """Large anisotropic context: rotational ShiftwiseConv + PReLU, residual."""

    def __init__(self, channels: int, kernel_size: int, rotation: bool = True, norm: bool = False) -> None:
        super().__init__()
        self.shiftwise = ShiftwiseConv(channels, channels, kernel_size=kernel_size, rotation=rotation, norm=norm)
        self.act = nn.PReLU(channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.act(self.shiftwise(x))


def _head(channels: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, channels, kernel, padding=kernel // 2), nn.PReLU(channels))


def _tail(channels: int, scale: int) -> nn.Conv2d:
    return nn.Conv2d(channels, scale * scale, 3, padding=1)


@register_model
def edge_sr(
    scale: int = 2, channels: int = 24, mix_blocks: int = 1, kernel_size: int = 9, norm: bool = False
) -> LumaSR:
    """The default edge model (~3.5k MACs per LR pixel at x2): shift-mix block + ShiftwiseConv block.

    ``norm=False``: no BatchNorm in the ShiftwiseConv (BN hurts SR, and its batch statistics make
    small-patch training and full-image inference disagree).
    """
    body = nn.Sequential(
        _head(channels),
        *[ShiftMixBlock(channels) for _ in range(mix_blocks)],
        ShiftwiseBlock(channels, kernel_size, norm=norm),
        _tail(channels, scale),
    )
    return LumaSR(body, scale)


@register_model
def jitter_edge_sr(scale: int = 2, channels: int = 16, init_shift: float = 0.25) -> LumaSR:
    """The plain edge baseline with learnable per-channel shifts (Active Shift) before its convs.

    Same convs and MACs as ``plain_edge_sr`` plus one fixed depthwise 3x3 per shift at deploy.
    """
    body = nn.Sequential(
        _head(channels),
        JitterConv(channels, channels, 3, mode="learnable", max_shift=2, init_shift=init_shift),
        nn.PReLU(channels),
        JitterConv(channels, scale * scale, 3, mode="learnable", max_shift=2, init_shift=init_shift),
    )
    return LumaSR(body, scale)


@register_model
def pixelmix_edge_sr(scale: int = 2, channels: int = 16, expansion: int = 1) -> LumaSR:
    """The study's Pixel-level Mix in a tiny SR net: head, one PixelMix (3x3 gather + MLP), tail."""
    body = nn.Sequential(_head(channels), PixelMix(channels, radius=1, expansion=expansion), _tail(channels, scale))
    return LumaSR(body, scale)


@register_model
def plain_edge_sr(scale: int = 2, channels: int = 16, blocks: int = 1) -> LumaSR:
    """Plain-conv baseline at the edge model's budget: 3x3 conv blocks, same head and tail."""
    layers: list[nn.Module] = [_head(channels)]
    for _ in range(blocks):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.PReLU(channels)]
    return LumaSR(nn.Sequential(*layers, _tail(channels, scale)), scale)


@register_model
def rep_edge_sr(scale: int = 2, channels: int = 16, blocks: int = 1, expand: int = 4) -> LumaSR:
    """``plain_edge_sr``'s deploy graph, trained with re-parameterised convs (``RepConv``: expand-squeeze,
    1x1 and identity branches) that the deploy rewrite folds into its plain convs: same MACs, more capacity."""
    layers: list[nn.Module] = [RepConv(1, channels, 3, expand), nn.PReLU(channels)]
    for _ in range(blocks):
        layers += [RepConv(channels, channels, 3, expand), nn.PReLU(channels)]
    return LumaSR(nn.Sequential(*layers, RepConv(channels, scale * scale, 3, expand)), scale)


@register_model
def fsrcnn(scale: int = 2, d: int = 56, s: int = 12, m: int = 4) -> LumaSR:
    """FSRCNN (Dong et al. 2016, d56-s12-m4) with a pixel-shuffle upsampler instead of the 9x9 deconv."""
    layers: list[nn.Module] = [_head(d, 5), nn.Conv2d(d, s, 1), nn.PReLU(s)]
    for _ in range(m):
        layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
    layers += [nn.Conv2d(s, d, 1), nn.PReLU(d), _tail(d, scale)]
    return LumaSR(nn.Sequential(*layers), scale)


@register_model
def espcn(scale: int = 2) -> LumaSR:
    """ESPCN (Shi et al. 2016): 5x5 64, 3x3 32, 3x3 to scale^2 sub-pixel channels, tanh."""
    body = nn.Sequential(
        nn.Conv2d(1, 64, 5, padding=2), nn.Tanh(),
        nn.Conv2d(64, 32, 3, padding=1), nn.Tanh(),
        _tail(32, scale),
    )
    return LumaSR(body, scale)
