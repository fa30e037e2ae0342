"""The shared validator: same table for FP32 and INT8 on every back end, gates that catch a broken INT8."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from PIL import Image

from edgeconv.export.quantization.calibration import calibration_feeds
from edgeconv.export.quantization.ptq import Int8Config, quantize_int8
from edgeconv.export.quantization.schemes import choose_scheme
from edgeconv.models.checkpoints.shipped import DEFAULT_CHECKPOINT
from edgeconv.runtime.cpu.int8_targets import native_target
from edgeconv.runtime.imaging.degradations import PROTOCOLS
from edgeconv.runtime.model_facts import read_model_facts
from tests.bad_inputs.test_catalogue import assert_refused_choice
from tests.conftest import run_cli

PHOTO_SIZE = (128, 160)  # the `photos` fixture's crops (tests/runtime/conftest.py): astronaut, coffee


@pytest.fixture(scope="module")
def int8_models(default_onnx: Path, photos: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A good INT8 model and a broken one (a weight scale 1000x off: it runs, its images are wrong)."""
    folder = tmp_path_factory.mktemp("int8")
    feeds = calibration_feeds(photos, read_model_facts(default_onnx), "input", crop=64)
    fp32 = onnx.load(default_onnx)  # the scheme `edgeconv quantize` picks on this CPU (its bound follows from it)
    scheme = choose_scheme(fp32, feeds, Int8Config(), native_target()[0], peak=1.0).scheme
    good = quantize_int8(fp32, feeds, Int8Config().with_scheme(scheme))
    for p in onnx.load(default_onnx).metadata_props:
        good.metadata_props.add(key=p.key, value=p.value if p.key != "edgeconv.precision" else "int8")
    onnx.save(good, folder / "good.int8.onnx")
    scale = next(t for t in good.graph.initializer if t.name == "body.3.weight_scale")  # the tail conv
    scale.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(scale) * 1000, scale.name))
    onnx.save(good, folder / "broken.int8.onnx")
    return folder / "good.int8.onnx", folder / "broken.int8.onnx"


def test_validator_table_for_fp32_and_int8_on_every_backend(default_onnx: Path, int8_models: tuple[Path, Path],
                                                            photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "val.json"
    result = run_cli("validate", str(default_onnx), str(int8_models[0]), "--images", str(photos),
                     "--checkpoint", str(DEFAULT_CHECKPOINT), "--runs", "3", "--size", "32x48",
                     "--max-psnr-drop", "0.5", "--json", str(out), "--report", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["passed"] and data["reference"].startswith("PyTorch")
    rows = {(r["precision"], r["backend"]): r for r in data["rows"]}
    backends = {b for _, b in rows}
    assert "onnxruntime" in backends
    for backend in backends:
        fp32, int8 = rows[("fp32", backend)], rows[("int8", backend)]
        assert fp32["max_abs"] <= 1e-4
        # INT8 is a different model, within half a dB (on these photos it can even score a little higher)
        assert fp32["psnr_y_db"] != int8["psnr_y_db"] and abs(fp32["psnr_y_db"] - int8["psnr_y_db"]) < 0.5
        assert set(fp32["latency"]) >= {"p50", "p90", "p99", "mean", "std", "fps"}
    if {"onnxruntime", "openvino"} <= backends:  # the same table from both back ends
        for precision in ("fp32", "int8"):
            a, b = rows[(precision, "onnxruntime")], rows[(precision, "openvino")]
            assert abs(a["psnr_y_db"] - b["psnr_y_db"]) < 0.01
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| model |" in report and "PASS" in report
    if (tmp_path / "report" / "latency.png").exists():
        assert (tmp_path / "report" / "latency.png").read_bytes()[:4] == b"\x89PNG"


def test_gates_catch_an_int8_model_that_runs_but_is_broken(default_onnx: Path, int8_models: tuple[Path, Path],
                                                           photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "val.json"
    result = run_cli("validate", str(default_onnx), str(int8_models[1]), "--images", str(photos),
                     "--backend", "onnxruntime", "--runs", "2", "--size", "16x16",
                     "--max-psnr-drop", "0.5", "--json", str(out))
    assert result.returncode == 1
    assert "broken.int8.onnx on onnxruntime | PSNR-Y drop" in result.stderr and "Traceback" not in result.stderr
    data = json.loads(out.read_text())
    broken = next(r for r in data["rows"] if r["model"] == "broken.int8.onnx")
    assert broken["failures"] and broken["output_psnr_db"] < 30


def test_latency_and_atol_gates(default_onnx: Path, photos: Path) -> None:
    slow = run_cli("validate", str(default_onnx), "--images", str(photos), "--backend", "onnxruntime",
                   "--runs", "2", "--size", "64x64", "--max-latency-ms", "0.0001")
    assert slow.returncode == 1 and "p50" in slow.stderr
    ok = run_cli("validate", str(default_onnx), "--images", str(photos), "--backend", "onnxruntime",
                 "--runs", "2", "--size", "16x16", "--atol", "1e-4")
    assert ok.returncode == 0, ok.stderr


def test_validate_scores_a_grey_image_on_its_own_values(default_onnx: Path, tmp_path: Path) -> None:
    """The standard protocol (Set14's grey `bridge`): grey HR vs the mean of the output's RGB, not RGB luma."""
    import numpy as np
    import onnxruntime as ort
    from skimage import data

    folder = tmp_path / "grey"
    folder.mkdir()
    hr = data.camera()[100:196, 150:270]  # uint8 grey, 96 x 120 (a multiple of the scale)
    Image.fromarray(hr).save(folder / "camera.png")
    out = tmp_path / "val.json"
    result = run_cli("validate", str(default_onnx), "--images", str(folder), "--backend", "onnxruntime",
                     "--runs", "1", "--size", "16x16", "--json", str(out))
    assert result.returncode == 0, result.stderr

    # by hand: LR = PIL bicubic of the grey HR, repeated to RGB; output rounded to 8 bits; grey = channel mean
    lr = np.asarray(Image.fromarray(hr).resize((60, 48), Image.BICUBIC), dtype=np.float32) / 255.0
    x = np.repeat(lr[None, None], 3, axis=1)
    session = ort.InferenceSession(str(default_onnx), providers=["CPUExecutionProvider"])
    y = session.run(None, {"input": x})[0][0]
    sr = np.round(np.clip(y, 0, 1) * 255.0) / 255.0
    grey = sr.mean(axis=0)[2:-2, 2:-2] * 255.0
    want = 10 * np.log10(255.0**2 / np.mean((grey - hr[2:-2, 2:-2].astype(np.float64)) ** 2))
    luma = 16.0 + np.tensordot([65.481, 128.553, 24.966], sr, axes=1)[2:-2, 2:-2]  # the old, RGB reading
    as_rgb = 10 * np.log10(255.0**2 / np.mean((luma - (16 + 219 * hr[2:-2, 2:-2] / 255.0)) ** 2))
    got = json.loads(out.read_text())["rows"][0]["psnr_y_db"]
    assert got == pytest.approx(want, abs=1e-4)
    assert abs(got - as_rgb) > 0.05  # the two readings differ: the test can tell which one ran


def test_backend_all_skips_a_backend_that_refuses_the_model(default_onnx: Path, photos: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``--backend all`` notes and skips a refusing back end; naming that back end fails with its reason."""
    from edgeconv.errors import BackendRefusal
    from edgeconv.runtime.backends import registry
    from edgeconv.runtime.validation import job

    real = job.create_backend

    def create(name: str, model: Path, options=None):  # noqa: ANN001, ANN202
        if name == "openvino":
            raise BackendRefusal(str(model), "computes this model wrong here", "use onnxruntime")
        return real(name, model, options)

    monkeypatch.setattr(registry, "backend_status", lambda: [("onnxruntime", True, ""), ("openvino", True, "")])
    monkeypatch.setattr(job, "create_backend", create)
    notes: list[str] = []
    settings = job.ValidationSettings([default_onnx], images=photos, runs=1, warmup=0, latency_hw=(16, 16))
    result = job.run_validation(settings, notes.append)
    assert result and [r.backend for r in result.rows] == ["onnxruntime"]
    assert notes == [f"skipped: {default_onnx} | computes this model wrong here. Note: use onnxruntime"]
    settings.backends = ["openvino"]
    with pytest.raises(BackendRefusal, match="computes this model wrong here"):
        job.run_validation(settings)


def test_validate_runs_without_torch_and_a_checkpoint_falls_back_to_onnx(default_onnx: Path, photos: Path,
                                                                         tmp_path: Path) -> None:
    """The job is torch-free: with torch blocked, ``--checkpoint`` says so and the FP32 ONNX model is the reference."""
    from tests.runtime.test_no_torch import run_without_torch

    out = tmp_path / "val.json"
    code = (
        "from edgeconv.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        f"res = CliRunner().invoke(app, ['validate', {str(default_onnx)!r}, '--images', {str(photos)!r},"
        f" '--backend', 'onnxruntime', '--checkpoint', {str(DEFAULT_CHECKPOINT)!r}, '--runs', '1',"
        f" '--size', '16x16', '--json', {str(out)!r}])\n"
        "assert res.exit_code == 0, res.output\n"
        "assert 'torch is not installed here' in res.output, res.output\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')"
    )
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(out.read_text())["reference"] == f"{default_onnx.name} (FP32, onnxruntime)"


def test_validate_without_images_or_shared_data_names_the_option(default_onnx: Path, tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.conftest import EDGECONV

    env = {**os.environ, "EDGECONV_SR_DATA": str(tmp_path / "no-shared-data")}
    result = subprocess.run([*EDGECONV, "validate", str(default_onnx), "--backend", "onnxruntime"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: --images | not given, and no Set5 beside the checkout" in result.stderr


def test_validate_scores_any_degradation_protocol(default_onnx: Path, photos: Path, tmp_path: Path) -> None:
    rows = {}
    for protocol in ("bicubic", "cubic-aliased"):
        out = tmp_path / f"{protocol}.json"
        result = run_cli("validate", str(default_onnx), "--images", str(photos), "--backend", "onnxruntime",
                         "--runs", "1", "--size", "16x16", "--degradation", protocol, "--json", str(out))
        assert result.returncode == 0, result.stderr
        rows[protocol] = json.loads(out.read_text())["rows"][0]["psnr_y_db"]
    assert abs(rows["bicubic"] - rows["cubic-aliased"]) > 0.1  # other LR images, the same scorer
    bad = run_cli("validate", str(default_onnx), "--images", str(photos), "--degradation", "sinc")
    assert_refused_choice(bad, "--degradation", "sinc", PROTOCOLS)  # typer names every protocol
