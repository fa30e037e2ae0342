"""Static shift primitives against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeconv.errors import LayerArgumentError
from edgeconv.shift import (
    ShiftBlend,
    bilinear_taps,
    channel_runs,
    grid_sample_shift,
    integer_shift,
    split_channels_over,
)


def numpy_shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Zero-filled shift written the obvious way, index by index."""
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            si, sj = i - dy, j - dx
            if 0 <= si < h and 0 <= sj < w:
                out[..., i, j] = x[..., si, sj]
    return out


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 12), w=st.integers(1, 12),
    dy=st.integers(-14, 14), dx=st.integers(-14, 14), seed=st.integers(0, 2**16),
)
def test_integer_shift_matches_indexwise_reference(h: int, w: int, dy: int, dx: int, seed: int) -> None:
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(seed))
    expected = numpy_shift(x.numpy(), dy, dx)
    np.testing.assert_array_equal(integer_shift(x, dy, dx).numpy(), expected)


@pytest.mark.parametrize("lowering", ["slice", "conv"])
def test_grouped_integer_shift_moves_each_channel_by_its_offset(lowering: str) -> None:
    offsets = [(0, 0), (1, 0), (1, 0), (-2, 3), (0, -1)]
    x = torch.randn(1, 5, 6, 7)
    out = ShiftBlend.integer(offsets, lowering)(x)
    for c, (dy, dx) in enumerate(offsets):
        np.testing.assert_allclose(out[0, c].numpy(), numpy_shift(x[0, c].numpy(), dy, dx), atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 20), w=st.integers(1, 20), channels=st.integers(1, 6),
    seed=st.integers(0, 2**16), lowering=st.sampled_from(["slice", "conv"]),
)
def test_fractional_shift_equals_grid_sample(h: int, w: int, channels: int, seed: int, lowering: str) -> None:
    gen = torch.Generator().manual_seed(seed)
    shifts = torch.rand(channels, 2, generator=gen, dtype=torch.float64) * 6 - 3
    x = torch.randn(2, channels, h, w, generator=gen, dtype=torch.float64)
    reference = grid_sample_shift(x, shifts)
    blend = ShiftBlend.fractional(shifts, lowering).double()
    torch.testing.assert_close(blend(x), reference, atol=1e-6, rtol=0)


def test_bilinear_taps_drop_zero_weight_taps() -> None:
    assert len(bilinear_taps(torch.tensor([[1.0, -2.0]]))) == 1
    assert len(bilinear_taps(torch.tensor([[0.5, 0.0], [-0.5, 0.0]]))) == 2
    taps = bilinear_taps(torch.tensor([[0.25, 0.75]]))
    assert len(taps) == 4
    assert sum(float(w.sum()) for _, w in taps) == pytest.approx(1.0)


def test_channel_runs_group_consecutive_equal_offsets() -> None:
    runs = channel_runs([(0, 0), (0, 0), (1, 0), (0, 0)])
    assert runs == [(0, 2, (0, 0)), (2, 3, (1, 0)), (3, 4, (0, 0))]


def test_split_channels_over_is_even_and_contiguous() -> None:
    assigned = split_channels_over(["a", "b", "c"], 7)
    assert assigned == ["a", "a", "a", "b", "b", "c", "c"]


def test_shift_blend_rejects_wrong_channel_count() -> None:
    with pytest.raises(LayerArgumentError, match="expects 2 channels, got 3"):
        ShiftBlend.integer([(0, 1), (1, 0)])(torch.zeros(1, 3, 4, 4))


def test_unknown_lowering_is_a_usage_error() -> None:
    from edgeconv.errors import UsageError

    with pytest.raises(UsageError, match="unknown lowering 'gather'"):
        ShiftBlend.integer([(0, 1)], lowering="gather")  # type: ignore[arg-type]
