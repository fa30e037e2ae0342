"""Degradation protocols: shapes, determinism, hand-computed values, and OpenCV's resize where installed."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.degradations import PROTOCOLS, aliased_downscale, degrade
from edgeconv.runtime.imaging.images import crop_to_multiple, image_files, read_image


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[100:196, 150:270]  # 96 x 120 RGB, a multiple of 2, 3 and 4


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("grey", [False, True])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_every_protocol_gives_the_lr_shape_and_is_reproducible(
    photo: np.ndarray, protocol: str, grey: bool, scale: int
) -> None:
    hr = photo.mean(axis=2).astype(np.uint8) if grey else photo
    lr = degrade(hr, scale, protocol)
    assert lr.dtype == np.uint8 and lr.shape == (96 // scale, 120 // scale, *hr.shape[2:])
    assert np.array_equal(lr, degrade(hr, scale, protocol))  # scoring parameters are fixed
    assert abs(float(lr.mean()) - float(hr.mean())) < 3  # brightness kept
    # a size that is not a multiple is cropped (bottom/right) to one first: the same LR image
    odd = np.pad(hr, [(0, scale - 1), (0, scale - 1)] + [(0, 0)] * (hr.ndim - 2), mode="reflect")
    assert np.array_equal(degrade(odd, scale, protocol), lr)


def test_training_draws_parameters_and_mixed_needs_a_generator(photo: np.ndarray) -> None:
    a = degrade(photo, 2, "noise", np.random.default_rng(1))
    b = degrade(photo, 2, "noise", np.random.default_rng(2))
    assert not np.array_equal(a, b)
    picked = {degrade(photo, 2, "mixed", np.random.default_rng(seed)).tobytes() for seed in range(12)}
    assert len(picked) > 3
    with pytest.raises(UsageError, match="unknown protocol 'mixed'"):
        degrade(photo, 2, "mixed")
    with pytest.raises(UsageError, match="unknown protocol 'sinc'"):
        degrade(photo, 2, "sinc")


def test_hand_computed_values() -> None:
    ramp = np.tile(np.arange(0, 160, 10, dtype=np.uint8), (4, 1))  # 4 x 16, value = 10 * column
    # cubic convolution reproduces a linear ramp: sample at (i + 0.5) * 2 - 0.5 = 2i + 0.5 -> 20i + 5
    lr = aliased_downscale(ramp, 2)
    assert lr[0, 1:-1].tolist() == [20 * i + 5 for i in range(1, 7)]
    area = degrade(np.array([[0, 2, 4, 8], [2, 4, 8, 8]], np.uint8), 2, "area")
    assert area.tolist() == [[2, 7]]  # (0+2+2+4)/4 = 2, (4+8+8+8)/4 = 7
    assert np.array_equal(degrade(ramp, 2, "bicubic"), np.asarray(Image.fromarray(ramp).resize((8, 2), Image.BICUBIC)))
    stripes = np.tile(np.array([0, 0, 0, 255, 255, 255], np.uint8), (6, 4))  # period 6: aliases at x2 sampling
    assert degrade(stripes, 2, "bicubic").std() < aliased_downscale(stripes, 2).std()  # antialiasing smooths


def set5(sr_data: Path) -> list[tuple[str, np.ndarray]]:
    """The Set5 HR images (uint8 RGB), each also with its first row and three columns cut: sizes that are
    not multiples of 2, 3 or 4 (e.g. 511 x 509), so the crop to a multiple is exercised too."""
    images = []
    for path in image_files(sr_data / "Set5"):
        hr = read_image(path)
        images += [(path.name, hr), (f"{path.name}[1:, 3:]", hr[1:, 3:])]
    return images


def opencv_resize(cv2: ModuleType, hr: np.ndarray, scale: int, flag: str) -> np.ndarray:
    """``cv2.resize`` by 1 / ``scale`` of ``hr`` cropped to a multiple of ``scale`` (the protocols' crop)."""
    hr = crop_to_multiple(hr, scale)
    return cv2.resize(hr, (hr.shape[1] // scale, hr.shape[0] // scale), interpolation=getattr(cv2, flag))


def import_cv2() -> ModuleType:
    return pytest.importorskip("cv2", reason="OpenCV is the benchmark extra (pip install 'edgeconv[bench]')")


# (taps, OpenCV flag, scale, exact): INTER_CUBIC's 11-bit fixed-point weights round one 8-bit level
# differently on < 1 % of pixels at x2 and x4; at x3 the sample points (3i + 1) fall on pixel centres
# (weights 0, 1, 0, 0), and INTER_LINEAR's midpoints (x2: OpenCV's area path; x4) and centres round exactly.
ALIASED_CASES = [("cubic", "INTER_CUBIC", 2, False), ("cubic", "INTER_CUBIC", 3, True),
                 ("cubic", "INTER_CUBIC", 4, False), ("linear", "INTER_LINEAR", 2, True),
                 ("linear", "INTER_LINEAR", 3, True), ("linear", "INTER_LINEAR", 4, True)]


@pytest.mark.parametrize(("taps", "flag", "scale", "exact"), ALIASED_CASES)
def test_aliased_downscale_matches_opencv_on_set5(sr_data: Path, taps: str, flag: str, scale: int,
                                                  exact: bool) -> None:
    cv2 = import_cv2()
    for name, hr in set5(sr_data):
        ours = aliased_downscale(hr, scale, taps).astype(int)
        theirs = opencv_resize(cv2, hr, scale, flag).astype(int)
        assert ours.shape == theirs.shape == (hr.shape[0] // scale, hr.shape[1] // scale, 3), name
        diff = np.abs(ours - theirs)
        if exact:
            assert diff.max() == 0, f"{name}: {int((diff > 0).sum())} pixels differ"
        else:
            assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (name, int(diff.max()), float((diff > 0).mean()))
        protocol = "cubic-aliased" if taps == "cubic" else "bilinear"
        np.testing.assert_array_equal(degrade(hr, scale, protocol), ours.astype(np.uint8), err_msg=name)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_area_matches_opencv_inter_area_on_set5(sr_data: Path, scale: int) -> None:
    """The block mean is OpenCV's exactly, except an exact half (block sum = k * s^2 + s^2 / 2): we round it
    up; OpenCV rounds it up at x2 (its integer x2 path) and to even elsewhere, so at x4 it is one level lower
    on odd ``k``. x3 has no halves (9 is odd)."""
    cv2 = import_cv2()
    for name, hr in set5(sr_data):
        ours = degrade(hr, scale, "area").astype(int)
        theirs = opencv_resize(cv2, hr, scale, "INTER_AREA").astype(int)
        assert ours.shape == theirs.shape, name
        cropped = crop_to_multiple(hr, scale).astype(int)
        h, w = ours.shape[:2]
        sums = cropped.reshape(h, scale, w, scale, 3).sum(axis=(1, 3))
        half = scale * scale / 2
        tie = sums % (scale * scale) == half
        assert np.array_equal(ours, np.floor(sums / (scale * scale) + 0.5)), name  # the block mean, halves up
        assert np.array_equal(ours[~tie], theirs[~tie]), name
        if scale == 2:
            assert np.array_equal(ours, theirs), name
        else:
            np.testing.assert_array_equal(theirs[tie], np.round(sums[tie] / (scale * scale)), err_msg=name)


def test_weighted_mixture_spec_parses_and_draws_by_weight(photo: np.ndarray) -> None:
    from edgeconv.runtime.imaging.degradations import mixture_weights

    assert mixture_weights("bicubic") is None
    assert mixture_weights("mixed") == {**dict.fromkeys(PROTOCOLS, 1.0), "h264": 0.0}  # video: only when named
    assert mixture_weights("mixed:cubic-aliased=3, noise=0.5") == {**dict.fromkeys(PROTOCOLS, 1.0), "h264": 0.0,
                                                                   "cubic-aliased": 3.0, "noise": 0.5}
    for bad, message in (("mixed:sharp=2", "bad mixture part 'sharp=2'"), ("mixed:noise=-1", "bad mixture part"),
                         ("mixed:noise=x", "bad mixture part"),
                         ("mixed:" + ",".join(f"{p}=0" for p in PROTOCOLS), "every protocol weight 0")):
        with pytest.raises(UsageError, match=message):
            degrade(photo, 2, bad, np.random.default_rng(0))
    only_aliased = "mixed:" + ",".join(f"{p}=0" for p in PROTOCOLS if p != "cubic-aliased")
    np.testing.assert_array_equal(degrade(photo, 2, only_aliased, np.random.default_rng(3)),
                                  aliased_downscale(photo, 2, "cubic"))
    # plain "mixed" draws its protocol as runs before weights existed did (checkpoints stay reproducible)
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(degrade(photo, 2, "mixed", a), degrade(photo, 2, PROTOCOLS[int(b.integers(7))], b))


def test_h264_protocol_is_one_coded_frame_of_the_bicubic_lr(sr_data: Path) -> None:
    pytest.importorskip("av", reason="the h264 protocol needs PyAV (edgeconv[video])")
    from edgeconv.runtime.imaging.degradations import degrade, h264_frame, scored_protocols

    hr = read_image(sr_data / "Set5" / "baby.png")[:101, :99]
    lr, bicubic = degrade(hr, 2, "h264"), degrade(hr, 2, "bicubic")
    assert lr.shape == bicubic.shape == (50, 49, 3) and np.array_equal(lr, degrade(hr, 2, "h264"))
    mse = np.mean((lr.astype(float) - bicubic) ** 2)
    assert 0 < mse < 255**2 / 10**2.5  # coded (not the same pixels), and close (PSNR > 25 dB)
    assert np.mean((h264_frame(bicubic, 40).astype(float) - bicubic) ** 2) > mse  # a higher CRF loses more
    assert degrade(hr[..., 0], 3, "h264").shape == (33, 33)
    assert scored_protocols("mixed:cubic-aliased=6") == scored_protocols("bicubic") and \
        "h264" not in scored_protocols("mixed")
    assert scored_protocols("mixed:h264=2")[-1] == "h264" and scored_protocols("h264")[-1] == "h264"

