"""The DTD10 split rule, the zero-shot halves, and nearest-class-mean scoring on features with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.research.dtd import dtd10_split, nearest_class_mean_accuracy, zero_shot_halves


def test_split_takes_every_third_sorted_file_as_test(tmp_path: Path) -> None:
    for name in ("b", "a"):
        (tmp_path / name).mkdir()
        for i in (7, 1, 3, 9, 5, 2):
            Image.new("RGB", (4, 4)).save(tmp_path / name / f"{name}_{i:04d}.jpg")
    split = dtd10_split(tmp_path)
    assert list(split) == ["a", "b"]
    train, test = split["a"]
    assert [p.name for p in test] == ["a_0003.jpg", "a_0009.jpg"]  # sorted 1 2 3 5 7 9: positions 2 and 5
    assert len(train) == 4 and not set(train) & set(test)
    with pytest.raises(UsageError, match="has no class folders"):
        dtd10_split(tmp_path / "a")


def test_real_dtd10_split_is_80_40_per_class() -> None:
    root = Path(__file__).resolve().parents[3] / "shared" / "data" / "textures" / "DTD10"
    if not root.is_dir():
        pytest.skip(f"DTD10 not found at {root} (shared data beside the checkout)")
    split = dtd10_split(root)
    assert len(split) == 10 and all((len(tr), len(te)) == (80, 40) for tr, te in split.values())


def test_zero_shot_halves_make_every_class_unseen_once() -> None:
    classes = [f"c{i}" for i in range(10)]
    halves = zero_shot_halves(classes)
    assert sorted(c for _, unseen in halves for c in unseen) == classes
    assert all(not set(seen) & set(unseen) for seen, unseen in halves)


def test_nearest_class_mean_on_known_features() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(5) * 10
    labels = np.repeat(np.arange(5), 8)
    reference = centres[labels] + rng.normal(0, 1, (40, 5))
    queries = centres[labels] + rng.normal(0, 1, (40, 5))
    assert nearest_class_mean_accuracy(reference, labels, queries, labels) == 1.0
    shuffled = rng.permutation(labels)
    assert nearest_class_mean_accuracy(reference, labels, queries, shuffled) < 0.5
    noise = rng.normal(0, 1, (40, 5))  # features that carry no class: about chance (1/5)
    assert nearest_class_mean_accuracy(noise, labels, rng.normal(0, 1, (40, 5)), labels) < 0.5
