"""The shipped checkpoints: small, self-describing, selected without Set5, and as good as their records say."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.export import to_deploy
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.checkpoints.shipped import (
    DEFAULT_CHECKPOINT,
    SHIPPED_CHECKPOINTS,
    default_checkpoint,
    shipped_checkpoint,
)
from edgeconv.models.nets.complexity import count_macs
from edgeconv.runtime.imaging.degradations import PROTOCOLS, degrade
from edgeconv.runtime.imaging.images import crop_to_multiple, image_files, read_image
from edgeconv.runtime.validation.sr_metrics import score_sr


@pytest.mark.parametrize("name", sorted(SHIPPED_CHECKPOINTS))
def test_shipped_checkpoint_is_small_and_self_describing(name: str) -> None:
    path = shipped_checkpoint(name)
    assert path.stat().st_size < 2 * 1024 * 1024
    ckpt = load_checkpoint(path)
    assert (ckpt.task, ckpt.scale) == ("sr", 2)
    assert (path.parent / "TRAINING.md").is_file() and path.name in (path.parent / "TRAINING.md").read_text()
    macs_per_pixel = count_macs(to_deploy(ckpt.build_model(path), "slice"), (1, 3, 90, 160)) / (90 * 160)
    assert macs_per_pixel <= 3500
    if name != "jitter":  # the two current models: 291 images, best step picked on BSD200, never on Set5
        assert ckpt.train_args["train_dir"].endswith("sr291_train")
        assert ckpt.train_args["val_dir"].endswith("bsd200_val")
        degradation = ckpt.train_args.get("degradation", "bicubic")
        assert degradation.startswith("mixed") if name == "photo" else degradation == "bicubic", degradation


def test_default_is_the_photo_model_and_unknown_names_are_refused() -> None:
    assert default_checkpoint() == DEFAULT_CHECKPOINT == SHIPPED_CHECKPOINTS["photo"]
    with pytest.raises(UsageError, match=r"grainy \| is not a shipped model"):
        shipped_checkpoint("grainy")


def _set5_psnr(model, folder, protocol: str) -> tuple[float, float]:
    """Mean PSNR-Y on Set5 under ``protocol``: (model, Pillow bicubic upscale of the same LR)."""
    import torch

    ours, bicubic = [], []
    for path in image_files(folder):
        hr = crop_to_multiple(read_image(path), 2)
        lr = degrade(hr, 2, protocol)
        with torch.no_grad():
            out = model(torch.from_numpy(lr.copy()).permute(2, 0, 1)[None].float() / 255.0)[0].permute(1, 2, 0).numpy()
        up = np.asarray(Image.fromarray(lr).resize((hr.shape[1], hr.shape[0]), Image.BICUBIC)) / 255.0
        ours.append(score_sr(out, hr, 2)[0])
        bicubic.append(score_sr(up, hr, 2)[0])
    return float(np.mean(ours)), float(np.mean(bicubic))


def test_photo_model_is_never_worse_than_bicubic_upscaling(sr_data) -> None:
    """The photo model's promise: on every degradation protocol it beats the bicubic resize it replaces."""
    model = load_checkpoint(shipped_checkpoint("photo")).build_model(shipped_checkpoint("photo"))
    gains = {p: np.subtract(*_set5_psnr(model, sr_data / "Set5", p)) for p in PROTOCOLS}
    # models/weights/TRAINING.md (the soft-content fine-tune): worst +0.97 (blur), cubic-aliased +1.48, bicubic +2.00
    assert min(gains.values()) > 0.9, gains
    assert gains["cubic-aliased"] > 1.4 and gains["bicubic"] > 1.95, gains


def test_bicubic_model_scores_its_recorded_set5_psnr(sr_data) -> None:
    path = shipped_checkpoint("bicubic")
    model = load_checkpoint(path).build_model(path)
    ours, bicubic = _set5_psnr(model, sr_data / "Set5", "bicubic")
    assert ours == pytest.approx(36.794, abs=0.01)  # TRAINING.md: issue 15 asks >= 36.70 at <= 3.5k MACs
    assert ours > bicubic + 2.8
