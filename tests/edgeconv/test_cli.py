"""The CLI through a real subprocess (exit codes, one-line errors) and through CliRunner."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EDGECONV, run_cli


def test_help_lists_commands_with_an_example() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "pipeline" in result.stdout and "Example: edgeconv pipeline -o out/demo" in result.stdout
    assert " demo " not in result.stdout  # one command per job: `make demo` runs `pipeline`


def test_bad_option_value_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = run_cli("validate", str(tmp_path / "missing.onnx"), "--runs", "0")
    assert result.returncode == 2
    assert "--runs | runs must be >= 1" in result.stderr
    assert "Traceback" not in result.stderr


def _image_tree(root: Path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, base in (("banded", 40), ("dotted", 200)):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.clip(rng.normal(base, 30, (40, 48, 3)), 0, 255).astype("uint8")).save(
                root / cls / f"{i}.png"
            )


def test_train_cls_on_an_image_folder_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    from edgeconv.models.checkpoints.format import load_checkpoint

    _image_tree(tmp_path / "data")
    out = tmp_path / "tex.pt"
    result = run_cli(
        "train", "cls", "--data", str(tmp_path / "data"), "--val", str(tmp_path / "data"), "--dataset", "folder",
        "--model", "texture_resnet18", "--variant", "shiftwise-rotational", "--model-config", '{"width": 8}',
        "--steps", "4", "--val-every", "2", "--batch-size", "4", "--threads", "1", "-o", str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "best val accuracy" in result.stdout
    ckpt = load_checkpoint(out)
    assert ckpt.config["num_classes"] == 2 and ckpt.config["variant"] == "shiftwise-rotational"


def test_train_sr_rejects_a_bad_scale_and_an_empty_folder(tmp_path: Path) -> None:
    bad_scale = run_cli("train", "sr", "--data", str(tmp_path), "-o", str(tmp_path / "m.pt"), "--scale", "5")
    assert bad_scale.returncode == 2 and "--scale | must be 2, 3 or 4, got 5." in bad_scale.stderr
    empty = run_cli("train", "sr", "--data", str(tmp_path), "-o", str(tmp_path / "m.pt"), "--steps", "2")
    assert empty.returncode == 2
    assert f"{tmp_path} | holds no images." in empty.stderr and "Traceback" not in empty.stderr
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.slow  # `make demo` runs the same job
def test_pipeline_main_job_end_to_end(tmp_path: Path) -> None:
    """`edgeconv pipeline` with no Set5: export -> INT8 in budget -> validate -> report + sample image."""

    out = tmp_path / "pipe"
    env = {**os.environ, "EDGECONV_SR_DATA": str(tmp_path / "no-shared-data")}
    result = subprocess.run([*EDGECONV, "pipeline", "--out", str(out), "--runs", "2", "--max-psnr-drop", "0.3"],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert "PSNR-Y" in result.stdout and "int8" in result.stdout  # the table comes last
    data = json.loads((out / "validation.json").read_text())
    assert {r["precision"] for r in data["rows"]} == {"fp32", "int8"} and data["passed"]
    assert all(r["max_abs"] <= 1e-4 for r in data["rows"] if r["precision"] == "fp32")
    for name in ("model.fp32.onnx", "model.int8.onnx", "report.md", "astronaut_x2.png"):
        assert (out / name).is_file(), name
    again = subprocess.run([*EDGECONV, "pipeline", "--out", str(out)], capture_output=True, text=True, env=env)
    assert again.returncode == 2 and "already exists" in again.stderr
