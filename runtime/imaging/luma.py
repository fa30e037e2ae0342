"""BT.601 luma, defined once: the weights the scorer, the models, training and the exporters all use.

``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for R, G, B in [0, 1] gives studio-range Y in [16, 235] on the
0..255 scale (ITU-R BT.601; BasicSR's ``rgb2ycbcr(..., y_only=True)``). The models work in the same luma
without the +16 offset and in their input's unit: ``l = LUMA_WEIGHTS . (R, G, B)``, i.e.
``l = 0.257 R + 0.504 G + 0.098 B``, ``l = (Y - 16) / 255``. numpy only, so it runs on devices.
"""

from __future__ import annotations

import numpy as np

from edgeconv.errors import UsageError

BT601_Y_255 = (65.481, 128.553, 24.966)
"""Y on the 0..255 scale per unit of R, G and B in [0, 1] (before the +16 offset)."""

LUMA_WEIGHTS = (BT601_Y_255[0] / 255.0, BT601_Y_255[1] / 255.0, BT601_Y_255[2] / 255.0)
"""The model's luma per unit of R, G and B (both in [0, 1])."""

LUMA_GAIN = sum(LUMA_WEIGHTS)
"""How much the model's luma moves when R, G and B all move by 1 (0.859)."""

_Y_WEIGHTS_255 = np.array(BT601_Y_255)


def luma_255(image: np.ndarray) -> np.ndarray:
    """BT.601 Y on the 0..255 scale of an RGB image; a grey image is scaled as is.

    Args:
        image: (H, W, C) with C >= 3 (RGB; channels past the third ignored), (H, W, 1) or (H, W); values in [0, 1].

    Returns:
        (H, W) float64: ``16 + 65.481 R + 128.553 G + 24.966 B`` (in [16, 235]) for RGB, ``255 * value``
        (in [0, 255]) for a single channel.

    Raises:
        UsageError: any other shape.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 2:
        return img * 255.0
    if img.ndim == 3 and img.shape[2] == 1:
        return img[..., 0] * 255.0
    if img.ndim == 3 and img.shape[2] >= 3:
        return 16.0 + img[..., :3] @ _Y_WEIGHTS_255
    raise UsageError("image", f"shape {img.shape} is not (H, W) or (H, W, C)", "expected an HWC or HW array")


def rgb_to_model_luma(rgb: np.ndarray) -> np.ndarray:
    """The model's luma (no +16/255 offset) of an NCHW RGB batch.

    Args:
        rgb: (N, 3, H, W) float RGB in [0, 1].

    Returns:
        (N, 1, H, W) float32 luma in [0, 0.859] (``LUMA_GAIN``).
    """
    weights = np.asarray(LUMA_WEIGHTS, np.float32).reshape(1, 3, 1, 1)
    return (rgb * weights).sum(axis=1, keepdims=True, dtype=np.float32)
