"""`edgeconv validate` scores SR by the standard protocol, checked against an independent implementation.

The protocol (DESIGN.md, "SR degradations"): the whole HR image cropped to a multiple of the scale, LR by PIL's
antialiased bicubic downscale, the model's output rounded to 8 bits, PSNR on BT.601 Y of 8-bit RGB with a
border of ``scale`` pixels cropped, a grey image scored on its own values. ``standard_psnr_y`` below computes it
with PIL, numpy and onnxruntime only - none of the project's code - and ``validate``'s figure must match it to
0.01 dB on images larger than 512 px (where the old 512-px centre crop gave another figure) and on Set5.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_cli
from tests.runtime.sr_mosaics import write_mosaics

PHOTO = Path(__file__).resolve().parents[2] / "runtime" / "shipped" / "sr_x2_photo.onnx"
SCALE = 2


def standard_psnr_y(model: Path, folder: Path, scale: int, crop: int | None = None) -> float:
    """Mean PSNR-Y of an ONNX SR model (input NCHW RGB in [0, 1]) on every PNG of ``folder``, written from the
    protocol's definition; ``crop``: first a centre window of that side."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    scores = []
    for path in sorted(folder.glob("*.png")):
        hr_image = Image.open(path)
        hr_image = hr_image.convert("L" if hr_image.mode in ("L", "I;16") else "RGB")
        if crop is not None:
            w, h = hr_image.size
            left, top = max(0, (w - crop) // 2), max(0, (h - crop) // 2)
            hr_image = hr_image.crop((left, top, min(w, left + crop), min(h, top + crop)))
        w, h = hr_image.size
        hr_image = hr_image.crop((0, 0, w - w % scale, h - h % scale))  # bottom/right, as BasicSR's mod_crop
        lr_image = hr_image.resize((hr_image.width // scale, hr_image.height // scale), Image.BICUBIC)
        lr = np.asarray(lr_image.convert("RGB"), dtype=np.float32) / 255.0  # grey: the model sees it as RGB
        y = session.run(None, {"input": lr.transpose(2, 0, 1)[None]})[0][0]  # the whole image at once
        sr = np.clip(np.round(y * 255.0), 0, 255).transpose(1, 2, 0)  # 8-bit output, (H, W, 3)
        hr = np.asarray(hr_image, dtype=np.float64)
        if hr.ndim == 2:  # grey: its own values against the output's channel mean
            sr_y, hr_y = sr.mean(axis=2), hr
        else:
            weights = np.array([65.481, 128.553, 24.966]) / 255.0
            sr_y, hr_y = 16.0 + sr @ weights, 16.0 + hr @ weights
        b = scale
        mse = np.mean((sr_y[b:-b, b:-b] - hr_y[b:-b, b:-b]) ** 2)
        scores.append(10.0 * np.log10(255.0**2 / mse))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def mosaics(sr_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four T91 mosaics of ~600 x 520 (both sides over 512, none a multiple of 4; one grey)."""
    folder = tmp_path_factory.mktemp("mosaics")
    files = write_mosaics(sr_data / "T91", folder)
    for path in files:
        with Image.open(path) as img:
            assert min(img.size) > 512
    return folder


def validate_json(folder: Path, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "val.json"
    result = run_cli("validate", str(PHOTO), "--images", str(folder), "--backend", "onnxruntime", "--runs", "1",
                     "--warmup", "0", "--size", "16x16", "--json", str(out), "--force", *extra)
    assert result.returncode == 0, result.stderr
    return {**json.loads(out.read_text()), "stdout": result.stdout}


def test_validate_equals_the_standard_protocol_on_images_over_512_px(mosaics: Path, tmp_path: Path) -> None:
    """Must-show: whole images (tiled inside validate: LR 300 x 250 > its 256 tile) equal the protocol to 0.01 dB,
    and the figure names its images and protocol."""
    data = validate_json(mosaics, tmp_path)
    want = standard_psnr_y(PHOTO, mosaics, SCALE)
    assert data["rows"][0]["psnr_y_db"] == pytest.approx(want, abs=0.01)
    assert data["inputs"] == f"{mosaics.name} (4 images, whole, border 2, PSNR-Y, bicubic LR)"
    assert "(4 images, whole, border 2, PSNR-Y" in " ".join(data["stdout"].split())


def test_validate_equals_the_standard_protocol_on_set5(sr_data: Path, tmp_path: Path) -> None:
    data = validate_json(sr_data / "Set5", tmp_path)
    assert data["rows"][0]["psnr_y_db"] == pytest.approx(standard_psnr_y(PHOTO, sr_data / "Set5", SCALE), abs=0.01)
    assert data["inputs"] == "Set5 (5 images, whole, border 2, PSNR-Y, bicubic LR)"


def test_a_crop_only_when_asked_and_then_named(mosaics: Path, tmp_path: Path) -> None:
    """``--crop 512`` scores the centre 512-px windows (another figure on these images) and says so."""
    data = validate_json(mosaics, tmp_path, "--crop", "512")
    cropped = data["rows"][0]["psnr_y_db"]
    assert cropped == pytest.approx(standard_psnr_y(PHOTO, mosaics, SCALE, crop=512), abs=0.01)
    assert abs(cropped - standard_psnr_y(PHOTO, mosaics, SCALE)) > 0.02  # the test tells the two apart
    assert "(4 images, centre 512-px crop, border 2, PSNR-Y" in data["inputs"]
    assert "centre 512-px crop" in " ".join(data["stdout"].split())


def test_sr_peers_scores_with_the_library_not_a_copy(mosaics: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The peer benchmark's edgeconv figure is validate's (same pairs, same runner, same scorer); its peers get the
    very images the library makes."""
    pytest.importorskip("cv2", reason="benchmarks/sr_peers.py needs the bench extra (OpenCV)")
    from edgeconv.runtime.backends.registry import create_backend
    from edgeconv.runtime.validation.sr_eval import SRProtocol, sr_image_pairs, sr_validation_pairs

    spec = importlib.util.spec_from_file_location("sr_peers", Path(__file__).parents[2] / "benchmarks" / "sr_peers.py")
    sr_peers = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "sr_peers", sr_peers)  # its dataclasses look their module up
    spec.loader.exec_module(sr_peers)
    assert not hasattr(sr_peers, "lr_images") and not hasattr(sr_peers, "WHOLE_IMAGE")
    backend = create_backend("onnxruntime", PHOTO)
    got = sr_peers.score_edgeconv(backend, mosaics, "bicubic")["psnr_y"]
    assert got == pytest.approx(standard_psnr_y(PHOTO, mosaics, SCALE), abs=0.01)
    images = sr_image_pairs(mosaics, SRProtocol(SCALE), sr_peers.MAX_IMAGES)
    for image, pair in zip(images, sr_validation_pairs(mosaics, backend.facts), strict=True):
        assert np.array_equal(image.hr, pair.hr) and np.array_equal(backend.facts.to_input(image.lr), pair.lr_input)
