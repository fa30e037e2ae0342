"""BT.601 luma is defined once (``runtime/imaging/luma.py``) and every other module takes it from there."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.luma import BT601_Y_255, LUMA_GAIN, LUMA_WEIGHTS, luma_255, rgb_to_model_luma

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "runtime" / "imaging" / "luma.py"


def test_the_two_units_are_one_set_of_weights() -> None:
    assert BT601_Y_255 == (65.481, 128.553, 24.966)
    np.testing.assert_allclose(np.array(LUMA_WEIGHTS) * 255.0, BT601_Y_255, rtol=1e-15)
    assert LUMA_GAIN == pytest.approx(219.0 / 255.0, abs=1e-12)  # white - black = 235 - 16 levels


def test_model_luma_is_scorer_luma_without_the_offset() -> None:
    rgb = np.random.default_rng(0).random((2, 3, 5, 4)).astype(np.float32)
    model = rgb_to_model_luma(rgb)
    assert model.shape == (2, 1, 5, 4) and model.dtype == np.float32
    scorer = luma_255(rgb[1].transpose(1, 2, 0))
    np.testing.assert_allclose(model[1, 0] * 255.0 + 16.0, scorer, atol=1e-4)


def test_luma_255_refuses_a_shape_it_cannot_read() -> None:
    with pytest.raises(UsageError, match=r"is not \(H, W\) or \(H, W, C\)"):
        luma_255(np.zeros((2, 2, 2, 2)))


def _float_constants(path: Path) -> set[float]:
    return {n.value for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, float)}


def test_no_other_module_writes_the_weights() -> None:
    sources = [p for folder in ("runtime", "edgeconv", "models", "export") for p in (ROOT / folder).rglob("*.py")
               if p != HOME and "__pycache__" not in p.parts]
    copies = [str(p.relative_to(ROOT)) for p in sources if _float_constants(p) & set(BT601_Y_255)]
    assert not copies, f"BT.601 luma weights written again in {copies}: import them from runtime/imaging/luma.py"
