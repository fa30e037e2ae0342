"""A checkpoint whose conv ``variant`` this edgeconv does not know: one clear line from every command that loads it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeconv.models import create_model
from edgeconv.models.checkpoints.format import Checkpoint, save_checkpoint
from tests.bad_inputs.test_catalogue import assert_clean_failure
from tests.conftest import run_cli

MESSAGE = r"config does not fit model 'resnet18_cifar': conv variant 'dilated' is not one of plain, jitter-random"


@pytest.fixture()
def unknown_variant(tmp_path: Path) -> Path:
    """A well-formed resnet18_cifar checkpoint whose config names the conv variant 'dilated'."""
    model = create_model("resnet18_cifar", width=4, num_classes=10)
    config = {"num_classes": 10, "width": 4, "variant": "dilated"}
    return save_checkpoint(Checkpoint("resnet18_cifar", config, "cls", model.state_dict()), tmp_path / "dilated.pt")


@pytest.fixture()
def crops(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / "a.png")
    return folder


@pytest.mark.parametrize("command", ["info", "export", "erf", "train"])
def test_unknown_conv_variant_is_one_line_in_every_command(command: str, unknown_variant: Path, crops: Path,
                                                           tmp_path: Path) -> None:
    ckpt, out = str(unknown_variant), tmp_path / "out" / "result"
    out.parent.mkdir()
    args = {
        "info": ["info", ckpt],
        "export": ["export", ckpt, "-o", str(out)],
        "erf": ["erf", ckpt, "--images", str(crops), "--count", "1", "--crop", "32", "--out", str(out.parent)],
        "train": ["train", "cls", "--dataset", "folder", "--data", str(tmp_path / "classes"), "--model",
                  "resnet18_cifar", "--resume", ckpt, "--steps", "2", "-o", str(out)],
    }[command]
    if command == "train":  # a folder dataset to resume on: the checkpoint fails, not the data
        for name in ("a", "b"):
            (tmp_path / "classes" / name).mkdir(parents=True)
            Image.open(crops / "a.png").save(tmp_path / "classes" / name / "x.png")
    written = out.parent / "erf.json" if command == "erf" else out
    assert_clean_failure(run_cli(*args), 2, re.escape(ckpt) + r" \| " + MESSAGE, written)
