"""The shipped default model: small, self-describing, and as good on Set5 as its record says."""

from __future__ import annotations

import pytest

from edgeconv.models.checkpoint import load_checkpoint
from edgeconv.models.complexity import count_macs
from edgeconv.models.default_model import DEFAULT_CHECKPOINT, default_checkpoint
from edgeconv.models.sr_data import load_hr_folder
from edgeconv.models.train_sr import evaluate_sr


def test_default_checkpoint_is_small_and_self_describing() -> None:
    path = default_checkpoint()
    assert path.stat().st_size < 2 * 1024 * 1024
    ckpt = load_checkpoint(path)
    assert (ckpt.task, ckpt.scale) == ("sr", 2)
    assert ckpt.train_args["train_dir"].endswith("T91") and ckpt.train_args["seed"] == 0
    assert (DEFAULT_CHECKPOINT.parent / "TRAINING.md").is_file()
    from edgeconv.export import to_deploy

    macs_per_pixel = count_macs(to_deploy(ckpt.build_model(path), "slice"), (1, 3, 90, 160)) / (90 * 160)
    assert macs_per_pixel <= 3500


def test_default_model_scores_its_recorded_set5_psnr(sr_data) -> None:
    ckpt = load_checkpoint(default_checkpoint())
    model = ckpt.build_model(default_checkpoint())
    metrics = evaluate_sr(model, load_hr_folder(sr_data / "Set5", 2, keep_grey=True), 2)
    assert metrics["psnr_y"] == pytest.approx(ckpt.metrics["best_psnr_y"], abs=0.01)
    assert metrics["psnr_y"] > 33.66 + 2.5  # bicubic + 2.5 dB
