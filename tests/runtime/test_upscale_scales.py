"""x3 and x4 through the user's path: a jpeg at every shipped scale, a folder at --scale 3, tiled == whole image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeconv.models.checkpoints.shipped import SCALED_CHECKPOINTS
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.registry import create_backend
from edgeconv.runtime.imaging.tiling import tile_overlap
from edgeconv.runtime.imaging.upscale import DecodedImage, upscale_image
from edgeconv.runtime.shipped_models import resolve_model
from tests.conftest import run_cli


def _photo(seed: int, size: tuple[int, int]) -> np.ndarray:
    from skimage import data

    crop = data.astronaut()[40 * seed : 40 * seed + size[0], 30 * seed : 30 * seed + size[1]]
    return np.ascontiguousarray(crop)


def test_a_folder_at_x3(tmp_path: Path) -> None:
    """`edgeconv upscale DIR OUT --scale 3 -m bicubic`: every image 3x its size, the x3 model named in the output."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(_photo(1, (50, 70))).save(src / "a.png")
    Image.fromarray(_photo(2, (41, 33))).convert("L").save(src / "b.png")
    done = run_cli("upscale", str(src), "-o", str(out), "--scale", "3", "-m", "bicubic", "--backend", "onnxruntime")
    assert done.returncode == 0, done.stderr
    assert Image.open(out / "a.png").size == (210, 150) and Image.open(out / "b.png").size == (99, 123)
    assert Image.open(out / "b.png").mode == "L" and "(x3, onnxruntime)" in done.stdout
    photo = run_cli("upscale", str(src / "a.png"), "-o", str(tmp_path / "p.png"), "--scale", "3",
                    "--backend", "onnxruntime")  # the default model, photo, at x3
    assert photo.returncode == 0 and Image.open(tmp_path / "p.png").size == (210, 150), photo.stderr
    runner = create_backend("onnxruntime", resolve_model("photo", "onnxruntime", 3), BackendOptions(threads=1))
    expected = upscale_image(runner.run, runner.facts, DecodedImage(_photo(1, (50, 70)), None, "RGB"), 256, 5)
    got = np.asarray(Image.open(tmp_path / "p.png"), np.int64)
    assert np.abs(got - np.asarray(expected, np.int64)).max() <= 1  # the x3 photo model, not bicubic's
    assert np.abs(got - np.asarray(Image.open(out / "a.png"), np.int64)).max() > 8


@pytest.mark.parametrize("tile", [16, 23, 40])
def test_tiled_equals_whole_at_x3(tile: int) -> None:
    model = resolve_model("bicubic", "onnxruntime", 3)
    runner = create_backend("onnxruntime", model, BackendOptions(threads=1))
    image = DecodedImage(_photo(1, (61, 77)), None, "RGB")
    whole = np.asarray(upscale_image(runner.run, runner.facts, image, 0, 0), np.int64)
    tiled = np.asarray(upscale_image(runner.run, runner.facts, image, tile, tile_overlap(runner.run, 3)), np.int64)
    assert whole.shape == tiled.shape == (183, 231, 3)
    assert np.abs(tiled - whole).max() <= 1 and (tiled != whole).mean() < 1e-3  # float order can flip a rounding


@pytest.mark.parametrize("scale", sorted({2} | {s for s, name in SCALED_CHECKPOINTS if name == "photo"}))
def test_a_jpeg_photo_at_every_shipped_scale(scale: int, tmp_path: Path) -> None:
    """`edgeconv upscale photo.jpg --scale S` (the default photo model of each shipped scale): photo_xS.jpg
    beside it, S times the size, the pixels of that scale's model run as a library call."""
    photo = tmp_path / "photo.jpg"
    Image.fromarray(_photo(1, (45, 64))).save(photo, quality=90)
    done = run_cli("upscale", str(photo), "--scale", str(scale), "--backend", "openvino")
    out = tmp_path / f"photo_x{scale}.jpg"
    assert done.returncode == 0, done.stderr
    assert Image.open(out).size == (64 * scale, 45 * scale) and f"(x{scale}, openvino" in done.stdout
    exact = run_cli("upscale", str(photo), "--scale", str(scale), "--backend", "openvino", "-o",
                    str(tmp_path / "exact.png"))  # lossless, to compare pixels
    assert exact.returncode == 0, exact.stderr
    runner = create_backend("openvino", resolve_model("photo", "openvino", scale), BackendOptions(threads=1))
    expected = upscale_image(runner.run, runner.facts, DecodedImage(np.asarray(Image.open(photo)), None, "RGB"), 0, 0)
    gap = np.abs(np.asarray(Image.open(tmp_path / "exact.png"), np.int16) - np.asarray(expected, np.int16))
    assert gap.max() <= 1 and (gap > 0).mean() < 1e-3  # photo's pixels (bicubic's differ by 0.5 on average)
