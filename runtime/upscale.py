"""On-device super-resolution of image files: any mode in, the same mode out, tiled, written atomically.

Modes: RGB as is; grey (L, 1, I, I;16, F) is fed as three equal channels and saved back as grey
(16-bit stays 16-bit, fed with 16-bit precision); palette becomes RGB (RGBA if it has
transparency); CMYK becomes RGB; an alpha channel is upscaled on its own with bicubic - the
model was trained on colour, not masks - and re-attached. EXIF orientation is applied first, so
the output is upright. Pillow's decompression-bomb limit stays on.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from edgeconv.errors import UsageError
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.images import IMAGE_SUFFIXES
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.tiling import Run, run_tiles

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
                  on_tile: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The upscaled pixels, same dtype and layout as ``image.pixels`` ((sH, sW) or (sH, sW, 3)).

    Tiles are converted to the model's input and back one at a time, so a 3840x2160 image needs
    its uint8 input and output plus a few float tiles, never a float copy of the whole image.
    """
    lo, hi = facts.value_range
    mean, std = np.asarray(facts.mean, np.float32)[:, None, None], np.asarray(facts.std, np.float32)[:, None, None]
    pix, peak, scale = image.pixels, image.peak, facts.scale or 1
    h, w = pix.shape[:2]
    out = np.empty((h * scale, w * scale, *pix.shape[2:]), dtype=pix.dtype)

    def read(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        window = pix[y0:y1, x0:x1].astype(np.float32) / peak
        chw = np.repeat(window[None], 3, axis=0) if window.ndim == 2 else window.transpose(2, 0, 1)
        return (((chw * (hi - lo) + lo) - mean) / std)[None]

    def write(y0: int, y1: int, x0: int, x1: int, core: np.ndarray) -> None:
        rgb = (core[0] - lo) / (hi - lo)
        values = rgb.mean(axis=0) if out.ndim == 2 else rgb.transpose(1, 2, 0)
        out[y0:y1, x0:x1] = np.round(np.clip(values, 0, 1) * peak).astype(out.dtype)

    run_tiles(run, h, w, scale, tile if tile > 0 else max(h, w), overlap, read, write, on_tile)
    return out


def encode(image: DecodedImage, pixels: np.ndarray, suffix: str) -> bytes:
    """Upscaled pixels -> file bytes in the input's mode, alpha upscaled (bicubic) and re-attached."""
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
           ".webp": "WEBP"}.get(suffix.lower())
    if fmt is None:
        raise UsageError(f"output {suffix or '(no suffix)'}", "is not an image format edgeconv writes",
                         "use .png, .jpg, .tif or .webp")
    out = Image.fromarray(pixels)
    if image.alpha is not None:
        alpha = image.alpha.resize((out.width, out.height), Image.BICUBIC)
        if out.mode == "I;16":
            out = out.convert("I")
        out = out.convert("RGBA" if out.mode == "RGB" else "LA")
        out.putalpha(alpha)
    if fmt == "JPEG" and out.mode not in ("RGB", "L"):
        out = out.convert("RGB")
    buffer = io.BytesIO()
    out.save(buffer, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def upscale_file(run: Run, facts: ModelFacts, src: Path, dst: Path, tile: int, overlap: int,
                 on_tile: Callable[[int, int], None] | None = None) -> None:
    """Upscale one image file into ``dst`` (atomic: a complete file or none)."""
    image = decode(src)
    write_bytes_atomic(dst, encode(image, upscale_image(run, facts, image, tile, overlap, on_tile), dst.suffix))


def folder_jobs(src: Path, dst: Path) -> tuple[list[tuple[Path, Path]], int]:
    """``([(input, output) still to do], finished count)``: outputs already present are complete (atomic writes)."""
    files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(str(src), "holds no images", f"expected files ending in {', '.join(sorted(IMAGE_SUFFIXES))}")
    todo = [(p, dst / f"{p.stem}.png") for p in files]
    remaining = [(a, b) for a, b in todo if not b.exists()]
    return remaining, len(todo) - len(remaining)
