"""``upscale`` and ``export`` without a back end use the one measured fastest here, and print it; ``--backend`` wins.

The cache is seeded with injected timings so each test knows the answer the CLI must give; one test lets the CLI
measure for real. Every run gets a cache folder of its own (``EDGECONV_CACHE_DIR``, inherited by the subprocess).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from edgeconv.runtime.backends.fastest import Timings, fastest_backend, installed_backends
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.shipped_models import resolve_model
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(len(installed_backends()) < 2, reason="OpenVINO is not installed: nothing to pick")


def injected(times: dict[str, float]):  # noqa: ANN201 - a Timer
    return lambda files, options, on_status: Timings(dict(times))


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray((np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)).save(path)
    return path


def seeded_cache(root: Path, monkeypatch: pytest.MonkeyPatch, times: dict[str, float]) -> Path:
    """A fresh cache where the shipped photo model's measurement says ``times``."""
    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(root))
    files = {name: resolve_model("photo", str(name)) for name in installed_backends()}
    fastest_backend(files, timer=injected(times))
    return root / "backends.json"


@pytest.mark.parametrize(("times", "chosen", "other"), [
    ({"onnxruntime": 36.7, "openvino": 19.0}, "openvino", "onnxruntime 36.7 ms"),
    ({"onnxruntime": 19.0, "openvino": 36.7}, "onnxruntime", "openvino 36.7 ms"),
])
def test_upscale_without_backend_uses_and_prints_the_cached_fastest(
        times: dict[str, float], chosen: str, other: str, image: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seeded_cache(tmp_path / "cache", monkeypatch, times)
    done = run_cli("upscale", str(image), str(tmp_path / "out.png"))
    assert done.returncode == 0, done.stderr
    assert f"back end: {chosen} (fastest here: 19.0 ms vs {other} per 640x360 frame, measured " in done.stderr
    assert "cached)" in done.stderr
    assert f"x2, {chosen}," in done.stdout  # and it is the back end that ran


def test_explicit_backend_wins_and_measures_nothing(image: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cache = seeded_cache(tmp_path / "cache", monkeypatch, {"onnxruntime": 36.7, "openvino": 19.0})
    before = cache.read_text()
    done = run_cli("upscale", str(image), str(tmp_path / "out.png"), "--backend", "onnxruntime")
    assert done.returncode == 0, done.stderr
    assert "back end:" not in done.stderr and "x2, onnxruntime," in done.stdout
    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(tmp_path / "empty"))
    assert run_cli("upscale", str(image), str(tmp_path / "o2.png"), "--backend", "openvino").returncode == 0
    assert not (tmp_path / "empty").exists() and cache.read_text() == before


def test_upscale_measures_once_when_nothing_is_cached(image: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(tmp_path / "cache"))
    first = run_cli("upscale", str(image), str(tmp_path / "a.png"))
    assert first.returncode == 0, first.stderr
    assert "measured now, cached in" in first.stderr and (tmp_path / "cache" / "backends.json").is_file()
    chosen = first.stderr.split("back end: ")[1].split(" ")[0]
    assert f"x2, {chosen}," in first.stdout
    second = run_cli("upscale", str(image), str(tmp_path / "b.png"))
    assert f"back end: {chosen} (fastest here:" in second.stderr and "cached)" in second.stderr


@pytest.mark.parametrize(("times", "prelu"), [
    ({"onnxruntime": 36.7, "openvino": 19.0}, "prelu"),  # OpenVINO's form: PReLU kept, fused into the conv
    ({"onnxruntime": 19.0, "openvino": 36.7}, "max"),  # ONNX Runtime's: Mul + Max
])
def test_export_without_target_writes_the_fastest_back_ends_form(
        times: dict[str, float], prelu: str, image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgeconv.export.graph.from_checkpoint import ExportSettings
    from edgeconv.export.tuning.backend_pick import fastest_export_target
    from edgeconv.models.checkpoints.shipped import DEFAULT_CHECKPOINT

    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(tmp_path / "cache"))
    seeded = fastest_export_target(ExportSettings(checkpoint=DEFAULT_CHECKPOINT), timer=injected(times))
    out = tmp_path / "m.onnx"
    done = run_cli("export", str(DEFAULT_CHECKPOINT), "-o", str(out), "--images", str(image.parent))
    assert done.returncode == 0, done.stderr
    assert f"back end: {seeded.backend} (fastest here: 19.0 ms" in done.stderr and "cached)" in done.stderr
    props = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert props["edgeconv.prelu"] == prelu
    ops = {n.op_type for n in onnx.load(out).graph.node}
    assert ("PRelu" in ops) == (prelu == "prelu")
    assert seeded.backend == BackendName(min(times, key=times.get))


def test_doctor_shows_the_cached_pick_or_that_it_would_be_measured(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("COLUMNS", "250")  # one table row per line
    before = run_cli("doctor")
    assert before.returncode == 0, before.stderr
    text = " ".join(before.stdout.replace("│", " ").split())
    assert "default back end not yet photo model: not measured yet" in text
    assert not (tmp_path / "empty").exists()  # doctor never measures
    seeded_cache(tmp_path / "cache", monkeypatch, {"onnxruntime": 36.7, "openvino": 19.0})
    after = " ".join(run_cli("doctor").stdout.replace("│", " ").split())
    assert "default back end openvino photo model: fastest here: 19.0 ms vs onnxruntime 36.7 ms" in after
    assert "cached" in after
