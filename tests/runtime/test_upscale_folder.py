"""Folder runs past bad files, outputs that never collide, an empty source: through the real command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import run_cli


def _image(path: Path, seed: int) -> None:
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (16, 20, 3), dtype=np.uint8)).save(path)


def test_a_bad_file_is_listed_and_the_rest_are_written(default_onnx: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    _image(src / "a.png", 0)
    (src / "b.png").write_bytes(b"not a png")
    _image(src / "c.png", 1)
    done = run_cli("upscale", str(src), str(out), "--model", str(default_onnx))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    failed = [line for line in done.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "b.png" in failed[0]
    assert "1 file(s) could not be upscaled" in done.stderr


def test_inputs_differing_only_in_extension_get_distinct_outputs(default_onnx: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    _image(src / "butterfly.png", 0)
    _image(src / "butterfly.jpg", 1)
    _image(src / "bird.png", 2)
    assert run_cli("upscale", str(src), str(out), "--model", str(default_onnx)).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["bird.png", "butterfly_jpg.png", "butterfly_png.png"]
    assert run_cli("upscale", str(src / "butterfly.png"), "--model", str(default_onnx)).returncode == 0
    assert run_cli("upscale", str(src / "butterfly.jpg"), "--model", str(default_onnx)).returncode == 0
    assert (src / "butterfly_x2.png").is_file() and (src / "butterfly_x2.jpg").is_file()
    with Image.open(src / "butterfly_x2.jpg") as done:
        assert done.format == "JPEG" and done.size == (40, 32)


def test_empty_source_is_one_error_line(default_onnx: Path, tmp_path: Path) -> None:
    done = run_cli("upscale", "", str(tmp_path / "out.mp4"), "--model", str(default_onnx))
    assert done.returncode == 2 and "SOURCE | is empty" in done.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_scale_picks_the_shipped_model_of_that_scale(default_onnx: Path, tmp_path: Path) -> None:
    """``--scale 2`` is the default's file; x3/x4 are refused by name until they ship; a file must match."""
    from edgeconv.runtime.shipped_models import resolve_model, shipped_path

    src = tmp_path / "p.png"
    _image(src, 0)
    assert run_cli("upscale", str(src), "--scale", "2").returncode == 0 and (tmp_path / "p_x2.png").is_file()
    for scale in (3, 4):
        if shipped_path("photo", scale).is_file():  # once they ship: the file of that scale, named by it
            assert resolve_model("photo", "openvino", scale) == shipped_path("photo", scale)
            continue
        done = run_cli("upscale", str(src), str(tmp_path / f"x{scale}.png"), "--scale", str(scale))
        assert done.returncode == 2 and f"no x{scale} photo model ships" in done.stderr
    wrong = run_cli("upscale", str(src), str(tmp_path / "w.png"), "--model", str(default_onnx), "--scale", "3")
    assert wrong.returncode == 2 and "is an x2 model, not x3" in wrong.stderr
    assert run_cli("upscale", str(src), "--scale", "5").returncode == 2
