"""Training batches are NCHW-contiguous, and a small texture ResNet trains on AVX2 kernels without hanging.

oneDNN (PyTorch's CPU convolutions) hangs on AVX2 and crashes on AVX-512 in the backward-weights
pass of a 1x1 stride-2 conv with few input channels when the batch is channels-last (oneDNN issue
6035). ``torch.from_numpy(nhwc).permute(0, 3, 1, 2)`` is channels-last by accident. The training
test below runs with ``ONEDNN_MAX_CPU_ISA=AVX2``, so AVX-512 machines exercise the AVX2 kernels too,
and fails after a short timeout naming the likely cause instead of spinning for minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from edgeconv.models.data.cls import augment_batch, normalize
from edgeconv.research.texture_data import make_texture_folders
from edgeconv.runtime.erf.impulse import erf_images
from edgeconv.runtime.model_facts import ModelFacts

HANG_TIMEOUT_S = 60


def test_classification_batches_are_contiguous_nchw() -> None:
    images = np.random.default_rng(0).integers(0, 256, (6, 20, 20, 3), dtype=np.uint8)
    x = normalize(images, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert x.shape == (6, 3, 20, 20) and x.is_contiguous()
    assert not x.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(x[2, 1], (torch.from_numpy(images[2, :, :, 1]).float() / 255 - 0.5) / 0.25)
    batch = augment_batch(x, torch.Generator().manual_seed(0))
    assert batch.is_contiguous() and batch.shape == x.shape
    channels_last = augment_batch(x.contiguous(memory_format=torch.channels_last), torch.Generator().manual_seed(0))
    assert channels_last.is_contiguous()
    torch.testing.assert_close(channels_last, batch)


def test_model_inputs_and_erf_crops_are_contiguous(tmp_path: Path) -> None:
    from PIL import Image

    image = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "a.png")
    crops = erf_images(tmp_path, 32, 1)
    assert crops.shape == (1, 3, 32, 32) and crops.flags.c_contiguous
    facts = ModelFacts(task="sr", scale=2, mean=(0.0,) * 3, std=(1.0,) * 3, value_range=(0.0, 1.0))
    assert facts.to_input(image).flags.c_contiguous


def test_width4_texture_resnet_trains_on_avx2_kernels_with_two_threads(tmp_path: Path) -> None:
    train, val = make_texture_folders(tmp_path / "textures", train_per_class=4, val_per_class=2)
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "OMP_NUM_THREADS": "2"}
    cmd = [sys.executable, "-m", "edgeconv.cli.app", "train", "cls", "--dataset", "folder",
           "--data", str(train), "--val", str(val), "--model", "texture_resnet18",
           "--model-config", '{"width": 4}', "--image-size", "64", "--steps", "6", "--batch-size", "32",
           "--val-every", "6", "--threads", "2", "-o", str(tmp_path / "t.pt")]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"width-4 texture training did not finish in {HANG_TIMEOUT_S} s on AVX2 kernels: "
                    "a channels-last batch reaching oneDNN's 1x1 backward-weights (oneDNN issue 6035)?")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.pt").is_file()
