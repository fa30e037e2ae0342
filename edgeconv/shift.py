"""Static shift primitives: zero-filled integer shifts and fixed blends of them.

Seed idea: the study's jittering and shiftwise convolutions all move feature maps by a few
pixels. Prior work: Shift (Wu et al., arXiv 1711.08141) groups channels by offset; Active Shift
Layer (arXiv 1806.07370) realises a fractional shift as bilinear interpolation, which for a
*fixed* shift is a blend of at most four integer shifts (zero padding outside the image).

Convention: ``shift(x, dy, dx)[..., i, j] = x[..., i - dy, j - dx]`` and zero where that index
falls outside the image, so positive ``dy`` moves content down and positive ``dx`` moves it
right. Every form here is static: constant Pad/Slice/Concat (``lowering="slice"``) or one fixed
depthwise convolution (``lowering="conv"``), valid for any H, W >= 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgeconv.dynamic import Lowering, check_lowering
from edgeconv.errors import LayerArgumentError


def _window(pad: int, offset: int) -> slice:
    """Rows [pad - offset, size - (pad + offset)) of an axis padded by ``pad`` on both sides.

    Ends are written as negative constants so the slice is the same for every input size.
    """
    end = pad + offset
    return slice(pad - offset, -end if end > 0 else None)


def integer_shift(x: Tensor, dy: int, dx: int) -> Tensor:
    """Shift every channel of ``x`` by (dy, dx) pixels, filling with zeros (constant Pad + Slice).

    Args:
        x: (N, C, H, W) features, any values.
        dy: rows to move down (negative: up).
        dx: columns to move right (negative: left).

    Returns:
        (N, C, H, W): ``x[..., i - dy, j - dx]``, zero where that falls outside the image; ``x`` itself for (0, 0).
    """
    if dy == 0 and dx == 0:
        return x
    pad_y, pad_x = abs(dy), abs(dx)
    padded = F.pad(x, (pad_x, pad_x, pad_y, pad_y))
    return padded[..., _window(pad_y, dy), _window(pad_x, dx)]


def channel_runs(offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int, tuple[int, int]]]:
    """Group consecutive channels that share an offset.

    Args:
        offsets: one (dy, dx) per channel.

    Returns:
        ``[(start, stop, (dy, dx)), ...]``: channels ``start:stop`` all move by (dy, dx); runs cover every channel.
    """
    runs: list[tuple[int, int, tuple[int, int]]] = []
    for c, off in enumerate(offsets):
        if runs and runs[-1][2] == off:
            start, _, _ = runs[-1]
            runs[-1] = (start, c + 1, off)
        else:
            runs.append((c, c + 1, off))
    return runs


def bilinear_taps(shifts: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Split per-channel real shifts into integer taps with bilinear weights.

    Taps whose weights are zero for every channel are dropped, so an integer shift yields one tap and a
    half-pixel shift along one axis yields two.

    Args:
        shifts: (C, 2) real shifts [dy, dx] in pixels.

    Returns:
        Up to four ``(offsets (C, 2) int64, weights (C,) float64)`` pairs whose weighted sum of integer
        shifts equals the fractional shift with zero padding; each channel's weights sum to 1.
    """
    shifts = shifts.detach().to(torch.float64).cpu()
    base = torch.floor(shifts)
    frac = shifts - base
    taps = []
    for ty in (0, 1):
        wy = frac[:, 0] if ty else 1.0 - frac[:, 0]
        for tx in (0, 1):
            wx = frac[:, 1] if tx else 1.0 - frac[:, 1]
            weight = wy * wx
            if bool((weight != 0).any()):
                offsets = base.to(torch.int64) + torch.tensor([ty, tx], dtype=torch.int64)
                # a channel this tap does not use keeps offset 0: no wider pad, longer runs
                offsets[weight == 0] = 0
                taps.append((offsets, weight))
    return taps


class ShiftBlend(nn.Module):
    """A fixed per-channel sum of weighted integer shifts, lowered to slices or to a conv.

    ``out[:, c] = sum_t weight_t[c] * shift(x[:, c], *offset_t[c])`` for (N, C, H, W) input.
    One tap with unit weights is a plain grouped integer shift (no multiply is emitted).
    Its buffers are derived from the constructor arguments, so they are not saved in state_dicts.

    Args:
        taps: list of ``(offsets (C, 2) int, weights (C,) float)``.
        lowering: ``"slice"`` pads once by the largest offset, takes one constant slice per run
            of channels sharing an offset and concatenates; ``"conv"`` builds one depthwise
            kernel of side 2R + 1 with the weights at the offset positions.

    Raises:
        LayerArgumentError: no taps; in ``forward``, an input whose channel count is not C.
    """

    def __init__(self, taps: Sequence[tuple[Tensor, Tensor]], lowering: Lowering = "slice") -> None:
        super().__init__()
        check_lowering(lowering)
        if not taps:
            raise LayerArgumentError("ShiftBlend", "needs at least one tap")
        self.lowering = lowering
        self.channels = int(taps[0][0].shape[0])
        offsets = [torch.as_tensor(o, dtype=torch.int64).reshape(self.channels, 2) for o, _ in taps]
        weights = [torch.as_tensor(w, dtype=torch.float64).reshape(self.channels) for _, w in taps]
        self.radius_y = max(int(o[:, 0].abs().max()) for o in offsets)
        self.radius_x = max(int(o[:, 1].abs().max()) for o in offsets)
        self._runs = [channel_runs([tuple(map(int, row)) for row in o]) for o in offsets]
        unit = len(taps) == 1 and bool((weights[0] == 1).all())
        self._unit_weights = unit
        for t, w in enumerate(weights):
            self.register_buffer(
                f"weight{t}", w.to(torch.float32).view(1, -1, 1, 1), persistent=False
            )
        if lowering == "conv":
            ky, kx = 2 * self.radius_y + 1, 2 * self.radius_x + 1
            kernel = torch.zeros(self.channels, 1, ky, kx, dtype=torch.float64)
            channel = torch.arange(self.channels)
            for o, w in zip(offsets, weights, strict=True):
                kernel[channel, 0, self.radius_y - o[:, 0], self.radius_x - o[:, 1]] += w
            self.register_buffer("kernel", kernel.to(torch.float32), persistent=False)

    @classmethod
    def integer(cls, offsets: Tensor | Sequence[tuple[int, int]], lowering: Lowering = "slice") -> ShiftBlend:
        """A grouped integer shift: channel c moves by ``offsets[c] = (dy, dx)``.

        Args:
            offsets: (C, 2) integer offsets [dy, dx].
            lowering: ``"slice"`` (Pad/Slice/Concat) or ``"conv"`` (fixed depthwise kernels) for the shifts.

        Returns:
            A ShiftBlend with one unit-weight tap.
        """
        offsets = torch.as_tensor(offsets, dtype=torch.int64)
        return cls([(offsets, torch.ones(offsets.shape[0], dtype=torch.float64))], lowering)

    @classmethod
    def fractional(cls, shifts: Tensor, lowering: Lowering = "slice") -> ShiftBlend:
        """A fixed per-channel real shift as a bilinear blend of <= 4 integer shifts.

        Args:
            shifts: (C, 2) real shifts [dy, dx] in pixels.
            lowering: ``"slice"`` (Pad/Slice/Concat) or ``"conv"`` (fixed depthwise kernels) for the shifts.

        Returns:
            A ShiftBlend equal to the zero-padded bilinear shift (``grid_sample_shift``).
        """
        return cls(bilinear_taps(shifts), lowering)

    def extra_repr(self) -> str:
        taps = len(self._runs)
        runs = sum(len(r) for r in self._runs)
        return (
            f"channels={self.channels}, taps={taps}, runs={runs}, "
            f"radius=({self.radius_y}, {self.radius_x}), lowering={self.lowering}"
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.channels:
            raise LayerArgumentError("ShiftBlend", f"expects {self.channels} channels, got {x.shape[1]}")
        if self.lowering == "conv":
            return F.conv2d(
                x,
                self.kernel.to(x.dtype),
                padding=(self.radius_y, self.radius_x),
                groups=self.channels,
            )
        return self._slice_forward(x)

    def _slice_forward(self, x: Tensor) -> Tensor:
        ry, rx = self.radius_y, self.radius_x
        padded = F.pad(x, (rx, rx, ry, ry)) if ry or rx else x
        out: Tensor | None = None
        for t, runs in enumerate(self._runs):
            pieces = []
            for start, stop, (dy, dx) in runs:
                channels = slice(None) if (start, stop) == (0, self.channels) else slice(start, stop)
                pieces.append(padded[:, channels, _window(ry, dy), _window(rx, dx)])
            shifted = pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1)
            if not self._unit_weights:
                shifted = shifted * getattr(self, f"weight{t}").to(x.dtype)
            out = shifted if out is None else out + shifted
        assert out is not None
        return out


def grid_sample_shift(x: Tensor, shifts: Tensor) -> Tensor:
    """Reference per-channel real shift by ``grid_sample`` (bilinear, zeros padding).

    How PyTorch ports of Active Shift Layer compute it, and the GridSample baseline of the
    benchmarks. edgeconv's ops never use it: it exports as GridSample.

    Args:
        x: (N, C, H, W) features.
        shifts: (C, 2) real shifts [dy, dx] in pixels, one per channel.

    Returns:
        (N, C, H, W): each channel moved by its shift, zero outside the image.
    """
    n, c, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, h, 1) - shifts[:, 0].view(c, 1, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, w) - shifts[:, 1].view(c, 1, 1)
    # align_corners=False maps pixel index p to (2p + 1) / size - 1.
    grid = torch.stack(
        [((2 * xs + 1) / w - 1).expand(c, h, w), ((2 * ys + 1) / h - 1).expand(c, h, w)], dim=-1
    )
    planes = x.reshape(n * c, 1, h, w)
    grid = grid.repeat(n, 1, 1, 1)
    out = F.grid_sample(planes, grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.view(n, c, h, w)


def direction_grid(radius: int) -> list[tuple[int, int]]:
    """The offsets of a square neighbourhood, row-major, centre included.

    Args:
        radius: r >= 0.

    Returns:
        (2r + 1)^2 ``(dy, dx)`` pairs with ``-r <= dy, dx <= r``.
    """
    return [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]


def split_channels_over(directions: Sequence[tuple[float, float]], channels: int) -> list[tuple[float, float]]:
    """Assign channels to directions in even, contiguous groups.

    Args:
        directions: the (dy, dx) moves to share out.
        channels: how many channels.

    Returns:
        One direction per channel: channel c gets ``directions[c * len(directions) // channels]``.
    """
    n = len(directions)
    return [directions[math.floor(c * n / channels)] for c in range(channels)]
