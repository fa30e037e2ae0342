"""The shipped models' tile overlap: measured (receptive radius 4 + 1 LR pixel of margin = 5), what `upscale`
prints and what the README says; tiles of any size give the whole image's pixels (the validator's path)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from edgeconv.runtime.backends.registry import create_backend
from edgeconv.runtime.imaging.tiling import receptive_radius, tile_overlap, tiled_run

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p for p in (ROOT / "runtime" / "shipped").glob("sr_x2_*.onnx") if p.name.count(".") == 1)


@pytest.mark.parametrize("model", SHIPPED, ids=lambda p: p.stem)
def test_shipped_radius_and_overlap_match_the_readme(model: Path) -> None:
    runner = create_backend("onnxruntime", model)
    radius, overlap = receptive_radius(runner.run, 2), tile_overlap(runner.run, 2)
    assert (radius, overlap) == (4, 5)  # four 3x3 convolutions (the bicubic skip reaches 2), one pixel of margin
    readme = " ".join((ROOT / "README.md").read_text().split())
    said = re.search(r"receptive radius (\d) LR pixels for the shipped models \(.*?\), so their overlap is (\d)",
                     readme)
    assert said is not None and (int(said[1]), int(said[2])) == (radius, overlap)


def test_tiled_run_gives_the_whole_image(sr_data: Path) -> None:
    """What `validate` runs on images over its tile: the same output as the whole image at once."""
    from edgeconv.runtime.imaging.images import read_image

    runner = create_backend("onnxruntime", SHIPPED[0])
    x = runner.facts.to_input(read_image(sr_data / "Set5" / "baby.png")[:250, :301])
    whole = runner.run(x)
    for tile in (37, 64, 128):
        tiled = tiled_run(runner.run, 2, tile)(x)
        assert tiled.shape == whole.shape and np.abs(tiled - whole).max() <= 1e-5, tile
    calls: list[tuple[int, ...]] = []
    counted = tiled_run(lambda y: calls.append(y.shape) or runner.run(y), 2, 512)
    assert np.array_equal(counted(x), whole) and calls == [x.shape]  # small enough: one call, nothing measured
