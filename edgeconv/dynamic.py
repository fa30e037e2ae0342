"""The contract between dynamic ops and the deploy rewrite (``edgeconv.export.to_deploy``).

Every op whose forward computes or samples shifts at run time derives from ``DynamicModule`` and
knows its static twin: ``to_static(lowering)`` returns an ``nn.Module`` that computes the same
function (in eval mode) with only constant slices, pads, concats, index ops and fixed convs.
"""

from __future__ import annotations

from typing import Literal

from torch import nn

Lowering = Literal["slice", "conv"]
LOWERINGS: tuple[str, ...] = ("slice", "conv")


class DynamicModule(nn.Module):
    """Marker base: a module the deploy rewrite must replace before export."""

    def to_static(self, lowering: Lowering = "slice") -> nn.Module:
        """Return the static twin of this module, equal to ``self.eval()`` as a function.

        Args:
            lowering: ``"slice"`` lowers integer shifts to Pad/Slice/Concat; ``"conv"`` lowers
                them to fixed depthwise kernels.

        Returns:
            An ``nn.Module`` with the same (N, C, H, W) -> (N, C', H', W') function and no run-time shifts.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define to_static()")


def check_lowering(lowering: str) -> None:
    """Refuse an unknown lowering name.

    Args:
        lowering: the name asked for.

    Raises:
        UsageError: ``lowering`` is not ``"slice"`` or ``"conv"``.
    """
    if lowering not in LOWERINGS:
        from edgeconv.errors import UsageError

        raise UsageError(
            "lowering",
            f"unknown lowering {lowering!r}",
            f"expected one of {', '.join(LOWERINGS)}",
        )
