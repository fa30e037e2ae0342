"""On-device super-resolution of image files: any mode in, the same mode out, tiled, written atomically.

Modes: RGB as is; grey (L, 1, I, I;16, F) is fed as three equal channels and saved back as grey
(16-bit stays 16-bit, fed with 16-bit precision); palette becomes RGB (RGBA if it has
transparency); CMYK becomes RGB; an alpha channel is upscaled on its own with bicubic - the
model was trained on colour, not masks - and re-attached. EXIF orientation is applied first, so
the output is upright. Pillow's decompression-bomb limit stays on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from edgeconv.errors import UsageError
from edgeconv.runtime.atomic_write import write_atomic
from edgeconv.runtime.imaging.images import IMAGE_SUFFIXES
from edgeconv.runtime.imaging.tiling import Run, run_tiles
from edgeconv.runtime.model_facts import ModelFacts

GREY_MODES = ("L", "1", "I", "I;16", "I;16B", "I;16L", "F")


@dataclass
class DecodedImage:
    """Pixels as read - (H, W) grey or (H, W, 3) RGB, uint8 or uint16 - and how to restore the mode."""

    pixels: np.ndarray
    alpha: Image.Image | None
    mode: str  # output mode: "RGB", "L" or "I;16"

    @property
    def peak(self) -> float:
        return 65535.0 if self.pixels.dtype == np.uint16 else 255.0


def decode(path: Path) -> DecodedImage:
    """Read ``path``; one ``UsageError`` for anything unreadable or too large."""
    try:
        with Image.open(path) as opened:
            img = ImageOps.exif_transpose(opened)
            img.load()
    except Image.DecompressionBombError as exc:
        raise UsageError(
            str(path), f"is too large to decode safely: {exc}", "Pillow's decompression-bomb limit stays on"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise UsageError(str(path), f"cannot be read as an image: {exc}") from exc
    alpha = None
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = img.getchannel("A")
        img = img.convert("L" if img.mode.startswith("L") else "RGB")
    if img.mode.startswith("I;16") or img.mode == "I":
        return DecodedImage(np.clip(np.asarray(img), 0, 65535).astype(np.uint16), alpha, "I;16")
    if img.mode in GREY_MODES:
        return DecodedImage(np.asarray(img.convert("L")), alpha, "L")
    return DecodedImage(np.asarray(img.convert("RGB")), alpha, "RGB")


def upscale_image(run: Run, facts: ModelFacts, image: DecodedImage, tile: int, overlap: int,
                  on_tile: Callable[[int, int], None] | None = None) -> Image.Image:
    """The upscaled image in ``image.mode`` (RGB, L or I;16), before the alpha channel is re-attached.

    Tiles are converted to the model's input and back one at a time, so a 3840x2160 image needs
    its uint8 input and output plus a few float tiles, never a float copy of the whole image.
    """
    lo, hi = facts.value_range
    mean, std = np.asarray(facts.mean, np.float32)[:, None, None], np.asarray(facts.std, np.float32)[:, None, None]
    pix, peak, scale = image.pixels, image.peak, facts.scale or 1
    h, w = pix.shape[:2]
    out = Image.new(image.mode, (w * scale, h * scale))  # tiles are pasted in: no second full-size copy
    grey = pix.ndim == 2

    def read(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        window = pix[y0:y1, x0:x1].astype(np.float32) / peak
        chw = np.repeat(window[None], 3, axis=0) if window.ndim == 2 else window.transpose(2, 0, 1)
        return (((chw * (hi - lo) + lo) - mean) / std)[None]

    def write(y0: int, y1: int, x0: int, x1: int, core: np.ndarray) -> None:
        rgb = (core[0] - lo) / (hi - lo)
        values = rgb.mean(axis=0) if grey else rgb.transpose(1, 2, 0)
        out.paste(Image.fromarray(np.round(np.clip(values, 0, 1) * peak).astype(pix.dtype)), (x0, y0))

    run_tiles(run, h, w, scale, tile if tile > 0 else max(h, w), overlap, read, write, on_tile)
    return out


def encoder(image: DecodedImage, upscaled: Image.Image, suffix: str) -> Callable[[BinaryIO], None]:
    """A function writing the upscaled pixels as an image file in the input's mode (alpha re-attached)."""
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
           ".webp": "WEBP"}.get(suffix.lower())
    if fmt is None:
        raise UsageError(f"output {suffix or '(no suffix)'}", "is not an image format edgeconv writes",
                         "use .png, .jpg, .tif or .webp")

    def write(f: BinaryIO) -> None:
        out = upscaled
        if image.alpha is not None:
            alpha = image.alpha.resize((out.width, out.height), Image.BICUBIC)
            if out.mode == "I;16":
                out = out.convert("I")
            out = out.convert("RGBA" if out.mode == "RGB" else "LA")
            out.putalpha(alpha)
        if fmt == "JPEG" and out.mode not in ("RGB", "L"):
            out = out.convert("RGB")
        out.save(f, fmt, **({"quality": 95} if fmt == "JPEG" else {}))

    return write


def upscale_file(run: Run, facts: ModelFacts, src: Path, dst: Path, tile: int, overlap: int,
                 on_tile: Callable[[int, int], None] | None = None) -> None:
    """Upscale one image file into ``dst`` (atomic: a complete file or none)."""
    image = decode(src)
    write = encoder(image, upscale_image(run, facts, image, tile, overlap, on_tile), dst.suffix)
    write_atomic(dst, write)


def folder_jobs(src: Path, dst: Path) -> tuple[list[tuple[Path, Path]], int]:
    """``([(input, output) still to do], finished count)``: outputs already present are complete (atomic writes)."""
    files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(str(src), "holds no images", f"expected files ending in {', '.join(sorted(IMAGE_SUFFIXES))}")
    todo = [(p, dst / f"{p.stem}.png") for p in files]
    remaining = [(a, b) for a, b in todo if not b.exists()]
    return remaining, len(todo) - len(remaining)
