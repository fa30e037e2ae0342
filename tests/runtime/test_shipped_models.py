"""The shipped ONNX models are exactly the shipped checkpoints, exported (so upscale needs no torch)."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgeconv.models.checkpoints.format import checkpoint_runner
from edgeconv.models.checkpoints.shipped import SCALED_CHECKPOINTS, SHIPPED_CHECKPOINTS
from edgeconv.runtime.shipped_models import DEFAULT_MODEL, SHIPPED_MODELS, for_onnxruntime, resolve_model


@pytest.mark.parametrize("form", ["generic", "onnxruntime"])
@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_onnx_is_its_checkpoint_exported(name: str, form: str) -> None:
    onnx_path, ckpt_path = SHIPPED_MODELS[name], SHIPPED_CHECKPOINTS[name]
    onnx_path = for_onnxruntime(onnx_path) if form == "onnxruntime" else onnx_path
    props = {p.key: p.value for p in onnx.load(onnx_path).metadata_props}
    sha = hashlib.sha256(ckpt_path.read_bytes()).hexdigest()
    assert props["edgeconv.source_checkpoint_sha256"] == sha, "stale: run tools/ship_models.py"
    assert (props["edgeconv.task"], props["edgeconv.scale"], props["edgeconv.precision"]) == ("sr", "2", "fp32")
    graph = onnx.load(onnx_path).graph
    # one DepthToSpace (the residual joins the bicubic phases at LR size), no full-size Add of two images;
    # the tail conv's weights (the residual gain folded in by onnxsim) keep their module's name
    assert [n.op_type for n in graph.node].count("DepthToSpace") == 1
    assert not any(n.op_type == "Constant" for n in graph.node)
    # PReLU for OpenVINO / TensorRT (fused there), Mul + Max for ONNX Runtime (its PRelu kernel is slow)
    assert ("PRelu" in {n.op_type for n in graph.node}) == (form == "generic")
    assert props["edgeconv.prelu"] == ("max" if form == "onnxruntime" else "prelu")
    assert {"body.3.weight", "body.3.bias", "bicubic.weight"} <= {t.name for t in graph.initializer}
    x = np.random.default_rng(0).random((1, 3, 37, 53), dtype=np.float32)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, checkpoint_runner(ckpt_path)(x), atol=1e-5)


def test_resolve_model_takes_a_name_or_a_path(tmp_path) -> None:
    assert DEFAULT_MODEL == "photo" and resolve_model("photo", "openvino") == SHIPPED_MODELS["photo"]
    assert resolve_model("photo") == resolve_model("photo", "onnxruntime") == runtime_form("photo")
    own = tmp_path / "mine.onnx"
    own.write_bytes(b"x")
    assert resolve_model(own) == own and resolve_model(str(own)) == own


def runtime_form(name: str):  # noqa: ANN201
    return SHIPPED_MODELS[name].with_name(f"sr_x2_{name}.ort.onnx")


@pytest.mark.parametrize("form", ["generic", "onnxruntime"])
@pytest.mark.parametrize(("scale", "name"), sorted(SCALED_CHECKPOINTS))
def test_shipped_x3_x4_onnx_is_its_checkpoint_exported(scale: int, name: str, form: str) -> None:
    """An x3/x4 file ships beside the x2 ones, made the same way, and says its scale in its metadata."""
    ckpt_path = SCALED_CHECKPOINTS[(scale, name)]
    onnx_path = resolve_model(name, "onnxruntime" if form == "onnxruntime" else "openvino", scale)
    assert onnx_path.name == f"sr_x{scale}_{name}{'.ort' if form == 'onnxruntime' else ''}.onnx"
    props = {p.key: p.value for p in onnx.load(onnx_path).metadata_props}
    assert props["edgeconv.source_checkpoint_sha256"] == hashlib.sha256(ckpt_path.read_bytes()).hexdigest()
    assert (props["edgeconv.task"], props["edgeconv.scale"]) == ("sr", str(scale))
    x = np.random.default_rng(1).random((1, 3, 29, 41), dtype=np.float32)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert got.shape == (1, 3, 29 * scale, 41 * scale)
    np.testing.assert_allclose(got, checkpoint_runner(ckpt_path)(x), atol=1e-5)
