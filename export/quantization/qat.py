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

import hashlib
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

    from edgeconv.models.data.sr import PatchSampler

OnStep = Callable[[int, int, float], None]


@dataclass
class QATSettings:
    """One fine-tuning run: HR images, how LR patches are made, and the budget."""

    data: Path  # folder of HR training images (never the images you report on)
    # the recipe, chosen by the BSD200 split's PSNR-Y drop on the `bicubic` model (U8S8 per channel): L1 3000
    # steps at 1e-3 0.034 dB, L2 0.030, L2 6000 at 5e-4 0.029, L2 12000 at 5e-4 0.027 (docs/INT8.md)
    steps: int = 12000
    batch_size: int = 16
    lr_patch: int = 48
    lr: float = 5e-4
    learn_scales: bool = True  # activation ranges learned too (LSQ); False: the calibrated ones stay
    loss: str = "l2"  # "l2" (mean squared error: what PSNR measures) or "l1", on luma
    degradation: str | None = None  # None: the one the model was trained with (its ONNX metadata), else bicubic
    seed: int = 0
    max_minutes: float | None = None  # stop after this long, the resumable state saved (nothing else written)
    state: Path | None = None  # where the resumable state goes (every ``save_every`` steps and at a stop)
    resume: Path | None = None  # a state file of the same graph and settings to continue from
    save_every: int = 500

    def check(self) -> None:
        """``UsageError`` naming the option that cannot work."""
        if not self.data.is_dir():
            raise UsageError(str(self.data), "is not a folder of training images", "give --qat-data a folder")
        if self.steps < 1 or self.batch_size < 1 or self.lr_patch < 8 or self.lr <= 0:
            raise UsageError("--qat-steps", "steps and batch size must be >= 1, patches >= 8 px, lr > 0")
        if self.loss not in ("l1", "l2"):
            raise UsageError("--qat-loss", f"unknown loss {self.loss!r}", "expected l1 or l2")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise UsageError("--max-minutes", f"must be > 0, got {self.max_minutes}")
        if self.resume is not None and not self.resume.is_file():
            raise UsageError(str(self.resume), "no such QAT state file",
                             "give --resume the .qat.pt a stopped run wrote")


@dataclass
class QATRun:
    """One fine-tuning sitting: the trained graph (None when stopped early), the loss per step so far."""

    model: onnx.ModelProto | None
    losses: list[float]
    steps: int  # the run's total
    state: Path | None = None  # the resumable state written at a stop

    @property
    def finished(self) -> bool:
        return self.model is not None


def trainable_weights(model: onnx.ModelProto) -> list[str]:
    """The weights ``edgeconv export`` marked as the model's parameters (``edgeconv.trainable``)."""
    props = {p.key: p.value for p in model.metadata_props}
    if PREFIX + "trainable" not in props:
        raise UsageError("model", "does not say which weights are trainable",
                         "re-export it with this edgeconv (edgeconv export) to fine-tune it")
    return json.loads(props[PREFIX + "trainable"])


def qat_finetune(
    int8: onnx.ModelProto, trainable: list[str], reduce_range: bool, scale: int, settings: QATSettings,
    degradation: str = "bicubic", on_step: OnStep | None = None,
    teacher: Callable[[np.ndarray], np.ndarray] | None = None,
) -> QATRun:
    """Fine-tune the QDQ graph ``int8`` (from ``quantize_int8``, before compaction).

    With ``settings.resume`` it continues a stopped run exactly where it stopped (same batches, same
    optimiser state); with ``settings.max_minutes`` it stops after that long and saves its state.

    Args:
        int8: the QDQ graph; not changed (the trained graph is a new model).
        trainable: the weights ``edgeconv export`` marked trainable (``trainable_weights``).
        reduce_range: the quantizer wrote 7-bit weights.
        scale: the SR model's upscaling factor.
        settings: the run (data, steps, budget, state files).
        degradation: how LR patches are made when ``settings.degradation`` does not say.
        on_step: called with ``(step, total, loss)`` after each step.
        teacher: the FP32 model as a numpy function (NCHW batch in, out); None trains against HR patches.

    Returns:
        The run: the trained graph (None when stopped by ``max_minutes``) and the loss per step.
    """
    settings.check()
    training = _Training.start(int8, trainable, reduce_range, scale, settings, degradation)
    losses: list[float] = []
    if settings.resume is not None:
        losses = load_state(settings.resume, training.parts, training.generator, training.signature)
    return training.run(losses, settings, on_step, teacher)


@dataclass
class _Training:
    """The trained QDQ graph with its optimiser, schedule and batch sampler (seeded: the same run every time)."""

    graph: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    sampler: PatchSampler
    generator: torch.Generator
    signature: dict[str, object]

    @classmethod
    def start(cls, int8: onnx.ModelProto, trainable: list[str], reduce_range: bool, scale: int,
              settings: QATSettings, degradation: str) -> _Training:
        """Build the graph (``QDQGraph``) and seed everything, in the order a resumed run repeats."""
        import torch

        from edgeconv.export.quantization.qdq_torch import QDQGraph
        from edgeconv.models.data.sr import PatchSampler, load_sr_dataset

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
        return cls(graph, optimizer, schedule, sampler, generator, _signature(int8, graph, settings))

    @property
    def parts(self) -> dict[str, object]:
        """What a saved state holds, by name."""
        return {"graph": self.graph, "optimizer": self.optimizer, "schedule": self.schedule}

    def run(self, losses: list[float], settings: QATSettings, on_step: OnStep | None,
            teacher: Callable[[np.ndarray], np.ndarray] | None) -> QATRun:
        """Train from step ``len(losses) + 1`` to the end, or until ``max_minutes`` (its state saved)."""
        start = time.monotonic()
        for step in range(len(losses) + 1, settings.steps + 1):
            losses.append(self.step(settings, teacher))
            if on_step is not None:
                on_step(step, settings.steps, losses[-1])
            out_of_time = settings.max_minutes is not None and time.monotonic() - start > 60 * settings.max_minutes
            save_now = out_of_time or step % settings.save_every == 0
            if settings.state is not None and step < settings.steps and save_now:
                save_state(settings.state, self.parts, self.generator, losses, self.signature)
            if out_of_time and step < settings.steps:
                if settings.state is None:
                    raise UsageError("--max-minutes", "a stopped fine-tuning needs somewhere to save its state")
                return QATRun(None, losses, settings.steps, settings.state)
        return QATRun(self.graph.quantized_model(), losses, settings.steps)

    def step(self, settings: QATSettings, teacher: Callable[[np.ndarray], np.ndarray] | None) -> float:
        """One optimiser step on a fresh batch; its loss (luma L1 or L2 against the teacher or the HR patches)."""
        import torch
        import torch.nn.functional as F

        from edgeconv.models.nets.luma_sr import rgb_to_luma

        lr_batch, hr_batch = self.sampler.batch(settings.batch_size)
        target = hr_batch if teacher is None else torch.from_numpy(teacher(lr_batch.numpy()))
        loss_fn = F.l1_loss if settings.loss == "l1" else F.mse_loss
        loss = loss_fn(rgb_to_luma(self.graph(lr_batch)), rgb_to_luma(target))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step()
        return float(loss.detach())


STATE_FORMAT = "edgeconv-qat-state/1"


def _signature(int8: onnx.ModelProto, graph: torch.nn.Module, settings: QATSettings) -> dict[str, object]:
    """What a state must match to be resumed: the quantized graph it started from (its calibrated constants),
    the trained tensors (names, shapes) and the run's settings."""
    digest = hashlib.sha256()
    for tensor in sorted(int8.graph.initializer, key=lambda t: t.name):
        digest.update(tensor.SerializeToString())
    tensors = [[name, list(p.shape)] for name, p in graph.named_parameters()]
    return {"graph": digest.hexdigest()[:16], "tensors": tensors,
            "steps": settings.steps, "batch_size": settings.batch_size, "lr_patch": settings.lr_patch,
            "lr": settings.lr, "seed": settings.seed, "learn_scales": settings.learn_scales, "loss": settings.loss}


def save_state(path: Path, parts: dict[str, object], generator: torch.Generator, losses: list[float],
               signature: dict[str, object]) -> None:
    """Write the resumable state atomically (a torch file of tensors and plain data: loads with weights_only)."""
    import torch

    state = {"format": STATE_FORMAT, "signature": json.dumps(signature), "losses": torch.tensor(losses),
             "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
             **{name: part.state_dict() for name, part in parts.items()}}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_state(path: Path, parts: dict[str, object], generator: torch.Generator,
               signature: dict[str, object]) -> list[float]:
    """Restore a saved state into ``parts``; the losses so far. ``UsageError`` naming the file when it is not one
    of this graph and these settings."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        ok = isinstance(state, dict) and state.get("format") == STATE_FORMAT
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same one line
        raise UsageError(str(path), f"is not a QAT state file ({type(exc).__name__})",
                         "give --resume the .qat.pt a stopped edgeconv quantize run wrote") from exc
    if not ok:
        raise UsageError(str(path), "is not a QAT state file", "give --resume the .qat.pt a stopped run wrote")
    saved = json.loads(state["signature"])
    expected = json.loads(json.dumps(signature))  # as JSON reads it back (tuples as lists)
    if saved != expected:
        differs = sorted(k for k in expected if saved.get(k) != expected[k])
        raise UsageError(str(path), f"was saved by another model or settings (differs in: {', '.join(differs)})",
                         "resume with the same model, scheme, calibration and --qat-steps")
    for name, part in parts.items():
        part.load_state_dict(state[name])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return [float(v) for v in state["losses"]]
