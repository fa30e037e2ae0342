"""Super-resolution quality of any runnable model on real images: HR folder -> LR -> model -> PSNR-Y.

The protocol of the SR literature (``edgeconv.runtime.validation.sr_metrics``): HR cropped to a multiple of
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
from edgeconv.runtime.imaging.degradations import degrade
from edgeconv.runtime.imaging.images import center_crop, crop_to_multiple, image_files, read_image
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.validation.sr_metrics import score_sr


def shared_sr_data() -> Path | None:
    """The project's shared SR images: ``$EDGECONV_SR_DATA``, else ``shared/data/sr`` in a parent folder.

    Returns:
        The folder (holding ``Set5/``, ``T91/``, ``BSD200/``), or None when there is none.
    """
    env = os.environ.get("EDGECONV_SR_DATA")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "sr"
        if candidate.is_dir():
            return candidate
    return None


PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def default_images(option: str, role: str = "Set5", photos_into: Path | None = None) -> tuple[Path, str]:
    """The folder a command uses when ``option`` is not given, and a note saying which it is.

    The one place that decides default images.

    Args:
        option: the command's option (named in the error).
        role: the shared data set wanted (``Set5``, ``T91``).
        photos_into: where scikit-image's real photographs are written as PNG when the shared data is missing;
            None: no stand-in.

    Returns:
        ``(folder, note)``: ``role`` under the shared SR data, else the stand-in photos (the note says so).

    Raises:
        UsageError: no shared data and no stand-in (``photos_into`` None, or scikit-image not installed).
    """
    shared = shared_sr_data()
    if shared is not None and (shared / role).is_dir():
        return shared / role, f"{role} from {shared}"
    if photos_into is None:
        raise UsageError(option, f"not given, and no {role} beside the checkout (shared/data/sr)",
                         f"pass {option} DIR, or set EDGECONV_SR_DATA to the folder holding {role}/")
    try:
        from skimage import data
    except ImportError as exc:
        raise UsageError(option, f"not given, no {role} beside the checkout and scikit-image is not installed",
                         f"pass {option} DIR with real images, or pip install 'edgeconv[dev]'") from exc
    from PIL import Image

    from edgeconv.runtime.atomic_write import write_atomic

    photos_into.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        write_atomic(photos_into / f"{name}.png", lambda f, im=image: im.save(f, "PNG"))
    return photos_into, f"no {role} beside the checkout: scikit-image photos in {photos_into} stand in"


@dataclass
class SRValidationPair:
    """An HR image (uint8 (H, W, 3), or (H, W) when grey; cropped to a multiple of the scale) and the LR
    model input made from it (grey repeated to RGB)."""

    name: str
    hr: np.ndarray
    lr_input: np.ndarray


def selection_split(sr_root: Path) -> list[Path]:
    """The fixed images that pick best steps and INT8 budgets, never Set5.

    Args:
        sr_root: the shared SR data folder (``shared_sr_data``).

    Returns:
        Every 10th ``BSD200/*.png``, sorted (20 files when BSD200 is complete).
    """
    return sorted((sr_root / "BSD200").glob("*.png"))[::10]


def sr_validation_pairs(
    folder: str | Path | list[Path], facts: ModelFacts, max_images: int = 32, max_side: int = 512,
    degradation: str = "bicubic",
) -> list[SRValidationPair]:
    """Set5-style validation pairs: HR images and the LR model inputs made from them.

    Args:
        folder: a folder of HR images, or a list of image files.
        facts: the model's facts (``task`` must be ``sr`` with a scale).
        max_images: at most this many images (sorted order).
        max_side: HR images are centre-cropped to this side first, then cropped to a multiple of the scale.
        degradation: how LR is made (``runtime/imaging/degradations``; the benchmark protocol is ``bicubic``).

    Returns:
        One pair per image: HR uint8 (H, W, 3), or (H, W) for a grey image (scored on its own values), and the
        LR input float32 (1, 3, H / s, W / s) normalised as the model expects (grey repeated to RGB).

    Raises:
        UsageError: not an SR model, no images, or an image smaller than 4 x scale.
    """
    if facts.task != "sr" or not facts.scale:
        raise UsageError(
            "--val", f"PSNR validation needs a super-resolution model; this one's task is {facts.task!r}",
            "export the model with edgeconv export so its metadata names task and scale",
        )
    pairs = []
    for path in (folder if isinstance(folder, list) else image_files(folder))[:max_images]:
        name, image = path.name, read_image(path, keep_grey=True)  # a grey image is scored on its own values
        hr = crop_to_multiple(center_crop(image, max_side), facts.scale)
        if min(hr.shape[:2]) < 4 * facts.scale:
            raise UsageError(str(path), f"is too small to validate x{facts.scale} SR")
        lr = degrade(hr, facts.scale, degradation)
        pairs.append(SRValidationPair(name, hr, facts.to_input(lr if lr.ndim == 3 else np.repeat(lr[..., None], 3, 2))))
    return pairs


def score_output(output: np.ndarray, pair: SRValidationPair, facts: ModelFacts) -> tuple[float, float]:
    """``(PSNR-Y dB, SSIM-Y)`` of one model output against its pair's HR image (``score_sr``).

    Args:
        output: the model's output, float32 (1, 3, s * h, s * w) in its ``value_range``.
        pair: the HR image it should match.
        facts: the model's facts (value range, scale: the cropped border).

    Returns:
        PSNR-Y in dB (inf when identical) and SSIM-Y in [-1, 1].
    """
    return score_sr(facts.to_image(output) / 255.0, pair.hr, facts.scale or 0)


def sr_psnr_per_image(
    run: Callable[[np.ndarray], np.ndarray], pairs: list[SRValidationPair], facts: ModelFacts
) -> list[float]:
    """PSNR-Y of ``run`` on each pair, in order.

    Args:
        run: model input -> model output, both NCHW float32.
        pairs: from ``sr_validation_pairs``.
        facts: the model's facts.

    Returns:
        PSNR-Y (dB) per pair.
    """
    return [score_output(run(p.lr_input), p, facts)[0] for p in pairs]


def sr_quality(
    run: Callable[[np.ndarray], np.ndarray], pairs: list[SRValidationPair], facts: ModelFacts
) -> tuple[float, float]:
    """Mean PSNR-Y and SSIM-Y of ``run`` on ``pairs``.

    Args:
        run: model input -> model output, both NCHW float32.
        pairs: from ``sr_validation_pairs``, at least one.
        facts: the model's facts.

    Returns:
        ``(mean PSNR-Y dB, mean SSIM-Y)``.
    """
    scores = [score_output(run(p.lr_input), p, facts) for p in pairs]
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))
