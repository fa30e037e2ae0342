"""Which shipped file ONNX Runtime loads is measured per machine (``backends.ort_form``): timed once, cached, used.

Injected timings for the choice and the cache; one real measurement of the shipped 8-bit forms; the CLI on a seeded
cache (ONNX Runtime picked, its PReLU file measured faster) running that file, with no note against it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.fastest import Timings, fastest_backend, installed_backends
from edgeconv.runtime.backends.ort_form import CACHED, MEASURED_NOW, faster_ort_form, shipped_forms
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.imaging.sr_runner import load_model
from edgeconv.runtime.imaging.upscale import DecodedImage, upscale_image
from edgeconv.runtime.shipped_models import resolve_model, shipped_path
from tests.conftest import run_cli, run_python_snippet


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty measurement cache of this test's own."""
    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "backends.json"


def timings(ms: dict[str, float], calls: list[str] | None = None):  # noqa: ANN201 - a FormTimer
    """A timer answering ``ms`` (file name -> ms) and recording which files it was asked to time."""
    def timer(contestants, options, on_status) -> Timings:  # noqa: ANN001 - the FormTimer signature
        if calls is not None:
            calls.extend(contestants)
        assert options.byte_output  # the 8-bit forms must be allowed to load
        return Timings(dict(ms))
    return timer


def test_the_faster_file_is_picked_and_cached(cache: Path) -> None:
    prelu, mul_max = shipped_forms("photo", 2, video=False)
    calls: list[str] = []
    pick = faster_ort_form(prelu, mul_max, timer=timings({prelu.name: 44.6, mul_max.name: 47.9}, calls))
    assert pick.file == prelu and pick.how == MEASURED_NOW and sorted(calls) == sorted([prelu.name, mul_max.name])
    assert pick.line() == ("ONNX Runtime form: sr_x2_photo.u8.onnx (faster here: 44.6 ms vs sr_x2_photo.u8.ort.onnx "
                           "47.9 ms per 640x360 frame, measured now, cached)")
    entry = next(iter(json.loads(cache.read_text()).values()))
    assert entry["file"] == prelu.name and entry["median_ms"] == {prelu.name: 44.6, mul_max.name: 47.9}
    again = faster_ort_form(prelu, mul_max, timer=lambda *a: pytest.fail("timed again"))
    assert again.file == prelu and again.how == CACHED and "cached)" in again.line()


def test_a_tie_keeps_the_shipped_default_and_nothing_running_says_why(cache: Path) -> None:
    prelu, mul_max = shipped_forms("bicubic", 3, video=True)
    assert (prelu.name, mul_max.name) == ("sr_x3_bicubic.y.onnx", "sr_x3_bicubic.y.ort.onnx")
    assert faster_ort_form(prelu, mul_max, timer=timings({prelu.name: 5.0, mul_max.name: 5.0})).file == mul_max
    cache.unlink()
    failed = faster_ort_form(prelu, mul_max, timer=lambda *a: Timings({}, {prelu.name: "boom", mul_max.name: "bang"}))
    assert failed.file == mul_max and "neither file ran in the measurement" in failed.line() and "boom" in failed.line()
    assert not cache.exists()  # nothing cached: the next run measures again


def test_other_bytes_are_measured_again(cache: Path, tmp_path: Path) -> None:
    """The key holds both files' SHA-256: a changed file is a new measurement."""
    prelu, mul_max = (Path(shutil.copy(p, tmp_path / p.name)) for p in shipped_forms("photo", 2, video=False))
    faster_ort_form(prelu, mul_max, timer=timings({prelu.name: 1.0, mul_max.name: 2.0}))
    shutil.copy(shipped_forms("bicubic", 2, video=False)[0], prelu)  # other weights under the same name
    calls: list[str] = []
    assert faster_ort_form(prelu, mul_max, timer=timings({prelu.name: 3.0, mul_max.name: 2.0}, calls)).file == mul_max
    assert calls and len(json.loads(cache.read_text())) == 2


def test_a_real_measurement_times_both_files(cache: Path) -> None:
    prelu, mul_max = shipped_forms("photo", 2, video=False)
    pick = faster_ort_form(prelu, mul_max, BackendOptions(threads=1))
    assert set(pick.median_ms) == {prelu.name, mul_max.name} and all(ms > 0 for ms in pick.median_ms.values())
    assert pick.file == min((prelu, mul_max), key=lambda p: (pick.median_ms[p.name], p != mul_max))


def test_shipped_forms_of_a_file_or_unknown_name_are_none() -> None:
    assert shipped_forms("grainy", 2, video=False) is None
    assert shipped_forms(str(shipped_path("photo", 2)), 2, video=False) is None  # a path is run as given


@pytest.mark.skipif(len(installed_backends()) < 2, reason="OpenVINO is not installed: ONNX Runtime is not a pick")
def test_upscale_runs_the_file_measured_faster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeded: ONNX Runtime is the fastest back end and its PReLU file the faster form; `upscale` runs that file
    (its pixels), prints both lines, and no note that the other file would be faster."""
    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(tmp_path / "cache"))
    files = {name: resolve_model("photo", str(name)) for name in installed_backends()}
    fastest_backend(files, timer=lambda *a: Timings({"onnxruntime": 10.0, "openvino": 20.0}))
    prelu, mul_max = shipped_forms("photo", 2, video=False)
    faster_ort_form(prelu, mul_max, timer=timings({prelu.name: 1.0, mul_max.name: 2.0}))
    src = tmp_path / "in.png"
    pixels = (np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(src)
    done = run_cli("upscale", str(src), str(tmp_path / "out.png"))
    assert done.returncode == 0, done.stderr
    assert "back end: onnxruntime (fastest here" in done.stderr
    assert ("ONNX Runtime form: sr_x2_photo.u8.onnx (faster here: 1.0 ms vs sr_x2_photo.u8.ort.onnx 2.0 ms"
            in done.stderr)
    assert "note:" not in done.stderr
    model = load_model(BackendName.ONNXRUNTIME, shipped_path("photo", 2), BackendOptions(threads=1), tiled=False)
    expected = upscale_image(model.run, model.facts, DecodedImage(pixels, None, "RGB"), 0, 0, None, model.run_bytes)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), np.asarray(expected))


def test_settings_load_the_form_they_are_given(tmp_path: Path) -> None:
    """``onnxruntime_form`` picks the file for images (whose 8-bit sibling follows it) and the Y-plane file for video;
    other back ends and model paths are untouched; anything but max/prelu is refused."""
    from edgeconv.errors import UsageError
    from edgeconv.runtime.imaging.upscale import UpscaleSettings

    src = tmp_path / "a.png"
    common = {"source": src, "model": "photo", "scale": 3}
    assert UpscaleSettings(**common, backend="onnxruntime").model_file.name == "sr_x3_photo.ort.onnx"
    prelu = UpscaleSettings(**common, backend="onnxruntime", onnxruntime_form="prelu")
    assert prelu.model_file.name == "sr_x3_photo.onnx" and Path(prelu.video_model).name == "sr_x3_photo.y.onnx"
    assert UpscaleSettings(**common, backend="onnxruntime").video_model == "photo"  # resolve_video_model: .y.ort
    assert UpscaleSettings(**common, backend="openvino", onnxruntime_form="prelu").model_file.name == "sr_x3_photo.onnx"
    own = UpscaleSettings(source=src, model=str(shipped_path("bicubic", 2)), backend="onnxruntime",
                          onnxruntime_form="prelu")
    assert own.model_file == shipped_path("bicubic", 2) and own.video_model == str(shipped_path("bicubic", 2))
    with pytest.raises(UsageError, match="must be max or prelu"):
        UpscaleSettings(**common, onnxruntime_form="fast")


HIDE_OPENVINO = """
import importlib.util, sys
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] == "openvino" else real(name, *a)
sys.argv = ["edgeconv", "doctor"]
from edgeconv.cli.app import main
main()
"""


def test_doctor_on_an_onnx_runtime_only_install_shows_the_form(cache: Path) -> None:
    """With ONNX Runtime alone (OpenVINO hidden, as the runtime-only install), doctor says the form is measured by
    the first upscale, then shows the cached pick."""
    import os

    env = {**os.environ, "COLUMNS": "250"}
    before = run_python_snippet(HIDE_OPENVINO, env=env)
    assert before.returncode == 0, before.stderr
    text = " ".join(before.stdout.split())
    assert "the only CPU back end installed here" in text and "measured by the first upscale" in text
    prelu, mul_max = shipped_forms("photo", 2, video=False)
    faster_ort_form(prelu, mul_max, BackendOptions(), timer=timings({prelu.name: 1.5, mul_max.name: 2.5}))
    after = run_python_snippet(HIDE_OPENVINO, env=env)
    assert after.returncode == 0, after.stderr
    assert "ONNX Runtime form: sr_x2_photo.u8.onnx (faster here: 1.5 ms vs sr_x2_photo.u8.ort.onnx 2.5 ms" in \
        " ".join(after.stdout.split())
