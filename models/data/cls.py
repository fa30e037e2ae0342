"""Classification data: CIFAR-100 from its local python files, and image-folder classes (DTD).

CIFAR's files are Python pickles; they are read with an unpickler that only rebuilds numpy
arrays and plain containers, so a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import torch

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.images import IMAGE_SUFFIXES, read_image, resize_center_crop

CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


def _load_cifar_file(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return _ArraysOnlyUnpickler(io.BufferedReader(f), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise UsageError(str(path), f"is not a CIFAR python batch file: {exc}") from exc


def load_cifar100(root: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 32, 32, 3), fine labels int64 (N,)) from ``cifar-100-python/{train,test}``."""
    root = Path(root)
    path = root / split if (root / split).is_file() else root / "cifar-100-python" / split
    if not path.is_file():
        raise UsageError(str(path), "is missing", "expected torchvision's cifar-100-python folder layout")
    batch = _load_cifar_file(path)
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        labels = np.asarray(batch[b"fine_labels"], dtype=np.int64)
    except (KeyError, ValueError) as exc:
        raise UsageError(str(path), f"lacks CIFAR-100 fields: {exc}") from exc
    if len(data) != len(labels):
        raise UsageError(str(path), f"has {len(data)} images but {len(labels)} labels")
    return data, labels


def load_image_folder(root: str | Path, size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images of ``root/<class>/*`` resized (shorter side) and centre-cropped to ``size``.

    Returns (uint8 (N, size, size, 3), labels (N,), class names sorted).
    """
    root = Path(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not classes:
        raise UsageError(str(root), "has no class sub-folders", "expected root/<class>/<image> (DTD layout)")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for path in files:
            images.append(resize_center_crop(read_image(path), size))
            labels.append(label)
    if not images:
        raise UsageError(str(root), "class folders hold no images")
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes


def normalize(images: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 NHWC -> normalised float32 NCHW, contiguous.

    ``permute`` alone would give a channels-last view, which oneDNN's 1x1 stride-2 backward-weights
    kernels hang on (AVX2) or crash on (AVX-512) with few input channels (oneDNN issue 6035).
    """
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().float() / 255.0
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def augment_batch(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with zero padding and horizontal flip, per image, from ``generator``."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    for i in range(n):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        crop = padded[i, :, dy : dy + h, dx : dx + w]
        out[i] = crop.flip(-1) if flips[i] else crop
    return out


def random_crop_batch(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """A random ``size`` x ``size`` window of each image (no padding) and a horizontal flip, from ``generator``.

    The texture tasks load images larger than the net sees, so every step shows other parts of them.
    """
    n, _, h, w = x.shape
    if size > min(h, w):
        raise UsageError("crop", f"{size} px is larger than the loaded {h}x{w} images")
    tops = torch.randint(0, h - size + 1, (n,), generator=generator)
    lefts = torch.randint(0, w - size + 1, (n,), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    out = torch.empty((n, x.shape[1], size, size), dtype=x.dtype)
    for i in range(n):
        crop = x[i, :, int(tops[i]) : int(tops[i]) + size, int(lefts[i]) : int(lefts[i]) + size]
        out[i] = crop.flip(-1) if flips[i] else crop
    return out


def center_crop_batch(x: torch.Tensor, size: int) -> torch.Tensor:
    """The centre ``size`` x ``size`` window of every image (N, C, H, W), contiguous; ``x`` itself when it fits."""
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top : top + size, left : left + size].contiguous()
