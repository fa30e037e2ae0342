"""Gradient ERF as RepLKNet measures it, for any PyTorch model with a spatial output.

score s = sum_c relu(M[:, c, h // 2, w // 2]) over the chosen map M (the last feature map, or
the model output); P = relu(ds/dI) summed over input channels and averaged over images; the
size and diversity measures of P are in ``edgeconv.runtime.erf.measures`` (numpy, shared with
the impulse ERF a deployed model gets on any back end).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from edgeconv.errors import UsageError
from edgeconv.runtime.erf.measures import ErfMeasures, erf_measures

Target = Literal["features", "output"]


def target_map(model: nn.Module, target: Target) -> Callable[[Tensor], Tensor]:
    """The function whose centre activation is differentiated: ``model.features`` or ``model``."""
    if target == "output":
        return model
    features = getattr(model, "features", None)
    if target == "features" and callable(features):
        return features
    if target == "features":
        raise UsageError(
            type(model).__name__, "has no features() method", "use target='output' (the model's own output)"
        )
    raise UsageError(f"target {target!r}", "is not 'features' or 'output'")


def centre_score(maps: Tensor, channels: Sequence[int] | None = None) -> Tensor:
    """sum over images and channels of relu(map at its centre pixel); maps must be (N, C, H, W)."""
    if maps.ndim != 4:
        raise UsageError(
            "ERF target", f"has shape {tuple(maps.shape)}", "the ERF needs a spatial (N, C, H, W) map"
        )
    centre = maps[:, :, maps.shape[2] // 2, maps.shape[3] // 2]
    if channels is not None:
        centre = centre[:, list(channels)]
    return torch.relu(centre).sum()


def gradient_erf(
    model: nn.Module,
    inputs: np.ndarray | Tensor,
    target: Target = "features",
    channels: Sequence[int] | None = None,
    batch: int = 8,
    device: str | None = None,
) -> np.ndarray:
    """Contribution map P (H, W): relu'd input gradient of the centre score, mean over images.

    ``inputs`` are model inputs (N, C, H, W), already normalised as the model expects. The
    model runs in eval mode (jitter off, BN frozen) so images do not interact. ``device``: where
    the images go (the model must already be there); None keeps them on the CPU.
    """
    return _erf_maps(model, inputs, target, [channels], batch, device)[0]


def channel_gradient_erfs(
    model: nn.Module, inputs: np.ndarray | Tensor, channels: Sequence[int], target: Target = "features",
    device: str | None = None,
) -> np.ndarray:
    """One contribution map per channel's centre unit (K, H, W): what each unit sees, not their sum.

    The summed map of a deep net is near-isotropic whatever its units see; the diversity measures
    (``runtime/erf/measures.channel_diversity``) compare these per-unit maps instead. One forward
    pass per batch serves every unit (a backward pass each).
    """
    return _erf_maps(model, inputs, target, [[c] for c in channels], 8, device)


def _erf_maps(
    model: nn.Module, inputs: np.ndarray | Tensor, target: Target, selections: list[Sequence[int] | None],
    batch: int, device: str | None,
) -> np.ndarray:
    """(len(selections), H, W): ``gradient_erf`` for each channel selection, sharing the forward passes."""
    x_all = torch.as_tensor(inputs if not isinstance(inputs, np.ndarray) else inputs.astype(np.float32))
    x_all = x_all.contiguous()  # NCHW: channels-last strides meet oneDNN issue 6035 in the backward pass
    if x_all.ndim != 4 or x_all.shape[0] == 0:
        raise UsageError("ERF inputs", f"have shape {tuple(x_all.shape)}", "expected (N>0, C, H, W)")
    fn = target_map(model, target)
    was_training = model.training
    model.eval()
    totals = torch.zeros((len(selections), *x_all.shape[2:]), dtype=torch.float64)
    try:
        for start in range(0, len(x_all), batch):
            x = x_all[start : start + batch].to(device or "cpu").clone().requires_grad_(True)
            maps = fn(x)
            for k, channels in enumerate(selections):
                last = k == len(selections) - 1
                (grad,) = torch.autograd.grad(centre_score(maps, channels), x, retain_graph=not last)
                totals[k] += torch.relu(grad).sum(dim=(0, 1)).double().cpu()
    finally:
        model.train(was_training)
    return (totals / len(x_all)).numpy()


def gradient_erf_measures(
    model: nn.Module, inputs: np.ndarray | Tensor, target: Target = "features", **kwargs: object
) -> tuple[np.ndarray, ErfMeasures]:
    """(P, its measures) in one call."""
    contributions = gradient_erf(model, inputs, target, **kwargs)  # type: ignore[arg-type]
    return contributions, erf_measures(contributions)
