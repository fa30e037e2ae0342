"""to_deploy(m)(x) == m.eval()(x) for every op, mode and lowering, over random shapes."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from edgeconv.dynamic import DynamicModule
from edgeconv.errors import DynamicOpLeftError
from edgeconv.export import dynamic_modules_left, to_deploy
from tests.conftest import OP_KINDS, build_op, randomize_batchnorm


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(OP_KINDS),
    lowering=st.sampled_from(["slice", "conv"]),
    h=st.integers(1, 64),
    w=st.integers(1, 64),
    channels=st.integers(1, 9),
    kernel_size=st.sampled_from([5, 7, 13, 31]),
    max_shift=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_deploy_form_equals_eval_form(
    kind: str, lowering: str, h: int, w: int, channels: int, kernel_size: int, max_shift: int, seed: int
) -> None:
    op = build_op(kind, channels, seed, kernel_size=kernel_size, max_shift=max_shift)
    x = torch.randn(2, channels, h, w, generator=torch.Generator().manual_seed(seed))
    deployed = to_deploy(op, lowering)
    assert not dynamic_modules_left(deployed)
    with torch.no_grad():
        torch.testing.assert_close(deployed(x), op(x), atol=1e-5, rtol=0)


def test_deploy_leaves_the_source_model_untouched() -> None:
    op = build_op("jitter-learnable", 4, 0)
    before = {k: v.clone() for k, v in op.state_dict().items()}
    to_deploy(op)
    for k, v in op.state_dict().items():
        assert torch.equal(v, before[k]), k


class ConvBNBlock(nn.Module):
    """A block written with attributes and a forward, like a ResNet block."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 5, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(5)
        self.jitter = build_op("jitter-learnable", 5, 3)
        self.bn2 = nn.BatchNorm2d(6)
        self.shiftwise = build_op("shiftwise-rotational", 6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return self.shiftwise(torch.relu(self.bn2(self.jitter(y))))


@pytest.mark.parametrize("lowering", ["slice", "conv"])
def test_batchnorm_is_folded_everywhere(lowering: str) -> None:
    torch.manual_seed(0)
    model = randomize_batchnorm(ConvBNBlock(), seed=5).eval()
    seq = randomize_batchnorm(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()), 6).eval()
    x = torch.randn(2, 3, 11, 13)
    for m in (model, seq):
        deployed = to_deploy(m, lowering)
        assert not [n for n, mod in deployed.named_modules() if isinstance(mod, nn.BatchNorm2d)]
        with torch.no_grad():
            torch.testing.assert_close(deployed(x), m(x), atol=1e-5, rtol=0)


class NoTwin(DynamicModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.roll(x, 1, dims=2)


class BadTwin(DynamicModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def to_static(self, lowering: str = "slice") -> nn.Module:
        return nn.Sequential(nn.Identity(), NoTwinLeft())


class NoTwinLeft(DynamicModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_dynamic_op_without_static_twin_is_named() -> None:
    model = nn.Sequential(nn.Conv2d(2, 2, 1), nn.Sequential(nn.ReLU(), NoTwin()))
    with pytest.raises(DynamicOpLeftError, match=r"^1\.1 \| NoTwin has no static twin"):
        to_deploy(model)


def test_dynamic_op_left_after_rewrite_is_named() -> None:
    model = nn.Sequential(nn.Conv2d(2, 2, 1), BadTwin())
    with pytest.raises(DynamicOpLeftError, match=r"^1\.1 \| NoTwinLeft is still dynamic"):
        to_deploy(model)
