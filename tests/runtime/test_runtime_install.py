"""The Raspberry Pi / Jetson path: `pip install edgeconv` (no extras, no torch), copy a model, run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).parents[2]


@pytest.mark.slow
def test_runtime_only_install_runs_an_exported_model(default_onnx: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], capture_output=True, text=True,
                         timeout=900)
    if pip.returncode != 0 and "No matching distribution" in pip.stderr:
        pytest.skip(f"the package registry is not reachable from here: {pip.stderr.strip()[-200:]}")
    assert pip.returncode == 0, pip.stderr[-2000:]
    python, edgeconv = venv / "bin" / "python", venv / "bin" / "edgeconv"
    no_torch = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True)
    assert no_torch.returncode != 0  # the base install brings no torch
    device = tmp_path / "device"  # "copy the model there"
    device.mkdir()
    model = device / "sr.onnx"
    model.write_bytes(default_onnx.read_bytes())
    Image.new("RGB", (40, 30), (120, 30, 200)).save(device / "in.png")
    up = subprocess.run([str(edgeconv), "upscale", str(device / "in.png"), str(device / "out.png"),
                         "--model", str(model)],
                        capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr
    with Image.open(device / "out.png") as img:
        assert img.size == (80, 60)
    shipped = subprocess.run([str(edgeconv), "upscale", str(device / "in.png")], capture_output=True, text=True,
                             timeout=300)  # the default model ships in the wheel; output beside the input
    assert shipped.returncode == 0 and "in_x2.png" in shipped.stdout, shipped.stderr
    with Image.open(device / "in_x2.png") as img:
        assert img.size == (80, 60)
    prof = subprocess.run([str(edgeconv), "profile", str(model), "--threads", "1", "--size", "16x16", "--runs", "2",
                           "-o", str(device / "p.json")], capture_output=True, text=True, timeout=300)
    assert prof.returncode == 0, prof.stderr
    doctor = subprocess.run([str(edgeconv), "doctor"], capture_output=True, text=True, timeout=120)
    assert doctor.returncode == 0 and "runtime-only install" in doctor.stdout
