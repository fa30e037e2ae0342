"""Where the shipped, trained default model lives and how to get it."""

from __future__ import annotations

from pathlib import Path

from edgeconv.errors import UsageError

WEIGHTS_DIR = Path(__file__).with_name("weights")
DEFAULT_CHECKPOINT = WEIGHTS_DIR / "default_sr_x2.pt"


def default_checkpoint() -> Path:
    """The bundled x2 shift-family SR checkpoint (see weights/TRAINING.md for how it was made)."""
    if not DEFAULT_CHECKPOINT.is_file():
        raise UsageError(
            str(DEFAULT_CHECKPOINT), "is missing from this installation",
            "reinstall edgeconv or pass a checkpoint path explicitly",
        )
    return DEFAULT_CHECKPOINT
