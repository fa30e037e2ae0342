"""On-device SR: receptive radius, tiled == whole image (hypothesis), image modes, folder resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from edgeconv.runtime.backends.registry import create_backend
from edgeconv.runtime.imaging.tiling import receptive_radius
from edgeconv.runtime.imaging.upscale import DecodedImage, upscale_image
from tests.conftest import EDGECONV, run_cli


@pytest.fixture(scope="module")
def runner(default_onnx: Path):  # noqa: ANN201
    return create_backend("onnxruntime", default_onnx)


def test_receptive_radius_of_known_stacks(tmp_path: Path) -> None:
    import torch
    from torch import nn

    from edgeconv.export.graph.trace import export_onnx

    for kernels, radius in (([3], 1), ([3, 3], 2), ([5, 3, 3], 4)):
        torch.manual_seed(0)
        layers: list[nn.Module] = []
        for k in kernels:
            layers += [nn.Conv2d(3, 3, k, padding=k // 2), nn.PReLU()]
        path = tmp_path / f"net{len(kernels)}.onnx"
        export_onnx(nn.Sequential(*layers).eval(), torch.rand(1, 3, 16, 16), path)
        model = create_backend("onnxruntime", path)
        assert receptive_radius(model.run, scale=1) == radius


def test_default_model_radius(runner) -> None:  # noqa: ANN001
    assert receptive_radius(runner.run, scale=2) == 4  # four 3x3 convs (the 5x5 bicubic skip: 2)


def upscaled_pixels(runner, image: np.ndarray, tile: int, overlap: int) -> np.ndarray:  # noqa: ANN001
    """What `edgeconv upscale` writes (upscale_image, the CLI's path), as an array; tile 0 = whole image."""
    mode = "I;16" if image.dtype == np.uint16 else ("L" if image.ndim == 2 else "RGB")
    return np.asarray(upscale_image(runner.run, runner.facts, DecodedImage(image, None, mode), tile, overlap))


@settings(max_examples=25, deadline=None)
@given(tile=st.integers(8, 72), extra=st.integers(0, 3), mode=st.sampled_from(["RGB", "L", "I;16"]))
def test_tiled_equals_whole_image(runner, tile: int, extra: int, mode: str) -> None:  # noqa: ANN001
    """Tiles with an overlap >= the receptive radius give the whole image's pixels (8/16-bit rounding aside)."""
    from skimage import data

    image = data.astronaut()[180:270, 200:317]  # 90 x 117, odd sizes on purpose
    if mode != "RGB":
        image = image.mean(axis=2).astype(np.uint8)
    if mode == "I;16":
        image = image.astype(np.uint16) * 257
    whole = upscaled_pixels(runner, image, 0, 0).astype(np.int64)
    tiled = upscaled_pixels(runner, image, tile, 5 + extra).astype(np.int64)
    assert tiled.shape == whole.shape == (180, 234, *image.shape[2:])
    assert np.abs(tiled - whole).max() <= 1  # float differences <= 1e-4 can flip a rounding
    assert (tiled != whole).mean() < 1e-3


def test_set5_tiled_equals_whole(runner, sr_data: Path) -> None:  # noqa: ANN001
    from edgeconv.runtime.imaging.images import read_image

    image = read_image(sr_data / "Set5" / "butterfly.png")
    whole = upscaled_pixels(runner, image, 0, 0).astype(np.int64)
    for tile in (32, 100, 255):
        assert np.abs(upscaled_pixels(runner, image, tile, 6).astype(np.int64) - whole).max() <= 1


def make_mode_images(folder: Path) -> dict[str, tuple[str, tuple[int, int]]]:
    """Images in every mode the issue lists; returns name -> (expected output mode, input W x H)."""
    from skimage import data

    rgb = data.astronaut()[:40, :56]
    Image.fromarray(rgb).convert("L").save(folder / "grey.png")
    Image.fromarray(rgb).convert("RGBA").save(folder / "rgba.png")
    Image.fromarray(rgb).convert("P").save(folder / "palette.png")
    Image.fromarray(data.camera()[:40, :56].astype(np.uint16) * 257).save(folder / "grey16.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(rgb[:1, :1]).save(folder / "one.png")
    rotated = Image.fromarray(rgb)
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    rotated.save(folder / "exif.jpg", exif=exif)
    return {
        "grey": ("L", (56, 40)), "rgba": ("RGBA", (56, 40)), "palette": ("RGB", (56, 40)),
        "grey16": ("I;16", (56, 40)), "cmyk": ("RGB", (56, 40)), "one": ("RGB", (1, 1)), "exif": ("RGB", (40, 56)),
    }


def test_every_image_mode_upscales(default_onnx: Path, tmp_path: Path) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    expected = make_mode_images(src)
    result = run_cli("upscale", str(src), str(dst), "--model", str(default_onnx), "--tile", "24")
    assert result.returncode == 0, result.stderr
    for name, (mode, (w, h)) in expected.items():
        with Image.open(dst / f"{name}.png") as img:
            assert img.mode == mode, name
            assert img.size == (2 * w, 2 * h), name
    with Image.open(dst / "rgba.png") as img:
        assert img.getchannel("A").getextrema() == (255, 255)


def test_single_file_refuses_overwrite(default_onnx: Path, tmp_path: Path, astronaut: np.ndarray) -> None:
    src, dst = tmp_path / "a.png", tmp_path / "a_x2.png"
    Image.fromarray(astronaut[:32, :32]).save(src)
    assert run_cli("upscale", str(src), str(dst), "--model", str(default_onnx)).returncode == 0
    again = run_cli("upscale", str(src), str(dst), "--model", str(default_onnx))
    assert again.returncode == 2 and "already exists" in again.stderr
    missing = run_cli("upscale", str(src), str(tmp_path / "nope" / "x.png"), "--model", str(default_onnx))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_upscale_defaults_to_the_shipped_photo_model_beside_the_input(tmp_path: Path, astronaut: np.ndarray) -> None:
    """``edgeconv upscale photo.png``: the shipped photo model, ``photo_x2.png`` beside it; ``-m bicubic`` differs."""
    src = tmp_path / "photo.png"
    Image.fromarray(astronaut[:40, :48]).save(src)
    result = run_cli("upscale", str(src))
    assert result.returncode == 0, result.stderr
    assert f"wrote {tmp_path / 'photo_x2.png'} (x2" in result.stdout
    assert run_cli("upscale", str(src), str(tmp_path / "b.png"), "-m", "bicubic").returncode == 0
    photo, bicubic = (np.asarray(Image.open(tmp_path / n), np.int16) for n in ("photo_x2.png", "b.png"))
    assert photo.shape == bicubic.shape == (80, 96, 3) and np.abs(photo - bicubic).max() > 2  # two different nets
    unknown = run_cli("upscale", str(src), str(tmp_path / "c.png"), "-m", "grainy")
    assert unknown.returncode == 2 and "grainy | does not exist" in unknown.stderr
    assert "photo, bicubic" in unknown.stderr


@pytest.mark.slow
def test_4k_upscale_peak_memory(default_onnx: Path, tmp_path: Path) -> None:
    """3840x2160 -> 7680x4320 in tiles, in a fresh process: peak RSS < 600 MB."""
    from skimage import data

    src = tmp_path / "uhd.png"
    Image.fromarray(data.astronaut()).resize((3840, 2160), Image.BICUBIC).save(src)
    cli = [*EDGECONV, "upscale", str(src), str(tmp_path / "uhd_x2.png"), "--model", str(default_onnx)]
    # a wrapper process runs the real CLI and reports its child's peak RSS (only that child is waited on)
    code = (
        "import resource, subprocess, sys\n"
        f"done = subprocess.run({cli!r}, capture_output=True, text=True)\n"
        "assert done.returncode == 0, done.stderr\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    peak_mb = float(result.stdout.strip().splitlines()[-1])
    with Image.open(tmp_path / "uhd_x2.png") as img:
        assert img.size == (7680, 4320)
    print(f"peak RSS of a 3840x2160 x2 upscale: {peak_mb:.0f} MB")
    assert peak_mb < 600, f"peak RSS {peak_mb:.0f} MB"
