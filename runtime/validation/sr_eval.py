"""Super-resolution quality of any runnable model on real images: HR folder -> LR -> model -> PSNR-Y.

The protocol of the SR literature (``edgeconv.runtime.validation.sr_metrics``): the whole HR image cropped to
a multiple of the scale (bottom/right), LR by bicubic downscale, output rounded to 8 bits, PSNR on the BT.601
Y channel with ``scale`` border pixels shaved, a grey image scored on its own values. A centre crop of each
HR image only when asked (``SRProtocol.crop``), and then every description of the figure says so
(``SRProtocol.describe``). numpy and Pillow only: it runs on the device.
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
from edgeconv.runtime.imaging.tiling import tiled_run
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.validation.sr_metrics import score_sr

Run = Callable[[np.ndarray], np.ndarray]
SR_TILE = 256  # LR side above which a model runs an image in tiles (tiled == whole image; the memory of a tile)


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


@dataclass(frozen=True)
class SRProtocol:
    """How an SR quality figure is measured: the standard protocol unless ``crop`` is set."""

    scale: int
    degradation: str = "bicubic"  # how LR is made (``runtime/imaging/degradations``; the benchmarks: bicubic)
    crop: int | None = None  # side of a centre crop of each HR image; None: whole images (the standard)

    @property
    def region(self) -> str:
        """``whole`` or ``centre N-px crop``."""
        return "whole" if self.crop is None else f"centre {self.crop}-px crop"

    def describe(self, images: str, count: int, with_lr: bool = True) -> str:
        """What a figure measured this way says about itself.

        Args:
            images: the images' name (a folder's name).
            count: how many images.
            with_lr: name how LR was made (off where a table has one column per degradation).

        Returns:
            E.g. ``Set5 (5 images, whole, border 2, PSNR-Y, bicubic LR)``.
        """
        plural = "image" if count == 1 else "images"
        lr = f", {self.degradation} LR" if with_lr else ""
        return f"{images} ({count} {plural}, {self.region}, border {self.scale}, PSNR-Y{lr})"


@dataclass
class SRImagePair:
    """An HR image (uint8 (H, W, 3), or (H, W) when grey; cropped to a multiple of the scale) and the LR image
    made from it (uint8 (H / s, W / s, 3), grey repeated to RGB)."""

    name: str
    hr: np.ndarray
    lr: np.ndarray


@dataclass
class SRValidationPair:
    """An ``SRImagePair`` and the model input made from its LR image (float32 (1, 3, H / s, W / s))."""

    name: str
    hr: np.ndarray
    lr: np.ndarray
    lr_input: np.ndarray


def selection_split(sr_root: Path) -> list[Path]:
    """The fixed images that pick best steps and INT8 budgets, never Set5.

    Args:
        sr_root: the shared SR data folder (``shared_sr_data``).

    Returns:
        Every 10th ``BSD200/*.png``, sorted (20 files when BSD200 is complete).
    """
    return sorted((sr_root / "BSD200").glob("*.png"))[::10]


def image_label(folder: str | Path | list[Path]) -> str:
    """How a figure names its images: the folder's name, or ``N files in FOLDER`` for a list of files."""
    if isinstance(folder, list):
        parents = sorted({p.parent.name for p in folder})
        return f"{len(folder)} files in {', '.join(parents)}" if parents else "no files"
    return Path(folder).name or str(folder)


def sr_image_pairs(
    folder: str | Path | list[Path], protocol: SRProtocol, max_images: int = 32, option: str = "--images"
) -> list[SRImagePair]:
    """HR images and the LR images made from them by ``protocol``: the one place the protocol's images are made.

    Args:
        folder: a folder of HR images, or a list of image files.
        protocol: the scale, how LR is made, and the crop (None: whole images).
        max_images: at most this many images (sorted order).
        option: the option named when an image is too small.

    Returns:
        One pair per image: HR uint8 (H, W, 3), or (H, W) for a grey image (scored on its own values), cropped
        to a multiple of the scale (bottom/right; first to the centre crop when ``protocol.crop``), and its LR
        uint8 (H / s, W / s, 3) made by ``degrade`` (grey repeated to RGB).

    Raises:
        UsageError: no images, a crop under 4 x scale, or an image smaller than 4 x scale.
    """
    scale = protocol.scale
    if protocol.crop is not None and protocol.crop < 4 * scale:
        raise UsageError("--crop", f"must be >= {4 * scale} pixels at x{scale}, got {protocol.crop}")
    pairs = []
    for path in (folder if isinstance(folder, list) else image_files(folder))[:max_images]:
        image = read_image(path, keep_grey=True)  # a grey image is scored on its own values
        hr = crop_to_multiple(image if protocol.crop is None else center_crop(image, protocol.crop), scale)
        if min(hr.shape[:2]) < 4 * scale:
            raise UsageError(str(path), f"is too small to validate x{scale} SR", f"pass {option} with larger images")
        lr = degrade(hr, scale, protocol.degradation)
        pairs.append(SRImagePair(path.name, hr, lr if lr.ndim == 3 else np.repeat(lr[..., None], 3, 2)))
    return pairs


def sr_validation_pairs(
    folder: str | Path | list[Path], facts: ModelFacts, max_images: int = 32, crop: int | None = None,
    degradation: str = "bicubic",
) -> list[SRValidationPair]:
    """Validation pairs of the standard protocol: whole HR images and the model inputs made from them.

    Args:
        folder: a folder of HR images, or a list of image files.
        facts: the model's facts (``task`` must be ``sr`` with a scale).
        max_images: at most this many images (sorted order).
        crop: score a centre ``crop`` x ``crop`` window of each HR image; None (the standard): whole images.
        degradation: how LR is made (``runtime/imaging/degradations``; the benchmark protocol is ``bicubic``).

    Returns:
        ``sr_image_pairs`` with each LR image as the model's input: float32 (1, 3, H / s, W / s), normalised.

    Raises:
        UsageError: not an SR model, no images, or an image smaller than 4 x scale.
    """
    if facts.task != "sr" or not facts.scale:
        raise UsageError(
            "--images", f"PSNR validation needs a super-resolution model; this one's task is {facts.task!r}",
            "export the model with edgeconv export so its metadata names task and scale",
        )
    protocol = SRProtocol(facts.scale, degradation, crop)
    return [SRValidationPair(p.name, p.hr, p.lr, facts.to_input(p.lr))
            for p in sr_image_pairs(folder, protocol, max_images)]


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


def whole_image_run(run: Run, scale: int) -> Run:
    """``run`` on whole images of any size: an LR side over ``SR_TILE`` runs in exact tiles (``tiled_run``).

    Args:
        run: model input -> model output, both NCHW float32.
        scale: the model's scale.

    Returns:
        input -> output, the whole image's pixels (within float rounding) at the memory of a tile.
    """
    return tiled_run(run, scale, SR_TILE)


def sr_scores(run: Run, pairs: list[SRValidationPair], facts: ModelFacts) -> list[tuple[float, float]]:
    """``(PSNR-Y dB, SSIM-Y)`` of ``run`` on each pair, in order: the model on each whole LR image, then ``score_sr``.

    Args:
        run: model input -> model output, both NCHW float32 (tiled here when an image is large).
        pairs: from ``sr_validation_pairs``.
        facts: the model's facts (scale, value range).

    Returns:
        One ``(PSNR-Y, SSIM-Y)`` per pair.
    """
    whole = whole_image_run(run, facts.scale or 1)
    return [score_output(whole(p.lr_input), p, facts) for p in pairs]


def sr_psnr_per_image(run: Run, pairs: list[SRValidationPair], facts: ModelFacts) -> list[float]:
    """PSNR-Y of ``run`` on each pair, in order (``sr_scores``).

    Args:
        run: model input -> model output, both NCHW float32.
        pairs: from ``sr_validation_pairs``.
        facts: the model's facts.

    Returns:
        PSNR-Y (dB) per pair.
    """
    return [psnr for psnr, _ in sr_scores(run, pairs, facts)]


def sr_quality(run: Run, pairs: list[SRValidationPair], facts: ModelFacts) -> tuple[float, float]:
    """Mean PSNR-Y and SSIM-Y of ``run`` on ``pairs`` (``sr_scores``).

    Args:
        run: model input -> model output, both NCHW float32.
        pairs: from ``sr_validation_pairs``, at least one.
        facts: the model's facts.

    Returns:
        ``(mean PSNR-Y dB, mean SSIM-Y)``.
    """
    scores = sr_scores(run, pairs, facts)
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))
