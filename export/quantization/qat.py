"""Quantization-aware fine-tuning of an SR model's INT8 graph: every layer INT8, weights trained to live with it.

Post-training quantization rounds weights and activations that were trained in float; on a tiny SR net
that costs 0.06-0.3 dB PSNR-Y. Here the quantizer's QDQ graph itself (``QDQGraph``: the same Q/DQ places,
scales and weight rule as the file) is fine-tuned with L1 on luma, the straight-through estimator carrying
gradients through the rounding, then written back: no calibration afterwards, and what was trained is what
runs. The target is the FP32 model's own output on the same patches (distillation: the INT8 graph learns to
compute what the float model computes, so the model's trade-offs across degradations stay its own), or
the HR patches when no teacher is given. Activation ranges stay the calibrated ones; the trained parameters are the ones
the export marked (``edgeconv.trainable``: the model's own weights, not the fixed luma or bicubic kernels).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx

from edgeconv.errors import UsageError
from edgeconv.runtime.model_facts import PREFIX

if TYPE_CHECKING:
    import torch

LUMA = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)
OnStep = Callable[[int, int, float], None]


@dataclass
class QATSettings:
    """One fine-tuning run: HR images, how LR patches are made, and the budget."""

    data: Path  # folder of HR training images (never the images you report on)
    steps: int = 3000  # photo model, U8U8: 1500 steps at 5e-4 gave -0.056 dB, 3000 at 1e-3 -0.050 (PTQ -0.083)
    batch_size: int = 16
    lr_patch: int = 48
    lr: float = 1e-3
    learn_scales: bool = True  # activation ranges learned too (LSQ); False: the calibrated ones stay
    degradation: str | None = None  # None: the one the model was trained with (its ONNX metadata), else bicubic
    seed: int = 0
    max_minutes: float | None = None

    def check(self) -> None:
        """``UsageError`` naming the option that cannot work."""
        if not self.data.is_dir():
            raise UsageError(str(self.data), "is not a folder of training images", "give --qat-data a folder")
        if self.steps < 1 or self.batch_size < 1 or self.lr_patch < 8 or self.lr <= 0:
            raise UsageError("--qat-steps", "steps and batch size must be >= 1, patches >= 8 px, lr > 0")


def trainable_weights(model: onnx.ModelProto) -> list[str]:
    """The weights ``edgeconv export`` marked as the model's parameters (``edgeconv.trainable``)."""
    props = {p.key: p.value for p in model.metadata_props}
    if PREFIX + "trainable" not in props:
        raise UsageError("model", "does not say which weights are trainable",
                         "re-export it with this edgeconv (edgeconv export) to fine-tune it")
    return json.loads(props[PREFIX + "trainable"])


def _luma(rgb: torch.Tensor) -> torch.Tensor:
    import torch

    return (rgb * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def qat_finetune(
    int8: onnx.ModelProto, trainable: list[str], reduce_range: bool, scale: int, settings: QATSettings,
    degradation: str = "bicubic", on_step: OnStep | None = None,
    teacher: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[onnx.ModelProto, list[float]]:
    """Fine-tune the QDQ graph ``int8`` (from ``quantize_int8``, before compaction); (new graph, losses).

    ``teacher``: the FP32 model as a numpy function (NCHW batch in, out); None trains against HR patches.
    """
    import torch
    import torch.nn.functional as F

    from edgeconv.export.quantization.qdq_torch import QDQGraph
    from edgeconv.models.sr_data import PatchSampler, load_sr_dataset

    settings.check()
    names = {t.name.removesuffix("_quantized") for t in int8.graph.initializer}
    graph = QDQGraph(int8, [w for w in trainable if w in names], reduce_range=reduce_range,
                     learn_scales=settings.learn_scales)
    parameters = [p for p in graph.parameters() if p.requires_grad]
    if not list(graph.weights.parameters()):
        raise UsageError("model", "has no quantized weight marked trainable")
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    sampler = PatchSampler(load_sr_dataset(settings.data, scale), scale, settings.lr_patch, generator,
                           settings.degradation or degradation)
    optimizer = torch.optim.Adam(parameters, lr=settings.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.steps)
    losses, start = [], time.monotonic()
    for step in range(1, settings.steps + 1):
        lr_batch, hr_batch = sampler.batch(settings.batch_size)
        target = hr_batch if teacher is None else torch.from_numpy(teacher(lr_batch.numpy()))
        loss = F.l1_loss(_luma(graph(lr_batch)), _luma(target))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step, settings.steps, losses[-1])
        if settings.max_minutes is not None and time.monotonic() - start > 60 * settings.max_minutes:
            break
    return graph.quantized_model(), losses
