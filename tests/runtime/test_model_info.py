"""``edgeconv info MODEL.onnx``: an exported model described from the file alone (torch-free)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime.model_info import describe_onnx
from edgeconv.runtime.shipped_models import luma_plane_form, shipped_path


def test_a_shipped_y_plane_model_is_described() -> None:
    path = luma_plane_form(shipped_path("photo", 2))
    rows = describe_onnx(path)
    assert rows["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # shapes as a person writes them, not Python lists
    assert rows["input input"].startswith("batch x 1 x") and rows["output output"].startswith("batch x 1 x")
    assert not any(v.startswith("[") or "{'" in v for v in rows.values())
    assert rows["task"] == "sr" and rows["scale"] == "2" and rows["form"] == "luma-plane"
    assert "1 channel(s)" in rows["input"] and "INT8" not in rows


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(UsageError, match="bad.onnx | is not a readable ONNX model"):
        describe_onnx(bad)
    with pytest.raises(UsageError, match="does not exist"):
        describe_onnx(tmp_path / "missing.onnx")
