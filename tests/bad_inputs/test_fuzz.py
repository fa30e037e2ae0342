"""Random bytes and random small images fed to upscale, validate and export: never a traceback.

Runs the commands in-process (typer's CliRunner) so hypothesis can try many inputs quickly; the
only exceptions allowed to reach the CLI's handler are ``EdgeConvError`` (printed as one line) and
the usage exit of the argument parser.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from edgeconv.cli.app import app
from edgeconv.errors import EdgeConvError

RUNNER = CliRunner()
MODES = ["RGB", "L", "RGBA", "P", "CMYK", "I;16", "LA", "1"]


def assert_no_traceback(args: list[str]) -> None:
    result = RUNNER.invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert isinstance(result.exception, EdgeConvError), (args, repr(result.exception))
        assert result.exception.one_line().count("\n") == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=600), suffix=st.sampled_from([".png", ".jpg", ".onnx", ".pt", ".tif"]))
def test_random_bytes_never_give_a_traceback(default_onnx: Path, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        junk = Path(tmp) / f"junk{suffix}"
        junk.write_bytes(data)
        out = Path(tmp) / "out"
        out.mkdir()
        assert_no_traceback(["upscale", str(junk), str(out / "o.png"), "--model", str(default_onnx)])  # as an image
        assert_no_traceback(["upscale", str(default_onnx), str(out / "o2.png"), "--model", str(junk)])  # as a model
        assert_no_traceback(["validate", str(junk), "--images", tmp, "--backend", "onnxruntime", "--runs", "1"])
        assert_no_traceback(["export", str(junk), "-o", str(out / "m.onnx")])  # as a checkpoint
        assert not list(out.glob(".*.tmp"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=st.integers(1, 24), w=st.integers(1, 24), mode=st.sampled_from(MODES), seed=st.integers(0, 2**16))
def test_random_small_images_upscale(default_onnx: Path, h: int, w: int, mode: str, seed: int) -> None:
    rgb = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    if mode == "I;16":  # (Pillow's point() into I;16 segfaults; build 16-bit from an array)
        image = Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257)
    else:
        image = image.convert(mode)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.png", Path(tmp) / "out.png"
        image.save(src) if mode != "CMYK" else image.save(src.with_suffix(".jpg"))
        src = src if mode != "CMYK" else src.with_suffix(".jpg")
        result = RUNNER.invoke(app, ["upscale", str(src), str(out), "--model", str(default_onnx), "--tile", "8"])
        assert result.exit_code == 0, (mode, h, w, repr(result.exception), result.output)
        with Image.open(out) as done:
            assert done.size == (2 * w, 2 * h)
        assert_no_traceback(["validate", str(default_onnx), "--images", tmp, "--backend", "onnxruntime",
                             "--runs", "1", "--size", "8x8"])
