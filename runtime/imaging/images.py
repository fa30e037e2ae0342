"""Image files on the device: find them, decode any mode to RGB uint8, make LR by bicubic downscale.

numpy and Pillow only (no torch), so the runtime, the calibration reader and the training loaders
read images the same way. Pillow's decompression-bomb limit stays on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from edgeconv.errors import UsageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def image_files(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, sorted.

    Args:
        folder: a folder (not searched recursively).

    Returns:
        The files whose suffix is one of ``IMAGE_SUFFIXES`` (any case), sorted by path.

    Raises:
        UsageError: ``folder`` is not a folder, or holds no images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(str(folder), "is not a folder of images")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise UsageError(str(folder), "holds no images", f"expected files ending in {suffixes}")
    return files


def read_image(path: Path, keep_grey: bool = False) -> np.ndarray:
    """Decode an image file to RGB, EXIF orientation applied.

    Args:
        path: any file Pillow reads.
        keep_grey: return a grey image (L, I;16, I, F, 1, LA modes) as one channel instead of RGB.

    Returns:
        uint8 (H, W, 3) RGB in [0, 255]; uint8 (H, W) for a grey image when ``keep_grey`` (16-bit scaled to 8).

    Raises:
        UsageError: the file cannot be read as an image (or trips Pillow's decompression-bomb limit).
    """
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if keep_grey and img.mode in ("L", "I;16", "I", "F", "1", "LA"):
                arr = np.asarray(img.convert("L") if img.mode != "I;16" else img)
                if arr.dtype != np.uint8:
                    arr = (arr.astype(np.float64) / 257.0).round().astype(np.uint8)
                return arr
            return np.asarray(img.convert("RGB"))
    except (OSError, Image.DecompressionBombError) as exc:
        raise UsageError(str(path), f"cannot be read as an image: {exc}") from exc


def crop_to_multiple(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop bottom/right so H and W are multiples of ``scale``.

    Args:
        img: (H, W, ...) array.
        scale: the integer factor.

    Returns:
        A view (H - H % scale, W - W % scale, ...).
    """
    h, w = img.shape[0] - img.shape[0] % scale, img.shape[1] - img.shape[1] % scale
    return img[:h, :w]


def bicubic_downscale(img: np.ndarray, scale: int) -> np.ndarray:
    """Pillow bicubic (antialiased) downscale by an integer factor: the ``bicubic`` protocol.

    Args:
        img: uint8 (H, W, 3) or (H, W), H and W already multiples of ``scale``.
        scale: the integer factor.

    Returns:
        uint8 (H // scale, W // scale, ...).
    """
    h, w = img.shape[:2]
    return np.asarray(Image.fromarray(img).resize((w // scale, h // scale), Image.BICUBIC))


def resize_center_crop(img: np.ndarray, size: int) -> np.ndarray:
    """Bicubic resize of the shorter side to ``size``, then the centre square.

    Args:
        img: uint8 (H, W, 3).
        size: the output side in pixels.

    Returns:
        uint8 (size, size, 3).
    """
    pil = Image.fromarray(img)
    ratio = size / min(pil.size)
    pil = pil.resize((max(size, round(pil.width * ratio)), max(size, round(pil.height * ratio))), Image.BICUBIC)
    left, top = (pil.width - size) // 2, (pil.height - size) // 2
    return np.asarray(pil.crop((left, top, left + size, top + size)))


def center_crop(img: np.ndarray, max_side: int) -> np.ndarray:
    """The centre ``max_side`` x ``max_side`` window of ``img`` (smaller sides kept whole).

    Args:
        img: (H, W, ...) array.
        max_side: the largest side kept.

    Returns:
        A view (min(H, max_side), min(W, max_side), ...).
    """
    h, w = img.shape[:2]
    top, left = max(0, (h - max_side) // 2), max(0, (w - max_side) // 2)
    return img[top : top + max_side, left : left + max_side]
