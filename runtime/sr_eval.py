"""Super-resolution quality of any runnable model on real images: HR folder -> LR -> model -> PSNR-Y.

The protocol of the SR literature (``edgeconv.runtime.sr_metrics``): HR cropped to a multiple of
the scale, LR by bicubic downscale, output rounded to 8 bits, PSNR on the BT.601 Y channel with
``scale`` border pixels shaved. numpy and Pillow only: it runs on the device.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.images import bicubic_downscale, center_crop, crop_to_multiple, image_files, read_image
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.sr_metrics import psnr_y, ssim_y


def shared_sr_data() -> Path | None:
    """The project's shared SR images: ``$EDGECONV_SR_DATA``, else ``shared/data/sr`` in a parent folder."""
    env = os.environ.get("EDGECONV_SR_DATA")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "sr"
        if candidate.is_dir():
            return candidate
    return None


@dataclass
class SRValidationPair:
    """An HR image (uint8 RGB, cropped to a multiple of the scale) and the LR model input made from it."""

    name: str
    hr: np.ndarray
    lr_input: np.ndarray


def sr_validation_pairs(
    folder: str | Path, facts: ModelFacts, max_images: int = 32, max_side: int = 512
) -> list[SRValidationPair]:
    """Set5-style validation: HR images, LR by bicubic downscale, centre crop of ``max_side`` HR pixels."""
    if facts.task != "sr" or not facts.scale:
        raise UsageError(
            "--val", f"PSNR validation needs a super-resolution model; this one's task is {facts.task!r}",
            "export the model with edgeconv export so its metadata names task and scale",
        )
    pairs = []
    for path in image_files(folder)[:max_images]:
        name, image = path.name, read_image(path)
        hr = crop_to_multiple(center_crop(image, max_side), facts.scale)
        if min(hr.shape[:2]) < 4 * facts.scale:
            raise UsageError(str(Path(folder) / name), f"is too small to validate x{facts.scale} SR")
        pairs.append(SRValidationPair(name, hr, facts.to_input(bicubic_downscale(hr, facts.scale))))
    return pairs


def sr_psnr_per_image(
    run: Callable[[np.ndarray], np.ndarray], pairs: list[SRValidationPair], facts: ModelFacts
) -> list[float]:
    """PSNR-Y (dB) of ``run`` on each of ``pairs``, in order."""
    return [psnr_y(facts.to_image(run(p.lr_input)) / 255.0, p.hr / 255.0, crop_border=facts.scale or 0) for p in pairs]


def sr_quality(
    run: Callable[[np.ndarray], np.ndarray], pairs: list[SRValidationPair], facts: ModelFacts
) -> tuple[float, float]:
    """Mean ``(PSNR-Y dB, SSIM-Y)`` of ``run`` (model input -> model output, both NCHW float32) on ``pairs``."""
    psnrs, ssims = [], []
    for pair in pairs:
        sr = facts.to_image(run(pair.lr_input)) / 255.0
        psnrs.append(psnr_y(sr, pair.hr / 255.0, crop_border=facts.scale or 0))
        ssims.append(ssim_y(sr, pair.hr / 255.0, crop_border=facts.scale or 0))
    return float(np.mean(psnrs)), float(np.mean(ssims))
