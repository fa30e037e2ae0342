"""The gradient ERF of a checkpoint: rebuild its model, normalise images as it was trained, measure.

Lives with the checkpoints (``edgeconv.models``) so the op-level ERF (``edgeconv.erf``) never reaches
up into model code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgeconv.erf import Target, channel_gradient_erfs, gradient_erf, target_map
from edgeconv.models.checkpoints.format import Checkpoint, load_checkpoint
from edgeconv.runtime.erf.measures import ErfResult, erf_measures


def _model_and_inputs(
    path: str | Path, images: np.ndarray, device: str | None
) -> tuple[Checkpoint, nn.Module, np.ndarray]:
    """The checkpoint, its model (on ``device``) and ``images`` normalised as it was trained."""
    ckpt = load_checkpoint(path)
    model = ckpt.build_model(path).to(device or "cpu")
    mean = np.asarray(ckpt.normalization["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(ckpt.normalization["std"], np.float32).reshape(1, 3, 1, 1)
    return ckpt, model, (images - mean) / std


def checkpoint_gradient_erf(
    path: str | Path, images: np.ndarray, target: Target = "features", channels: Sequence[int] | None = None,
    device: str | None = None,
) -> ErfResult:
    """Gradient ERF of a checkpoint; ``images`` (N, 3, S, S) RGB in [0, 1], normalised as it was trained."""
    ckpt, model, x = _model_and_inputs(path, images, device)
    contributions = gradient_erf(model, x, target, channels, device=device)
    settings = {"model": ckpt.model_name, "images": int(len(images)), "size": int(images.shape[-1])}
    return ErfResult(Path(path).name, "gradient", target, settings, contributions, erf_measures(contributions))


def checkpoint_channel_erfs(
    path: str | Path, images: np.ndarray, count: int, target: Target = "features", device: str | None = None
) -> np.ndarray:
    """Per-unit ERF maps (K, H, W) of ``count`` channels spread evenly over the target map's channels."""
    _, model, x = _model_and_inputs(path, images, device)
    with torch.no_grad():
        channels = target_map(model.eval(), target)(torch.as_tensor(x[:1], device=device or "cpu")).shape[1]
    picked = sorted({int(round(c)) for c in np.linspace(0, channels - 1, min(count, channels))})
    return channel_gradient_erfs(model, x, picked, target, device=device)
