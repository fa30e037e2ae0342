"""JitterConv: shift the input features, then convolve.

Seed idea (the study, "Jittering-based convolution"): perturbing the spatial alignment of
features before a convolution widens the effective receptive field. Four modes:

- ``random``: in training, every forward shifts each channel by a random integer offset in
  [-max_shift, max_shift]^2 (an augmentation, like dropout). **At eval the shift is removed**
  (identity), so the deploy form is the plain convolution.
- ``channel``: deterministic shift by channel index; channels are split evenly over the
  (2 max_shift + 1)^2 offsets, centre included (Shift, Wu et al., arXiv 1711.08141).
- ``subpixel``: fixed 0.5-pixel shifts by bilinear interpolation; channels split evenly over
  up, down, left and right half-pixel moves.
- ``learnable``: one continuous (dy, dx) per channel, trained through bilinear interpolation as
  in Active Shift Layer (Jeon & Kim, arXiv 1806.07370); shifts are clamped to
  [-max_shift, max_shift]. Train and eval compute the same function.

The learnable shift is computed as two separable depthwise convolutions with "hat" kernels
``relu(1 - |u - (R - s)|)``: exactly the zero-padded bilinear shift (what ``grid_sample`` with
zeros padding computes), differentiable in ``s``, and without sampling grids.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgeconv.dynamic import DynamicModule, Lowering, check_lowering
from edgeconv.errors import LayerArgumentError
from edgeconv.shift import ShiftBlend, direction_grid, split_channels_over

JitterMode = Literal["random", "channel", "subpixel", "learnable"]
JITTER_MODES: tuple[str, ...] = ("random", "channel", "subpixel", "learnable")
HALF_PIXEL_DIRECTIONS = [(-0.5, 0.0), (0.5, 0.0), (0.0, -0.5), (0.0, 0.5)]


class ShiftThenConv(nn.Module):
    """Static twin of JitterConv: a fixed shift (or none) followed by the convolution."""

    def __init__(self, shift: nn.Module | None, conv: nn.Conv2d) -> None:
        super().__init__()
        self.shift = shift if shift is not None else nn.Identity()
        self.conv = conv

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.shift(x))


def hat_kernels(shifts: Tensor, radius: int) -> tuple[Tensor, Tensor]:
    """Separable bilinear kernels for per-channel shifts within ``radius``.

    Args:
        shifts: (C, 2) real shifts [dy, dx] in pixels, each in [-radius, radius].
        radius: R, the kernels' half-width.

    Returns:
        Depthwise weights (C, 1, 2R + 1, 1) and (C, 1, 1, 2R + 1), in [0, 1], ``relu(1 - |u - (R - s)|)``:
        convolving with both is the zero-padded bilinear shift, differentiable in ``shifts``.
    """
    taps = torch.arange(2 * radius + 1, dtype=shifts.dtype, device=shifts.device)
    centre = radius - shifts  # (C, 2): where the tap of weight 1 would sit
    ky = torch.relu(1 - (taps[None, :] - centre[:, :1]).abs())
    kx = torch.relu(1 - (taps[None, :] - centre[:, 1:]).abs())
    return ky[:, None, :, None], kx[:, None, None, :]


class JitterConv(DynamicModule):
    """Feature jitter before a k x k convolution (NCHW in, NCHW out).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias:
            as ``nn.Conv2d`` (padding defaults to ``dilation * (kernel_size // 2)``).
        mode: one of ``random``, ``channel``, ``subpixel``, ``learnable``.
        max_shift: largest shift in pixels (random range, channel grid radius, learnable clamp).
        init_shift: learnable mode only; shifts start uniform in [-init_shift, init_shift].
        generator: random mode only; a ``torch.Generator`` makes the jitter reproducible.

    Raises:
        LayerArgumentError: an unknown ``mode`` or ``max_shift < 1``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        mode: JitterMode = "channel",
        max_shift: int = 1,
        init_shift: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if mode not in JITTER_MODES:
            raise LayerArgumentError("JitterConv", f"mode {mode!r} is not one of {', '.join(JITTER_MODES)}")
        if max_shift < 1:
            raise LayerArgumentError("JitterConv", f"max_shift must be >= 1, got {max_shift}")
        self.mode = mode
        self.max_shift = max_shift
        self.in_channels = in_channels
        self.generator = generator
        if padding is None:
            padding = dilation * (kernel_size // 2)
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias
        )
        if mode == "learnable":
            init = (torch.rand(in_channels, 2) * 2 - 1) * init_shift
            self.shift = nn.Parameter(init.clamp(-max_shift, max_shift))
        elif mode in ("channel", "subpixel"):
            self.register_buffer("shift", self._fixed_shifts(), persistent=False)
            self.fixed_shift = ShiftBlend.fractional(self.shift)

    def _fixed_shifts(self) -> Tensor:
        if self.mode == "channel":
            grid = [(float(dy), float(dx)) for dy, dx in direction_grid(self.max_shift)]
            return torch.tensor(split_channels_over(grid, self.in_channels))
        return torch.tensor(split_channels_over(HALF_PIXEL_DIRECTIONS, self.in_channels))

    def extra_repr(self) -> str:
        return f"mode={self.mode}, max_shift={self.max_shift}"

    def shift_features(self, x: Tensor) -> Tensor:
        """Apply this mode's shift (the train-time form; ``random`` is the identity in eval mode).

        Args:
            x: (N, C_in, H, W) features.

        Returns:
            (N, C_in, H, W): the shifted features, zero-filled at the borders.
        """
        if self.mode == "random":
            return self._random_shift(x) if self.training else x
        if self.mode == "learnable":
            shifts = self.shift.clamp(-self.max_shift, self.max_shift)
            ky, kx = hat_kernels(shifts.to(x.dtype), self.max_shift)
            r = self.max_shift
            x = F.conv2d(x, ky, padding=(r, 0), groups=self.in_channels)
            return F.conv2d(x, kx, padding=(0, r), groups=self.in_channels)
        return self.fixed_shift(x)

    def _random_shift(self, x: Tensor) -> Tensor:
        r = self.max_shift
        offsets = torch.randint(-r, r + 1, (self.in_channels, 2), generator=self.generator)
        kernel = torch.zeros(self.in_channels, 1, 2 * r + 1, 2 * r + 1, dtype=x.dtype)
        kernel[torch.arange(self.in_channels), 0, r - offsets[:, 0], r - offsets[:, 1]] = 1
        return F.conv2d(x, kernel.to(x.device), padding=r, groups=self.in_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.shift_features(x))

    def to_static(self, lowering: Lowering = "slice") -> nn.Module:
        """The static twin: the fixed shift as a ``ShiftBlend`` (none for ``random``), then the conv.

        Args:
            lowering: ``"slice"`` (Pad/Slice/Concat) or ``"conv"`` (fixed depthwise kernels) for the shifts.

        Returns:
            ``ShiftThenConv``, equal to this module in eval mode.
        """
        check_lowering(lowering)
        if self.mode == "random":
            shift = None  # documented eval behaviour: no jitter
        else:
            shifts = self.shift.detach().clamp(-self.max_shift, self.max_shift)
            shift = ShiftBlend.fractional(shifts, lowering)
            if shift.radius_x == 0 and shift.radius_y == 0:
                shift = None
        return ShiftThenConv(shift, self.conv)
