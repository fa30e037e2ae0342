"""The per-back-end lowering choice and the one-call export built on it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from edgeconv.errors import UsageError
from edgeconv.export.deploy.lowering import DEFAULT_LOWERING, TABLE_PATH, lowering_for
from edgeconv.export.graph.from_module import export_deployed
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
    with pytest.raises(UsageError, match=r"--backend \| unknown back end 'tflite'"):
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


@pytest.fixture()
def lowering_cache(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An empty lowering cache of this test's own."""
    monkeypatch.setenv("EDGECONV_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "lowering.json"


def test_lowering_cache_hit_miss_and_fallback(lowering_cache, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgeconv.export.deploy.lowering import choose_lowering
    from edgeconv.export.tuning.lowering_tune import tune_lowering
    from edgeconv.models.checkpoints.format import load_checkpoint
    from edgeconv.models.checkpoints.shipped import JITTER_CHECKPOINT
    from edgeconv.runtime.cpu.features import cpu_signature

    table = json.loads(TABLE_PATH.read_text())["lowering"]
    miss = choose_lowering("onnxruntime", "jitter_edge_sr")
    assert miss.lowering == table["onnxruntime"] and miss.source.startswith("committed table")
    assert choose_lowering("tensorrt", "jitter_edge_sr").source.startswith("default")

    ckpt = load_checkpoint(JITTER_CHECKPOINT)
    done = tune_lowering(ckpt.build_model(JITTER_CHECKPOINT), ckpt.model_name, "onnxruntime", (24, 32), runs=3)
    assert done.cache == lowering_cache and set(done.median_ms) == {"slice", "conv"}
    assert done.lowering == min(done.median_ms, key=done.median_ms.get)
    hit = choose_lowering("onnxruntime", "jitter_edge_sr")
    assert hit.lowering == done.lowering and hit.source.startswith("measured on this CPU")
    assert choose_lowering("onnxruntime", "plain_edge_sr").source.startswith("committed table")  # other model
    assert choose_lowering("openvino", "jitter_edge_sr").source.startswith("committed table")  # other back end

    # the same cache read on another CPU: its signature differs, so the table decides there
    cpus = Path(__file__).resolve().parents[2] / "tools" / "cpus"
    other = next(f for f in (cpus / "haswell.cpuinfo", cpus / "cortex-a72.cpuinfo")
                 if cpu_signature(f.read_text()) != cpu_signature())
    monkeypatch.setenv("EDGECONV_CPUINFO", str(other))
    assert choose_lowering("onnxruntime", "jitter_edge_sr").source.startswith("committed table")

    lowering_cache.write_text("{not json")  # a broken cache is no cache
    assert choose_lowering("onnxruntime", "jitter_edge_sr").source.startswith("committed table")


@pytest.mark.slow
def test_export_uses_the_measured_choice(lowering_cache, tmp_path) -> None:
    from edgeconv.models.checkpoints.shipped import JITTER_CHECKPOINT
    from tests.conftest import run_cli

    tuned = run_cli("tune", str(JITTER_CHECKPOINT), "--size", "24x32", "--runs", "2")
    assert tuned.returncode == 0, tuned.stderr
    chosen = json.loads(lowering_cache.read_text())
    (entry,) = chosen.values()
    exported = run_cli("export", str(JITTER_CHECKPOINT), "-o", str(tmp_path / "m.onnx"),
                       "--backend", "onnxruntime")  # no target: the fastest back end's (measured)
    assert exported.returncode == 0, exported.stderr
    text = " ".join(re.sub(r"[\u2500-\u257f]", " ", exported.stdout).split())  # the table's frame, unwrapped
    assert f"{entry['lowering']} for onnxruntime: measured on this CPU by edgeconv tune" in text
    assert run_cli("tune", str(JITTER_CHECKPOINT), "--backend", "tensorrt").returncode == 2
