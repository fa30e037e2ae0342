"""A real-image texture task for when DTD is absent: crops of scikit-image's bundled photographs.

Eight classes, all grey (so colour cannot give the class away): brick, grass, gravel (the
texture images), and textured regions of real photographs and micrographs: the moon's surface,
a cell micrograph, an immunohistochemistry slide, the Hubble deep field and a retina. Training
crops come from the left 60 % of each image and validation crops from the right 40 %, so no
validation pixel was ever seen in training. Written as DTD's layout: ``root/{train,val}/<class>/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgeconv.errors import MissingExtraError

TEXTURE_CLASSES = ("brick", "grass", "gravel", "moon", "cell", "immunohistochemistry", "hubble_deep_field", "retina")
TRAIN_SHARE = 0.6


def _grey(image: np.ndarray) -> np.ndarray:
    """uint8 luma of a grey or RGB(A) image."""
    if image.ndim == 2:
        return image.astype(np.uint8)
    rgb = image[..., :3].astype(np.float64)
    return np.round(rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)


def texture_sources() -> dict[str, np.ndarray]:
    """The eight source images as grey uint8 arrays (scikit-image ships them; nothing is downloaded)."""
    try:
        from skimage import data
    except ImportError as exc:
        raise MissingExtraError("scikit-image", "dev", "the texture task's images") from exc
    return {name: _grey(getattr(data, name)()) for name in TEXTURE_CLASSES}


def _crops(
    image: np.ndarray, count: int, side_range: tuple[int, int], out_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """``count`` random square crops with sides in ``side_range``, resized to ``out_size`` (bicubic)."""
    from PIL import Image

    h, w = image.shape
    crops = []
    for _ in range(count):
        side = int(rng.integers(side_range[0], min(side_range[1], h, w) + 1))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        tile = Image.fromarray(image[y : y + side, x : x + side])
        crops.append(np.asarray(tile.resize((out_size, out_size), Image.BICUBIC)))
    return crops


def make_texture_folders(
    root: str | Path,
    train_per_class: int = 120,
    val_per_class: int = 40,
    side_range: tuple[int, int] = (24, 64),
    out_size: int = 64,
    seed: int = 0,
    on_class: Callable[[str], None] | None = None,
) -> tuple[Path, Path]:
    """Write ``root/train/<class>/*.png`` and ``root/val/<class>/*.png``; returns both folders.

    Existing folders with the same counts are reused (the crops are deterministic in ``seed``).
    """
    from PIL import Image

    root = Path(root)
    train, val = root / "train", root / "val"
    expected = {train: train_per_class, val: val_per_class}
    if all(
        len(list((folder / name).glob("*.png"))) == n for folder, n in expected.items() for name in TEXTURE_CLASSES
    ):
        return train, val
    rng = np.random.default_rng(seed)
    for name, image in texture_sources().items():
        split = int(image.shape[1] * TRAIN_SHARE)
        for folder, part, n in ((train, image[:, :split], train_per_class), (val, image[:, split:], val_per_class)):
            target = folder / name
            target.mkdir(parents=True, exist_ok=True)
            for i, crop in enumerate(_crops(part, n, side_range, out_size, rng)):
                Image.fromarray(crop).convert("RGB").save(target / f"{i:04d}.png")
        if on_class is not None:
            on_class(name)
    return train, val
