"""The shipped, trained checkpoints: where they live and how to get one by name.

``photo`` (the default of ``upscale`` and ``pipeline``) is trained on mixed degradations so it never
does worse than a bicubic resize on real photos; ``bicubic`` is the benchmark model (PIL bicubic
downscales, the Set5/Set14 protocol); ``jitter`` is the study's shift model, kept as the worked example
of the shift rewrite. How each was made: ``models/weights/TRAINING.md``.
"""

from __future__ import annotations

from pathlib import Path

from edgeconv.errors import UsageError

WEIGHTS_DIR = Path(__file__).parent.parent / "weights"  # models/weights
SHIPPED_CHECKPOINTS = {
    "photo": WEIGHTS_DIR / "sr_x2_photo.pt",
    "bicubic": WEIGHTS_DIR / "sr_x2_bicubic.pt",
    "jitter": WEIGHTS_DIR / "jitter_sr_x2.pt",
}
# x3 / x4 models, by (scale, name), as they finish training (training/sr/TRAINING.md); x2 is SHIPPED_CHECKPOINTS
SCALED_CHECKPOINTS = {
    (3, "bicubic"): WEIGHTS_DIR / "sr_x3_bicubic.pt",
    (3, "photo"): WEIGHTS_DIR / "sr_x3_photo.pt",
    (4, "bicubic"): WEIGHTS_DIR / "sr_x4_bicubic.pt",
    (4, "photo"): WEIGHTS_DIR / "sr_x4_photo.pt",
}
DEFAULT_MODEL = "photo"
DEFAULT_CHECKPOINT = SHIPPED_CHECKPOINTS[DEFAULT_MODEL]
JITTER_CHECKPOINT = SHIPPED_CHECKPOINTS["jitter"]


def shipped_checkpoint(name: str = DEFAULT_MODEL) -> Path:
    """The bundled x2 checkpoint called ``name`` (photo, bicubic or jitter); ``UsageError`` if unknown or missing."""
    if name not in SHIPPED_CHECKPOINTS:
        raise UsageError(name, "is not a shipped model", f"choose one of {', '.join(SHIPPED_CHECKPOINTS)}")
    path = SHIPPED_CHECKPOINTS[name]
    if not path.is_file():
        raise UsageError(str(path), "is missing from this installation",
                         "reinstall edgeconv or pass a checkpoint path explicitly")
    return path


def default_checkpoint() -> Path:
    """The default x2 checkpoint (``photo``)."""
    return shipped_checkpoint(DEFAULT_MODEL)
