"""Super-resolution metrics as the SR literature computes them, in numpy only (runs on devices).

PSNR and SSIM on the BT.601 luma ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` (RGB in [0, 1],
Y in [16, 235] on the 0..255 scale; ``runtime/imaging/luma.py``), float Y (not rounded), with a border of
``scale`` pixels cropped (BasicSR's ``calculate_psnr(..., crop_border, test_y_channel=True)``). A
single-channel image is scored on its own values. Inputs are float arrays in [0, 1], (H, W) or (H, W, C).
"""

from __future__ import annotations

import math

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.luma import luma_255


def _prepared(sr: np.ndarray, hr: np.ndarray, crop_border: int) -> tuple[np.ndarray, np.ndarray]:
    if sr.shape[:2] != hr.shape[:2]:
        raise UsageError("images", f"sizes differ: {sr.shape[:2]} vs {hr.shape[:2]}", "compare same-size images")
    a, b = luma_255(sr), luma_255(hr)
    if crop_border:
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    if a.size == 0:
        raise UsageError("images", f"nothing left after cropping {crop_border} border pixels")
    return a, b


def psnr_y(sr: np.ndarray, hr: np.ndarray, crop_border: int = 0) -> float:
    """PSNR on BT.601 Y between two images.

    Args:
        sr: (H, W, 3) RGB, (H, W, 1) or (H, W) float in [0, 1].
        hr: the same shape and range.
        crop_border: pixels shaved from every side before scoring.

    Returns:
        PSNR in dB with peak 255 on Y; ``inf`` when identical.

    Raises:
        UsageError: sizes differ, a shape ``luma_255`` cannot read, or nothing left after the crop.
    """
    a, b = _prepared(sr, hr, crop_border)
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def _gaussian_filter_valid(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation with a 1-D window along both axes."""
    k = window.size
    rows = sum(window[i] * img[i : img.shape[0] - k + 1 + i, :] for i in range(k))
    return sum(window[i] * rows[:, i : rows.shape[1] - k + 1 + i] for i in range(k))


def ssim_y(sr: np.ndarray, hr: np.ndarray, crop_border: int = 0) -> float:
    """SSIM on BT.601 Y (Wang et al. 2004: 11x11 Gaussian, sigma 1.5, valid region).

    Args:
        sr: (H, W, 3) RGB, (H, W, 1) or (H, W) float in [0, 1].
        hr: the same shape and range.
        crop_border: pixels shaved from every side before scoring.

    Returns:
        Mean SSIM in [-1, 1] (1 when identical).

    Raises:
        UsageError: as ``psnr_y``, or less than 11 x 11 left after the crop.
    """
    a, b = _prepared(sr, hr, crop_border)
    if min(a.shape) < 11:
        raise UsageError("images", f"{a.shape} is smaller than the 11x11 SSIM window")
    x = np.arange(11) - 5
    window = np.exp(-(x**2) / (2 * 1.5**2))
    window /= window.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _gaussian_filter_valid(a, window), _gaussian_filter_valid(b, window)
    var_a = _gaussian_filter_valid(a * a, window) - mu_a**2
    var_b = _gaussian_filter_valid(b * b, window) - mu_b**2
    cov = _gaussian_filter_valid(a * b, window) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def score_sr(sr_rgb: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """``(PSNR-Y dB, SSIM-Y)`` of one SR output against its HR image: the one scorer of the project.

    The standard protocol, used by training, validation, export checks and the research harness: the output is
    rounded to 8 bits here (as it would be saved); a grey HR image is scored on its own values against the mean
    of the output's channels (Set14's ``bridge``), not as RGB luma. A border of ``scale`` pixels is cropped.

    Args:
        sr_rgb: the model's output as an image, float (H, W, 3) in [0, 1] (clipped here).
        hr: uint8 (H, W, 3), or (H, W) for a grey image.
        scale: the SR factor (the cropped border).

    Returns:
        PSNR-Y in dB (inf when identical) and SSIM-Y in [-1, 1].
    """
    sr = np.round(np.clip(np.asarray(sr_rgb, dtype=np.float64), 0.0, 1.0) * 255.0) / 255.0
    if hr.ndim == 2 and sr.ndim == 3:
        sr = sr.mean(axis=2)
    ref = hr.astype(np.float64) / 255.0
    return psnr_y(sr, ref, crop_border=scale), ssim_y(sr, ref, crop_border=scale)
