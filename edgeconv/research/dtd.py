"""DTD10 for the texture claims: the project's fixed split, and zero-shot scoring by nearest class mean.

The split (``shared/data/textures/SOURCES.md``): within each class, sorted file names; positions 2, 5,
8, ... (every third, 0-based) are test (40 per class), the other 80 train. Nothing is picked on test.
Zero-shot: a backbone trained on five classes; for the other five, each class mean of the frozen
features of its *train* images is the reference, and their *test* images are classified by the
nearest mean (cosine, features L2-normalised); both halves swapped, so every class is unseen once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.images import image_files


def dtd10_split(root: str | Path) -> dict[str, tuple[list[Path], list[Path]]]:
    """``{class: (train files, test files)}`` of a DTD-style folder (``root/<class>/*.jpg``) by the fixed rule."""
    root = Path(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not classes:
        raise UsageError(str(root), "has no class folders", "expected shared/data/textures/DTD10/<class>/<image>")
    split = {}
    for name in classes:
        files = image_files(root / name)  # sorted
        split[name] = ([f for i, f in enumerate(files) if i % 3 != 2], [f for i, f in enumerate(files) if i % 3 == 2])
    return split


def zero_shot_halves(classes: list[str]) -> list[tuple[list[str], list[str]]]:
    """``[(seen, unseen), (unseen, seen)]``: the first half of the sorted classes, then the other."""
    ordered = sorted(classes)
    half = len(ordered) // 2
    first, second = ordered[:half], ordered[half:]
    return [(first, second), (second, first)]


def nearest_class_mean_accuracy(
    reference: np.ndarray, reference_labels: np.ndarray, queries: np.ndarray, query_labels: np.ndarray
) -> float:
    """Share of ``queries`` (N, D) whose nearest reference class mean (cosine) carries their label."""
    def unit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    labels = np.unique(reference_labels)
    means = unit(np.stack([unit(reference)[reference_labels == c].mean(axis=0) for c in labels]))
    predicted = labels[np.argmax(unit(queries) @ means.T, axis=1)]
    return float(np.mean(predicted == query_labels))
