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

Target = Literal["features", "output"]


def target_map(model: nn.Module, target: Target) -> Callable[[Tensor], Tensor]:
    """The function whose centre activation is differentiated.

    Args:
        model: the network.
        target: ``"features"`` (``model.features``, the last feature map) or ``"output"`` (``model`` itself).

    Returns:
        A callable from (N, C, H, W) inputs to (N, C', H', W') maps.

    Raises:
        UsageError: ``"features"`` on a model without a ``features()`` method, or an unknown target.
    """
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
    """Sum over images and channels of relu(map at its centre pixel).

    Args:
        maps: (N, C, H, W).
        channels: the channels to sum; None sums all.

    Returns:
        A scalar tensor, >= 0.

    Raises:
        UsageError: ``maps`` is not 4-D.
    """
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
    """Contribution map P: relu'd input gradient of the centre score, mean over images.

    The model runs in eval mode (jitter off, BN frozen) so images do not interact.

    Args:
        model: the network (already on ``device``).
        inputs: (N, C, H, W) model inputs, N >= 1, already normalised as the model expects.
        target: ``"features"`` or ``"output"`` (``target_map``).
        channels: centre channels to score; None scores all.
        batch: images per backward pass.
        device: where the images go; None keeps them on the CPU.

    Returns:
        (H, W) float64 map, >= 0.

    Raises:
        UsageError: inputs that are not (N > 0, C, H, W), or a target the model lacks.
    """
    return _erf_maps(model, inputs, target, [channels], batch, device)[0]


def channel_gradient_erfs(
    model: nn.Module, inputs: np.ndarray | Tensor, channels: Sequence[int], target: Target = "features",
    device: str | None = None,
) -> np.ndarray:
    """One contribution map per channel's centre unit: what each unit sees, not their sum.

    The summed map of a deep net is near-isotropic whatever its units see; the diversity measures
    (``runtime/erf/measures.channel_diversity``) compare these per-unit maps instead. One forward
    pass per batch serves every unit (a backward pass each).

    Args:
        model, inputs, target, device: as ``gradient_erf``.
        channels: the K channels whose centre units are measured.

    Returns:
        (K, H, W) float64 maps, >= 0.
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
