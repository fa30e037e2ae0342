"""`edgeconv quantize`'s report: every figure names its images and protocol; no budget reads as none; no empty
columns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EDGECONV

PHOTO = Path(__file__).resolve().parents[2] / "runtime" / "shipped" / "sr_x2_photo.onnx"
CROPS = "128-px centre crops of T91"


def flat(text: str) -> str:
    """``text`` with every run of whitespace as one space (titles wrap at their table's width)."""
    return " ".join(text.split())


def quantize(tmp_path: Path, sr_data: Path, *extra: str) -> tuple[str, dict]:
    """``edgeconv quantize`` of the shipped photo model on 16 T91 images: (stdout, JSON report); a table row is one
    line (a wide console), a title may wrap (``flat``)."""
    report = tmp_path / "report.json"
    env = {**os.environ, "COLUMNS": "400"}  # one table row per line: the cells are read whole
    result = subprocess.run([*EDGECONV, "quantize", str(PHOTO), "--calib", str(sr_data / "T91"),
                             "--max-calib-images", "16", "-o", str(tmp_path / "m.int8.onnx"), "--json", str(report),
                             *extra], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads(report.read_text())


def test_without_budget_every_figure_names_its_crops_and_no_column_is_empty(sr_data: Path, tmp_path: Path) -> None:
    out, report = quantize(tmp_path, sr_data)
    lines = out.splitlines()
    assert "precision (no --images: no PSNR-Y, no budget)" in flat(out)
    int8 = next(line for line in lines if "int8 (chosen)" in line)
    assert "yes" not in int8 and "NO" not in int8  # no budget: no "in budget yes"
    assert "output PSNR vs FP32" in int8 and f"(worst of the first 8 {CROPS})" in int8
    assert f"one figure pooled over 4 held-out {CROPS})" in flat(out)  # 16 crops: every 4th held out
    assert f"layer sensitivity on the first 8 {CROPS}" in flat(out)
    header = next(line for line in lines if "PyTorch module" in line)
    assert "drop alone" not in header and "kept FP32" not in header  # nothing measured in them without a budget
    assert report["psnr_y_on"] is None and report["output_vs_fp32_on"] == CROPS


def test_with_a_budget_psnr_figures_name_the_val_images_and_protocol(sr_data: Path, tmp_path: Path) -> None:
    val = tmp_path / "val"
    val.mkdir()
    for path in sorted((sr_data / "BSD200").glob("*.png"))[:2]:
        shutil.copy(path, val)
    out, report = quantize(tmp_path, sr_data, "--images", str(val), "--max-psnr-drop", "0.5")
    on = "val (2 images, whole, border 2, PSNR-Y, bicubic LR)"
    assert f"precision (PSNR-Y on {on}; budget 0.5 dB)" in flat(out)
    assert f"FP32 PSNR-Y on {on}: {report['fp32_psnr_y_db']:.3f} dB" in flat(out)
    int8 = next(line for line in out.splitlines() if "int8 (chosen)" in line)
    assert "yes" in int8
    assert report["psnr_y_on"] == on


@pytest.fixture(autouse=True)
def _shipped_model() -> None:
    if not PHOTO.is_file():
        pytest.skip(f"{PHOTO} is not in this checkout")
