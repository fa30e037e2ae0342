"""The per-back-end lowering choice and the one-call export built on it."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from edgeconv.errors import UsageError
from edgeconv.export.deploy_export import export_deployed
from edgeconv.export.lowering import DEFAULT_LOWERING, TABLE_PATH, lowering_for
from tests.conftest import build_op


def test_measured_table_drives_the_choice() -> None:
    table = json.loads(TABLE_PATH.read_text())
    assert table["source"].startswith("benchmarks/shift_ops.py")
    for backend, lowering in table["lowering"].items():
        assert lowering_for(backend) == lowering
    assert lowering_for(None) == DEFAULT_LOWERING


def test_unmeasured_backend_gets_the_slice_default() -> None:
    assert lowering_for("tensorrt") == "slice"


def test_unknown_backend_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"--target-backend \| unknown back end 'tflite'"):
        lowering_for("tflite")


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "tensorrt"])
def test_export_for_each_backend_matches_pytorch(backend: str, tmp_path) -> None:
    op = build_op("shiftwise-diagonal-rotational", 4, 1)
    path = tmp_path / "op.onnx"
    result = export_deployed(op, torch.randn(1, 4, 16, 16), path, target_backend=backend)
    assert result.lowering == lowering_for(backend)
    assert result.simplifier == "onnxsim"
    x = torch.randn(1, 4, 21, 9)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, op(x).numpy(), atol=1e-4, rtol=0)


def test_audit_failure_writes_nothing(tmp_path) -> None:
    from edgeconv.errors import EdgeConvError
    from edgeconv.shift import grid_sample_shift

    class GridShift(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return grid_sample_shift(x, torch.full((x.shape[1], 2), 0.25))

    path = tmp_path / "bad.onnx"
    with pytest.raises(EdgeConvError, match="graph audit failed: .*banned op GridSample"):
        export_deployed(GridShift(), torch.randn(1, 2, 8, 8), path)
    assert not path.exists()
    assert not list(tmp_path.iterdir())
