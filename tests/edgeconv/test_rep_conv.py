"""RepConv: the branches fold into one conv exactly (hypothesis), and rep_edge_sr deploys as plain_edge_sr."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeconv.errors import EdgeConvError, LayerArgumentError
from edgeconv.export import to_deploy
from edgeconv.models import create_model
from edgeconv.rep_conv import RepConv


@settings(max_examples=60, deadline=None)
@given(
    cin=st.integers(1, 6), cout=st.integers(1, 6), kernel=st.sampled_from([1, 3, 5]), expand=st.integers(0, 4),
    one_by_one=st.booleans(), identity=st.booleans(), size=st.tuples(st.integers(1, 17), st.integers(1, 17)),
    seed=st.integers(0, 2**16),
)
def test_branches_fold_into_one_conv(cin: int, cout: int, kernel: int, expand: int, one_by_one: bool,
                                     identity: bool, size: tuple[int, int], seed: int) -> None:
    torch.manual_seed(seed)
    op = RepConv(cin, cout, kernel, expand, one_by_one, identity).eval()
    for p in op.parameters():  # weights of every branch away from their init, biases non-zero
        p.data.normal_(0, 0.5)
    folded = op.to_static()
    assert isinstance(folded, torch.nn.Conv2d) and folded.weight.shape == (cout, cin, kernel, kernel)
    x = torch.randn(2, cin, *size)
    with torch.no_grad():
        want, got = op(x), folded(x)
    torch.testing.assert_close(got, want, atol=1e-4 * (1 + float(want.abs().max())), rtol=1e-4)


def test_rep_edge_sr_deploys_to_the_plain_graph() -> None:
    torch.manual_seed(0)
    rep = create_model("rep_edge_sr", scale=2).eval()
    for p in rep.parameters():
        p.data.normal_(0, 0.1)
    deployed = to_deploy(rep)
    plain = create_model("plain_edge_sr", scale=2)
    shapes = [tuple(m.weight.shape) for m in deployed.modules() if isinstance(m, torch.nn.Conv2d)]
    assert shapes == [tuple(m.weight.shape) for m in plain.modules() if isinstance(m, torch.nn.Conv2d)]
    assert sum(p.numel() for p in rep.parameters()) > 5 * sum(p.numel() for p in plain.parameters())
    x = torch.rand(1, 3, 23, 31)
    with torch.no_grad():
        torch.testing.assert_close(deployed(x), rep(x), atol=1e-5, rtol=1e-5)


def test_bad_layer_arguments_are_edgeconv_errors_and_value_errors() -> None:
    """Layers refuse arguments with ``LayerArgumentError``: one line through the CLI, a ``ValueError`` to torch code."""
    with pytest.raises(LayerArgumentError, match=r"RepConv \| kernel_size must be odd, got 4") as refused:
        RepConv(2, 2, kernel_size=4)
    assert isinstance(refused.value, EdgeConvError) and isinstance(refused.value, ValueError)
    assert refused.value.exit_code == 2
