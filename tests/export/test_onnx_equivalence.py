"""The ONNX export of every deploy form runs in ONNX Runtime like PyTorch, with a clean graph."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeconv.export import to_deploy
from edgeconv.export.graph.audit import BANNED_OPS, audit_graph
from edgeconv.export.graph.simplify import simplify_onnx
from edgeconv.export.graph.trace import export_onnx
from tests.conftest import OP_KINDS, build_op


def ort_session(proto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(OP_KINDS),
    lowering=st.sampled_from(["slice", "conv"]),
    channels=st.integers(1, 8),
    kernel_size=st.sampled_from([5, 13, 31]),
    shapes=st.lists(st.tuples(st.integers(1, 64), st.integers(1, 64)), min_size=1, max_size=3),
    simplify=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_onnx_runtime_matches_pytorch(
    kind: str, lowering: str, channels: int, kernel_size: int, shapes: list, simplify: bool, seed: int
) -> None:
    op = build_op(kind, channels, seed, kernel_size=kernel_size)
    proto = export_onnx(to_deploy(op, lowering), torch.randn(1, channels, 8, 8))
    if simplify:
        proto, _ = simplify_onnx(proto)
    audit = audit_graph(proto)
    assert audit, audit.violations
    assert not BANNED_OPS & set(audit.histogram)
    session = ort_session(proto)
    gen = torch.Generator().manual_seed(seed)
    for h, w in shapes:  # one graph, many sizes: H and W are dynamic
        x = torch.randn(2, channels, h, w, generator=gen)
        with torch.no_grad():
            expected = op(x).numpy()
        got = session.run(None, {"input": x.numpy()})[0]
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_grid_sample_reference_is_caught_by_the_audit() -> None:
    from edgeconv.shift import grid_sample_shift

    class GridShift(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return grid_sample_shift(x, torch.full((x.shape[1], 2), 0.5))

    proto = export_onnx(GridShift(), torch.randn(1, 2, 8, 8))
    audit = audit_graph(proto)
    assert not audit
    assert any("banned op GridSample" in v for v in audit.violations)


def test_node_names_keep_the_module_path() -> None:
    model = torch.nn.Sequential(build_op("shiftwise", 4, 0), torch.nn.ReLU())
    proto = export_onnx(to_deploy(model, "conv"), torch.randn(1, 4, 8, 8))
    conv_names = [n.name for n in proto.graph.node if n.op_type == "Conv"]
    assert any(name.startswith("/0/") for name in conv_names), conv_names
