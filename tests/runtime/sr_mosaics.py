"""A Set14-sized test folder made here: mosaics of T91 photos, each larger than 512 px, one of them grey.

Set14 itself is not in the shared data; these mosaics have what matters for the protocol: sides over 512 px
(the old 512-px centre crop would change the figure), sides that are not multiples of 2, 3 or 4 (the crop to a
multiple of the scale), and a grey image (scored on its own values). Deterministic: T91 in sorted order.

Run as ``python -m tests.runtime.sr_mosaics OUT_DIR [T91_DIR]`` to write the folder for the CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

# (width, height, mode): both sides over 512 (a 512-px centre crop changes every one), none a multiple of 4
MOSAICS = ((601, 523, "RGB"), (643, 517, "RGB"), (577, 529, "L"), (613, 541, "RGB"))


def mosaic(photos: list[Path], width: int, height: int, mode: str) -> Image.Image:
    """Rows of ``photos`` left to right, each row as high as its shortest photo (the taller ones cropped), until
    the canvas is full: no gaps, no resampling (every pixel is a photo's own)."""
    canvas = Image.new("RGB", (width, height))
    queue = [p for _ in range(4) for p in photos]
    y = 0
    while y < height and queue:
        row: list[Image.Image] = []
        while sum(tile.width for tile in row) < width and queue:
            with Image.open(queue.pop(0)) as img:
                row.append(img.convert("RGB"))
        row_height = min(tile.height for tile in row)
        x = 0
        for tile in row:
            canvas.paste(tile.crop((0, 0, tile.width, row_height)), (x, y))
            x += tile.width
        y += row_height
    return canvas.convert(mode)


def write_mosaics(t91: Path, out: Path) -> list[Path]:
    """Write ``MOSAICS`` built from the T91 photos into ``out`` (created); returns the files, sorted."""
    photos = sorted(t91.glob("*.png"))
    if len(photos) < 20:
        raise FileNotFoundError(f"{t91}: expected the T91 photos (*.png)")
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i, (width, height, mode) in enumerate(MOSAICS):
        start = (i * 23) % len(photos)
        path = out / f"mosaic{i}.png"
        mosaic(photos[start:] + photos[:start], width, height, mode).save(path)
        files.append(path)
    return files


if __name__ == "__main__":
    from edgeconv.runtime.validation.sr_eval import shared_sr_data

    target = Path(sys.argv[1])
    source = Path(sys.argv[2]) if len(sys.argv) > 2 else (shared_sr_data() or Path("shared/data/sr")) / "T91"
    for written in write_mosaics(source, target):
        print(written)
