"""PSNR-Y / SSIM-Y as the SR literature computes them, and the bicubic baseline on Set5."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from edgeconv.runtime.validation.sr_metrics import luma_255, psnr_y, ssim_y


def test_identical_images_score_infinite_psnr_and_unit_ssim() -> None:
    img = np.random.default_rng(0).random((32, 40, 3))
    assert psnr_y(img, img) == math.inf
    assert ssim_y(img, img) == pytest.approx(1.0)


def test_psnr_from_a_known_luma_error() -> None:
    hr = np.full((20, 20, 3), 0.5)
    sr = hr + 2.0 / 255.0  # every channel +2 levels: Y moves by 2 * (65.481 + 128.553 + 24.966) / 255
    dy = 2.0 * (65.481 + 128.553 + 24.966) / 255.0
    assert psnr_y(sr, hr) == pytest.approx(10 * math.log10(255.0**2 / dy**2), abs=1e-9)


def test_luma_is_bt601_and_grey_is_scored_on_its_own_values() -> None:
    white = np.ones((2, 2, 3))
    np.testing.assert_allclose(luma_255(white), 235.0, atol=1e-9)
    np.testing.assert_allclose(luma_255(np.zeros((2, 2, 3))), 16.0)
    np.testing.assert_allclose(luma_255(np.full((2, 2), 0.5)), 127.5)


def test_border_is_cropped_before_scoring() -> None:
    hr = np.zeros((16, 16))
    sr = hr.copy()
    sr[:2, :] = 1.0  # errors only inside a 2-pixel border
    assert psnr_y(sr, hr, crop_border=2) == math.inf
    assert psnr_y(sr, hr, crop_border=1) < 20


def test_ssim_matches_scikit_image_on_luma() -> None:
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(1)
    hr = rng.random((48, 56, 3))
    sr = np.clip(hr + rng.normal(0, 0.05, hr.shape), 0, 1)
    ours = ssim_y(sr, hr, crop_border=2)
    a, b = luma_255(sr)[2:-2, 2:-2], luma_255(hr)[2:-2, 2:-2]
    ref = structural_similarity(
        a, b, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ours == pytest.approx(ref, abs=2e-3)


def bicubic_set5_psnr(set5, scale: int) -> float:
    scores = []
    for path in sorted(set5.glob("*.png")):
        hr = Image.open(path).convert("RGB")
        w, h = hr.size[0] - hr.size[0] % scale, hr.size[1] - hr.size[1] % scale
        hr = hr.crop((0, 0, w, h))
        lr = hr.resize((w // scale, h // scale), Image.BICUBIC)
        sr = lr.resize((w, h), Image.BICUBIC)
        scores.append(psnr_y(np.asarray(sr) / 255.0, np.asarray(hr) / 255.0, crop_border=scale))
    return float(np.mean(scores))


@pytest.mark.parametrize(("scale", "literature"), [(2, 33.66), (4, 28.42)])
def test_bicubic_baseline_on_set5_matches_the_literature(sr_data, scale: int, literature: float) -> None:
    assert bicubic_set5_psnr(sr_data / "Set5", scale) == pytest.approx(literature, abs=0.05)


def test_size_mismatch_is_a_clear_error() -> None:
    from edgeconv.errors import UsageError

    with pytest.raises(UsageError, match=r"images \| sizes differ: \(4, 4\) vs \(4, 5\)"):
        psnr_y(np.zeros((4, 4)), np.zeros((4, 5)))
