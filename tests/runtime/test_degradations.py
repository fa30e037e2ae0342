"""Degradation protocols: shapes, determinism, hand-computed values, and OpenCV's resize where installed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.degradations import PROTOCOLS, aliased_downscale, degrade


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[100:196, 150:270]  # 96 x 120 RGB, a multiple of 2, 3 and 4


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("grey", [False, True])
def test_every_protocol_gives_the_lr_shape_and_is_reproducible(photo: np.ndarray, protocol: str, grey: bool) -> None:
    hr = photo.mean(axis=2).astype(np.uint8) if grey else photo
    lr = degrade(hr, 2, protocol)
    assert lr.dtype == np.uint8 and lr.shape == (48, 60, *hr.shape[2:])
    assert np.array_equal(lr, degrade(hr, 2, protocol))  # scoring parameters are fixed
    assert abs(float(lr.mean()) - float(hr.mean())) < 3  # brightness kept


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


@pytest.mark.parametrize(("protocol", "flag", "scale"), [("cubic-aliased", "INTER_CUBIC", 2),
                                                        ("cubic-aliased", "INTER_CUBIC", 3),
                                                        ("bilinear", "INTER_LINEAR", 2), ("area", "INTER_AREA", 2)])
def test_matches_opencv_resize(photo: np.ndarray, protocol: str, flag: str, scale: int) -> None:
    cv2 = pytest.importorskip("cv2", reason="OpenCV is the benchmark extra (pip install 'edgeconv[bench]')")
    ours = degrade(photo, scale, protocol).astype(int)
    theirs = cv2.resize(photo, (photo.shape[1] // scale, photo.shape[0] // scale),
                        interpolation=getattr(cv2, flag)).astype(int)
    assert np.abs(ours - theirs).max() <= 1  # OpenCV's fixed-point rounding
    assert (ours != theirs).mean() < 0.01


def test_weighted_mixture_spec_parses_and_draws_by_weight(photo: np.ndarray) -> None:
    from edgeconv.runtime.imaging.degradations import mixture_weights

    assert mixture_weights("bicubic") is None
    assert mixture_weights("mixed") == dict.fromkeys(PROTOCOLS, 1.0)
    assert mixture_weights("mixed:cubic-aliased=3, noise=0.5") == {**dict.fromkeys(PROTOCOLS, 1.0),
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
