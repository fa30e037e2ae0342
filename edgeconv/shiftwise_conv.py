"""ShiftwiseConv: a large K x K kernel emulated by shifted small k x k kernels along strips.

Seed idea (the study, "Shiftwise & rotational convolution"); prior work: Shift-wise conv
(Li et al., arXiv 2401.12736, ``lidc54/shift-wiseConv``). A grouped convolution gives every
channel ``nk = ceil(K / k)`` (made odd) small kernels per direction; sub-kernel ``i`` is moved
by ``(i - (nk - 1) / 2) * k`` pixels along the direction, so together they tile a strip of
length ``nk * k`` through the pixel. Strips are summed, batch-normalised and mixed by a
pointwise convolution.

Exactness choice: the input is zero-padded by the strip's reach *before* the small convolution
and the shifted maps are crops of the result (the paper's pad + narrow reference), so the op is
exactly a sum of large strip-shaped depthwise kernels. That is what lets ``to_static("conv")``
fold it into one depthwise strip convolution per direction with identical output.

Directions: ``h`` (row), ``v`` (column), and with ``diagonal=True`` also ``d`` (down-right) and
``a`` (down-left), so every channel's receptive field becomes an 8-armed star.
With ``rotation=True`` channels are split into four groups; group g sees the features rotated by
g quarter-turns (flip + transpose, static index ops), applies only the ``h`` (and ``d``) strips, and rotates back.
Channels then differ in orientation (row, column, diagonal, anti-diagonal): an anisotropic,
diverse receptive field at half the strip count.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgeconv.dynamic import DynamicModule, Lowering, check_lowering
from edgeconv.errors import LayerArgumentError
from edgeconv.shift import _window

DIRECTIONS: dict[str, tuple[int, int]] = {"h": (0, 1), "v": (1, 0), "d": (1, 1), "a": (1, -1)}


def strip_count(kernel_size: int, small_kernel: int) -> int:
    """Number of small kernels per strip: ``ceil(K / k)``, rounded up to odd so offsets are integer.

    Args:
        kernel_size: the large kernel K to emulate.
        small_kernel: the small kernel k.

    Returns:
        nk, odd and >= 1.
    """
    nk = math.ceil(kernel_size / small_kernel)
    return nk if nk % 2 else nk + 1


def rotation_groups(channels: int, rotation: bool) -> list[tuple[int, int, int]]:
    """Channel groups and how many quarter-turns each is rotated by.

    Args:
        channels: C.
        rotation: False: one group; True: four contiguous groups (empty ones dropped).

    Returns:
        ``[(start, stop, quarter_turns)]`` covering channels 0..C.
    """
    if not rotation:
        return [(0, channels, 0)]
    bounds = [round(g * channels / 4) for g in range(5)]
    return [(bounds[g], bounds[g + 1], g) for g in range(4) if bounds[g + 1] > bounds[g]]


def strip_sum(
    x: Tensor, weight: Tensor, nk: int, directions: list[tuple[int, int]], small_kernel: int
) -> Tensor:
    """Sum of shifted small-kernel responses along each direction.

    Output channel ``c * nd * nk + d * nk + i`` of the grouped conv is sub-kernel i of direction d for
    input channel c; sub-kernel i is moved by ``(i - (nk - 1) / 2) * k`` pixels along its direction.

    Args:
        x: (N, C, H, W) features.
        weight: (C * len(directions) * nk, 1, k, k) grouped conv weight.
        nk: sub-kernels per strip (``strip_count``).
        directions: unit steps (dy, dx) of the strips (``DIRECTIONS`` values).
        small_kernel: k, odd.

    Returns:
        (N, C, H, W): every strip of every direction summed.
    """
    channels = x.shape[1]
    reach = (nk - 1) // 2 * small_kernel
    per_channel = len(directions) * nk
    padded = F.pad(x, (reach, reach, reach, reach))
    responses = F.conv2d(padded, weight, padding=small_kernel // 2, groups=channels)
    out: Tensor | None = None
    for d, (uy, ux) in enumerate(directions):
        for i in range(nk):
            t = (i - (nk - 1) // 2) * small_kernel
            j = d * nk + i
            crop = responses[:, j::per_channel, _window(reach, t * uy), _window(reach, t * ux)]
            out = crop if out is None else out + crop
    assert out is not None
    return out


def strip_sum_shifted_inputs(
    x: Tensor, weight: Tensor, nk: int, directions: list[tuple[int, int]], small_kernel: int
) -> Tensor:
    """``strip_sum`` computed the training-friendly way: shift the input, not the responses.

    Each sub-kernel convolves a shifted window of the input (C channels) instead of cropping a
    (C * nd * nk)-channel response map, so backward never scatters gradients into that large map.
    Same arithmetic, same result (the tests compare both); 6-20x faster to train on a CPU.

    Args:
        x, weight, nk, directions, small_kernel: as ``strip_sum``.

    Returns:
        (N, C, H, W), equal to ``strip_sum``'s.
    """
    channels = x.shape[1]
    reach = (nk - 1) // 2 * small_kernel
    per_channel = len(directions) * nk
    padded = F.pad(x, (reach + small_kernel // 2,) * 4)
    w = weight.view(channels, per_channel, small_kernel, small_kernel)
    out: Tensor | None = None
    for d, (uy, ux) in enumerate(directions):
        for i in range(nk):
            t = (i - (nk - 1) // 2) * small_kernel
            j = d * nk + i
            window = padded[:, :, _window(reach, t * uy), _window(reach, t * ux)]
            y = F.conv2d(window, w[:, j : j + 1], groups=channels)
            out = y if out is None else out + y
    assert out is not None
    return out


def quarter_turn(x: Tensor, turns: int) -> Tensor:
    """``torch.rot90(x, turns, dims=(2, 3))`` from flips and transposes only.

    ``rot90`` has no ONNX symbolic; a flip exports as a constant Slice with step -1 and the
    transpose as Transpose, both static for any H and W.

    Args:
        x: (N, C, H, W).
        turns: counter-clockwise quarter-turns, any integer (taken mod 4).

    Returns:
        (N, C, H, W) for even turns, (N, C, W, H) for odd ones.
    """
    turns %= 4
    if turns == 1:
        return x.flip(3).transpose(2, 3)
    if turns == 2:
        return x.flip(2).flip(3)
    if turns == 3:
        return x.transpose(2, 3).flip(3)
    return x


def rotated_strip_sum(
    x: Tensor,
    weight: Tensor,
    nk: int,
    directions: list[tuple[int, int]],
    small_kernel: int,
    groups: list[tuple[int, int, int]],
    strips: Callable[..., Tensor] = strip_sum,
) -> Tensor:
    """``strips`` (a strip-sum form) per rotation group: rotate by g quarter-turns, apply, rotate back.

    Args:
        x, weight, nk, directions, small_kernel: as ``strip_sum``.
        groups: ``rotation_groups`` output.
        strips: ``strip_sum`` or ``strip_sum_shifted_inputs``.

    Returns:
        (N, C, H, W): the groups' strip sums, concatenated in channel order.
    """
    if len(groups) == 1 and groups[0][2] == 0:
        return strips(x, weight, nk, directions, small_kernel)
    per_channel = len(directions) * nk
    outs = []
    for start, stop, turns in groups:
        xg = quarter_turn(x[:, start:stop], turns)
        wg = weight[start * per_channel : stop * per_channel]
        yg = strips(xg, wg, nk, directions, small_kernel)
        outs.append(quarter_turn(yg, -turns))
    return torch.cat(outs, dim=1)


class ShiftwiseConv(DynamicModule):
    """Large-kernel emulation by shifted small kernels, then BN and a pointwise mix (NCHW).

    Args:
        in_channels: input channels C.
        out_channels: output channels of the pointwise mix (default C).
        kernel_size: the large kernel K to emulate; covered extent is ``strip_count * k``.
        small_kernel: k, odd.
        diagonal: add diagonal and anti-diagonal strips.
        rotation: rotate the features of four channel groups by 0/90/180/270 degrees.
        stride: stride of the pointwise mix.
        bias: bias of the pointwise mix.
        norm: BatchNorm after the strips (the paper's form); ``False`` drops it, as tiny SR
            networks prefer (EDSR: BN hurts super-resolution).

    Raises:
        LayerArgumentError: an even ``small_kernel``, or ``kernel_size < small_kernel``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        kernel_size: int = 13,
        small_kernel: int = 3,
        diagonal: bool = False,
        rotation: bool = False,
        stride: int = 1,
        bias: bool = True,
        norm: bool = True,
    ) -> None:
        super().__init__()
        if small_kernel % 2 == 0 or small_kernel < 1:
            raise LayerArgumentError("ShiftwiseConv", f"small_kernel must be odd, got {small_kernel}")
        if kernel_size < small_kernel:
            raise LayerArgumentError(
                "ShiftwiseConv", f"kernel_size {kernel_size} is smaller than small_kernel {small_kernel}")
        out_channels = out_channels or in_channels
        self.in_channels = in_channels
        self.kernel_size = kernel_size
        self.small_kernel = small_kernel
        self.diagonal = diagonal
        self.rotation = rotation
        self.nk = strip_count(kernel_size, small_kernel)
        names = ["h"] if rotation else ["h", "v"]
        if diagonal:
            names += ["d"] if rotation else ["d", "a"]
        self.direction_names = names
        self.directions = [DIRECTIONS[n] for n in names]
        self.groups = rotation_groups(in_channels, rotation)
        self.small = nn.Conv2d(
            in_channels,
            in_channels * len(names) * self.nk,
            small_kernel,
            groups=in_channels,
            bias=False,
        )
        self.bn: nn.Module = nn.BatchNorm2d(in_channels) if norm else nn.Identity()
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, stride, bias=bias)

    @property
    def extent(self) -> int:
        """Side of the square the strips cover (>= kernel_size)."""
        return self.nk * self.small_kernel

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, extent={self.extent}, nk={self.nk}, "
            f"directions={''.join(self.direction_names)}, rotation={self.rotation}"
        )

    def large_kernel(self, x: Tensor) -> Tensor:
        """The emulated depthwise large-kernel response, before BN.

        Args:
            x: (N, C, H, W) features.

        Returns:
            (N, C, H, W): the strip sums of every direction (and rotation group).
        """
        return rotated_strip_sum(
            x, self.small.weight, self.nk, self.directions, self.small_kernel, self.groups,
            strips=strip_sum_shifted_inputs,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.bn(self.large_kernel(x)))

    def to_static(self, lowering: Lowering = "slice") -> nn.Module:
        """The static twin: BN folded into the strips and the pointwise bias, strips as slices or convs.

        Args:
            lowering: ``"slice"`` (one constant slice per sub-kernel, ``StripSlices``) or ``"conv"`` (one
                folded depthwise strip conv per direction, ``StripConvs``).

        Returns:
            ``nn.Sequential(strips, pointwise)``, equal to this module in eval mode.
        """
        check_lowering(lowering)
        if isinstance(self.bn, nn.BatchNorm2d):
            scale, shift = _bn_affine(self.bn)
        else:
            scale = torch.ones(self.in_channels)
            shift = torch.zeros(self.in_channels)
        per_channel = len(self.directions) * self.nk
        weight = self.small.weight.detach() * scale.repeat_interleave(per_channel).view(-1, 1, 1, 1)
        pointwise = nn.Conv2d(
            self.pointwise.in_channels,
            self.pointwise.out_channels,
            1,
            self.pointwise.stride,
            bias=True,
        )
        pw = self.pointwise.weight.detach()
        bias = self.pointwise.bias.detach() if self.pointwise.bias is not None else 0
        with torch.no_grad():
            pointwise.weight.copy_(pw)
            pointwise.bias.copy_(bias + pw[:, :, 0, 0] @ shift)
        if lowering == "slice":
            large = StripSlices(weight, self.nk, self.directions, self.small_kernel, self.groups)
        else:
            large = StripConvs(folded_kernels(self, weight), self.groups)
        return nn.Sequential(large, pointwise)


def folded_kernels(conv: ShiftwiseConv, weight: Tensor) -> list[list[Tensor]]:
    """Fold ``conv``'s sub-kernels into one depthwise kernel per (rotation group, direction) (the conv lowering).

    Sub-kernel i of a direction (uy, ux) lands at top-left ``reach - t_i * u`` of a kernel
    whose side is ``nk * k`` along moving axes and ``k`` along still ones. A group rotated
    by g quarter-turns gets its kernels rotated by -g (conv(rot(x), K) rotated back equals
    conv(x, rot(K, -g)) for odd, centred kernels).

    Args:
        weight: (C * len(directions) * nk, 1, k, k) sub-kernel weights (BN scale already applied).

    Returns:
        ``folded[group][direction]``: depthwise kernels (C_group, 1, kh, kw) with kh, kw in {k, nk * k}.
    """
    k, nk = conv.small_kernel, conv.nk
    reach = (nk - 1) // 2 * k
    per_channel = len(conv.directions) * nk
    w = weight.view(conv.in_channels, per_channel, k, k)
    folded: list[list[Tensor]] = []
    for start, stop, turns in conv.groups:
        kernels = []
        for d, (uy, ux) in enumerate(conv.directions):
            ey = nk * k if uy else k
            ex = nk * k if ux else k
            kernel = torch.zeros(stop - start, 1, ey, ex, dtype=weight.dtype)
            for i in range(nk):
                t = (i - (nk - 1) // 2) * k
                top = reach - t * uy if uy else 0
                left = reach - t * ux if ux else 0
                kernel[:, 0, top : top + k, left : left + k] += w[start:stop, d * nk + i]
            kernels.append(torch.rot90(kernel, -turns, dims=(2, 3)))
        folded.append(kernels)
    return folded


def _bn_affine(bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Eval-mode BatchNorm as ``y = x * scale + shift`` per channel."""
    std = torch.sqrt(bn.running_var.detach() + bn.eps)
    gamma = bn.weight.detach() if bn.weight is not None else torch.ones_like(std)
    beta = bn.bias.detach() if bn.bias is not None else torch.zeros_like(std)
    scale = gamma / std
    return scale, beta - bn.running_mean.detach() * scale


class StripSlices(nn.Module):
    """Static large kernel, slice lowering: grouped small conv, constant crops, sums, rot90."""

    def __init__(
        self,
        weight: Tensor,
        nk: int,
        directions: list[tuple[int, int]],
        small_kernel: int,
        groups: list[tuple[int, int, int]],
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight.clone())
        self.nk, self.directions, self.small_kernel, self.groups = nk, directions, small_kernel, groups

    def forward(self, x: Tensor) -> Tensor:
        return rotated_strip_sum(x, self.weight, self.nk, self.directions, self.small_kernel, self.groups)


class StripConvs(nn.Module):
    """Static large kernel, conv lowering: one depthwise strip conv per direction, summed."""

    def __init__(self, kernels: list[list[Tensor]], groups: list[tuple[int, int, int]]) -> None:
        super().__init__()
        self.bounds = [(start, stop) for start, stop, _ in groups]
        self.count = [len(ks) for ks in kernels]
        for g, ks in enumerate(kernels):
            for d, k in enumerate(ks):
                self.register_buffer(f"kernel_{g}_{d}", k.clone())

    def forward(self, x: Tensor) -> Tensor:
        outs = []
        for g, (start, stop) in enumerate(self.bounds):
            xg = x if len(self.bounds) == 1 else x[:, start:stop]
            out: Tensor | None = None
            for d in range(self.count[g]):
                k = getattr(self, f"kernel_{g}_{d}")
                y = F.conv2d(xg, k, padding=(k.shape[2] // 2, k.shape[3] // 2), groups=stop - start)
                out = y if out is None else out + y
            outs.append(out)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
