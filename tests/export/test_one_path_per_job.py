"""One library path per job: the pipeline's INT8 file is the quantize command's, and each job checks its settings."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.export.graph.from_checkpoint import ExportSettings, check_images
from edgeconv.export.pipeline import PipelineSettings
from edgeconv.export.quantization.settings import QuantizeSettings
from edgeconv.export.tuning.lowering_tune import TuneSettings
from edgeconv.runtime.imaging.upscale import UpscaleSettings
from edgeconv.runtime.model_facts import ModelFacts
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def photo_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(calibration, validation)`` folders of small real photographs (scikit-image), no file in both."""
    from skimage import data

    calib, val = tmp_path_factory.mktemp("calib"), tmp_path_factory.mktemp("val")
    Image.fromarray(data.astronaut()[:160, :160]).save(calib / "astronaut.png")
    Image.fromarray(data.chelsea()[:160, :160]).save(calib / "chelsea.png")
    Image.fromarray(data.rocket()[:160, :160]).save(calib / "rocket.png")
    Image.fromarray(data.coffee()[100:228, 200:360]).save(val / "coffee.png")
    Image.fromarray(data.astronaut()[:128, :160]).save(val / "astronaut.png")
    return calib, val


@pytest.mark.slow
def test_pipeline_int8_is_byte_identical_to_quantize(photo_folders: tuple[Path, Path], tmp_path: Path) -> None:
    """The pipeline writes INT8 through QuantizeJob with quantize's settings: the same bytes, <= 60 % of FP32."""
    calib, val = photo_folders
    out, again = tmp_path / "pipe", tmp_path / "quantized.int8.onnx"
    images = ["--calib", str(calib), "--images", str(val)]
    # two small crops score the budget: 0.2 dB (the photo model's INT8 drops ~0.11 dB on them) - the bytes are the point
    piped = run_cli("pipeline", "--out", str(out), *images, "--runs", "1", "--max-psnr-drop", "0.2")
    assert piped.returncode == 0, piped.stderr
    fp32, int8 = out / "model.fp32.onnx", out / "model.int8.onnx"
    quantized = run_cli("quantize", str(fp32), *images, "--max-psnr-drop", "0.2", "--method", "percentile",
                        "-o", str(again))
    assert quantized.returncode == 0, quantized.stderr
    assert int8.read_bytes() == again.read_bytes()
    assert int8.stat().st_size <= 0.6 * fp32.stat().st_size, (int8.stat().st_size, fp32.stat().st_size)


@pytest.mark.parametrize(("changes", "message"), [
    ({"precision": "int4"}, r"--precision \| unknown precision 'int4'"),
    ({"calib": None}, r"--calib \| int8 needs calibration images"),
    ({"max_psnr_drop": -1.0}, r"--max-psnr-drop \| must be >= 0 dB"),
    ({"max_psnr_drop": math.nan}, r"--max-psnr-drop \| must be >= 0 dB"),
    ({"max_psnr_drop": 0.1}, r"--images \| the accuracy budget needs validation images"),
    ({"precision": "auto"}, r"--images \| the accuracy budget needs validation images"),
    ({"max_calib_images": 0}, r"--max-calib-images \| must be >= 1, got 0"),
    ({"reduce_range": "maybe"}, r"--reduce-range \| unknown value 'maybe'"),
    ({"method": "median"}, r"--method \| unknown calibration 'median'"),
    ({"target": "riscv"}, r"--target \| unknown target 'riscv'"),
])
def test_quantize_settings_name_the_option(changes: dict, message: str, tmp_path: Path) -> None:
    settings = QuantizeSettings(tmp_path / "m.onnx", **{"calib": tmp_path, **changes})
    with pytest.raises(UsageError, match=message):
        settings.check()


def test_quantize_settings_defaults_and_pins(tmp_path: Path) -> None:
    settings = QuantizeSettings(tmp_path / "sr.onnx", calib=tmp_path, precision="auto", val=tmp_path)
    settings.check()
    assert settings.output_path == tmp_path / "sr.auto.onnx" and settings.budget_db == 0.1
    assert settings.pinned() == {}
    pinned = QuantizeSettings(tmp_path / "sr.onnx", reduce_range="on", weight_type="u8")
    assert pinned.pinned() == {"reduce_range": True, "weight_type": "u8"}
    assert pinned.int8_config().weight_type == "u8" and pinned.int8_config().method == "percentile"


def test_pipeline_settings_refuse_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"is not a folder of HR images"):
        PipelineSettings(out=tmp_path, val=tmp_path / "missing").check()
    with pytest.raises(UsageError, match=r"--max-psnr-drop \| must be >= 0 dB"):
        PipelineSettings(out=tmp_path, max_psnr_drop=-0.5).check()
    (tmp_path / "report.md").write_text("an earlier run")
    with pytest.raises(UsageError, match=r"report\.md \| already exists.*--force"):
        PipelineSettings(out=tmp_path).check()
    PipelineSettings(out=tmp_path, force=True).check()


def test_export_tune_and_upscale_settings(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--lowering \| unknown lowering 'gather'"):
        ExportSettings(tmp_path / "m.pt", lowering="gather").check()
    with pytest.raises(UsageError, match=r"m\.pt \| no such file"):  # one line, before the back-end pick hashes it
        ExportSettings(tmp_path / "m.pt").check()
    assert ExportSettings(tmp_path / "m.pt").output_path == tmp_path / "m.onnx"
    with pytest.raises(UsageError, match=r"--backend \| cannot tune for 'tensorrt' here"):
        TuneSettings(tmp_path / "m.pt", backend="tensorrt").check()
    with pytest.raises(UsageError, match=r"--runs \| runs must be >= 1"):
        TuneSettings(tmp_path / "m.pt", runs=0).check()
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    with pytest.raises(UsageError, match=r"--tile \| must be >= 0"):
        UpscaleSettings(tmp_path, tmp_path / "out", model, tile=-1).check()
    with pytest.raises(UsageError, match=r"does not exist"):
        UpscaleSettings(tmp_path / "nope.png", tmp_path / "out.png", model).check()
    with pytest.raises(UsageError, match=r"nope\.onnx \| does not exist\. Note: .*photo, bicubic"):
        UpscaleSettings(tmp_path, tmp_path / "out", tmp_path / "nope.onnx").check()
    with pytest.raises(UsageError, match=r"grainy \| does not exist"):
        UpscaleSettings(tmp_path, tmp_path / "out", "grainy").check()
    (tmp_path / "a.png").write_bytes(b"")
    assert UpscaleSettings(tmp_path / "a.png", tmp_path, model).output_file == tmp_path / "a.png"
    assert UpscaleSettings(tmp_path, tmp_path / "o", model).output_file is None
    # no target: beside the source, named by the (shipped, x2) model's scale
    assert UpscaleSettings(tmp_path / "a.png").resolve().output_file == tmp_path / "a_x2.png"
    assert UpscaleSettings(tmp_path / "a.png", model="bicubic").model_file.name == "sr_x2_bicubic.ort.onnx"
    openvino = UpscaleSettings(tmp_path / "a.png", model="bicubic", backend="openvino")
    assert openvino.model_file.name == "sr_x2_bicubic.onnx"
    assert UpscaleSettings(tmp_path).resolve().target == tmp_path.with_name(f"{tmp_path.name}_x2")


def test_export_check_images_default_to_photos_without_set5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Set5 beside the checkout: scikit-image's photos stand in (default_images), and the source says so."""
    pytest.importorskip("skimage", reason="scikit-image is the stand-in for Set5")
    monkeypatch.setenv("EDGECONV_SR_DATA", str(tmp_path / "no-shared-data"))
    images, source = check_images(ModelFacts(task="sr", scale=2), None, 64)
    assert len(images) == 5 and all(img.shape == (64, 64, 3) for img in images)
    assert "scikit-image photos" in source and "no Set5" in source
