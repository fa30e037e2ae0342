"""The gradient ERF of a checkpoint: rebuild its model, normalise images as it was trained, measure.

Lives with the checkpoints (``edgeconv.models``) so the op-level ERF (``edgeconv.erf``) never reaches
up into model code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgeconv.erf import Target, gradient_erf
from edgeconv.models.checkpoint import load_checkpoint
from edgeconv.runtime.erf.measures import ErfResult, erf_measures


def checkpoint_gradient_erf(
    path: str | Path, images: np.ndarray, target: Target = "features", channels: Sequence[int] | None = None
) -> ErfResult:
    """Gradient ERF of a checkpoint; ``images`` (N, 3, S, S) RGB in [0, 1], normalised as it was trained."""
    ckpt = load_checkpoint(path)
    model = ckpt.build_model(path)
    mean = np.asarray(ckpt.normalization["mean"], np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(ckpt.normalization["std"], np.float32).reshape(1, 3, 1, 1)
    contributions = gradient_erf(model, (images - mean) / std, target, channels)
    settings = {"model": ckpt.model_name, "images": int(len(images)), "size": int(images.shape[-1])}
    return ErfResult(Path(path).name, "gradient", target, settings, contributions, erf_measures(contributions))
