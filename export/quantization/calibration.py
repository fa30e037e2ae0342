"""Calibration and validation inputs for quantization, read from folders of real images.

Calibration images may have any size and mode (grey, RGBA, palette, 16-bit, CMYK are converted
to RGB; EXIF orientation applied): each gives one ``crop`` x ``crop`` centre window (a smaller
image is first scaled up to it), so every feed has the same shape, as ORT's histogram
calibrators (entropy, percentile) require. They are read once, with a progress bar, and kept
in memory (64 crops of 128 x 128 are 12 MB) so the accuracy-budget search can re-calibrate
without reading the disk again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.images import center_crop, image_files, read_image, resize_center_crop
from edgeconv.runtime.model_facts import ModelFacts

Feed = dict[str, np.ndarray]


class FeedReader(CalibrationDataReader):
    """ORT's ``CalibrationDataReader`` over feeds held in memory; ``rewind`` re-reads from the start."""

    def __init__(self, feeds: list[Feed]) -> None:
        self.feeds = feeds
        self._it: Iterator[Feed] = iter(feeds)

    def get_next(self) -> Feed | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self.feeds)


def read_folder(files: list[Path], on_image: Callable[[int, int], None] | None = None) -> list[tuple[str, np.ndarray]]:
    """``(name, uint8 RGB)`` for each file, reporting ``(done, total)`` to ``on_image``."""
    images = []
    for i, path in enumerate(files):
        images.append((path.name, read_image(path)))
        if on_image is not None:
            on_image(i + 1, len(files))
    return images


def calibration_feeds(
    folder: str | Path,
    facts: ModelFacts,
    input_name: str,
    crop: int = 128,
    max_images: int = 64,
    on_image: Callable[[int, int], None] | None = None,
) -> list[Feed]:
    """One model input per image: the centre ``crop`` x ``crop`` window, normalised as the model expects."""
    if crop < 8:
        raise UsageError("--calib-crop", f"must be >= 8 pixels, got {crop}")
    feeds = []
    for _, image in read_folder(image_files(folder)[:max_images], on_image):
        if facts.task == "cls":
            window = resize_center_crop(image, int(facts.extra.get("input_size", 32)))
        elif min(image.shape[:2]) >= crop:
            window = center_crop(image, crop)
        else:  # a small image is scaled up so every feed has one shape (histogram calibrators need it)
            window = resize_center_crop(image, crop)
        feeds.append({input_name: facts.to_input(window)})
    return feeds
