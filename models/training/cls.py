"""Classification training (CIFAR-100, image-folder textures): SGD + cosine, seeded, DDP-ready.

Inputs are normalised per channel: CIFAR-100 with its published mean/std, an image-folder dataset
(DTD, the harness's textures) with the mean/std of its own training images. The checkpoint stores
the normalisation used, so export and ERF prepare images the way the model was trained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.models.checkpoints.format import Checkpoint
from edgeconv.models.data.cls import (
    CIFAR100_MEAN,
    CIFAR100_STD,
    augment_batch,
    center_crop_batch,
    load_cifar100,
    load_image_folder,
    normalize,
    random_crop_batch,
)
from edgeconv.models.nets.registry import create_model
from edgeconv.models.training.loop import LoopHooks, StepCallback, start_run, train_loop


@dataclass
class ClsTrainConfig:
    """Everything that decides a classification run (stored in the checkpoint's ``train_args``)."""

    model: str = "resnet18_cifar"
    model_config: dict = field(default_factory=dict)
    dataset: str = "cifar100"  # or "folder": root/<class>/<image>
    data: str = ""
    val_data: str | None = None  # folder datasets: a separate root; CIFAR: its test split
    image_size: int = 32  # the side the net sees
    load_size: int | None = None  # folders: shorter side resized to this, centre square; random image_size crops
    batch_size: int = 128
    steps: int = 5000
    lr: float = 0.1
    weight_decay: float = 5e-4
    seed: int = 0
    max_minutes: float | None = None
    val_every: int = 500
    device: str = "cpu"
    threads: int | None = None


@dataclass
class ClsTrainResult:
    """Where classification training ended and what it measured."""

    steps: int
    losses: list[float]
    best_accuracy: float | None
    minutes: float
    stopped_by_budget: bool


@dataclass
class ClsData:
    """Normalised training and validation tensors (NCHW float32), labels, and the normalisation used."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def normalization(self) -> dict[str, list[float]]:
        """The checkpoint's ``normalization`` field: what export and ERF apply to RGB in [0, 1]."""
        return {"mean": list(self.mean), "std": list(self.std)}


def channel_stats(images: np.ndarray) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Per-channel mean and std of uint8 NHWC ``images`` in [0, 1] units (a constant channel gets std 1)."""
    pixels = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    mean, std = pixels.mean(axis=0), pixels.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)  # type: ignore[return-value]


def loaded_side(config: ClsTrainConfig) -> int:
    """The side folder images are loaded at: ``load_size`` when set (>= ``image_size``), else ``image_size``."""
    if config.load_size is None:
        return config.image_size
    if config.load_size < config.image_size:
        raise UsageError("--load-size", f"{config.load_size} is below the crop {config.image_size}",
                         "load at least as large as the net's input")
    return config.load_size


def load_cls_data(config: ClsTrainConfig) -> ClsData:
    """The run's data, normalised: CIFAR-100 with its published mean/std, folders with their training images' own."""
    if config.dataset == "cifar100":
        xtr, ytr = load_cifar100(config.data, "train")
        xva, yva = load_cifar100(config.val_data or config.data, "test")
        classes, (mean, std) = 100, (CIFAR100_MEAN, CIFAR100_STD)
    elif config.dataset == "folder":
        load = loaded_side(config)
        xtr, ytr, names = load_image_folder(config.data, load)
        if config.val_data:
            xva, yva, val_names = load_image_folder(config.val_data, load)
            if val_names != names:
                raise UsageError(config.val_data, "has different class folders than the training data")
        else:
            xva, yva = xtr[:0], ytr[:0]
        classes, (mean, std) = len(names), channel_stats(xtr)
    else:
        raise UsageError("--dataset", f"unknown dataset {config.dataset!r}", "use cifar100 or folder")
    x_val = center_crop_batch(normalize(xva, mean, std), config.image_size)  # scored on the centre
    return ClsData(normalize(xtr, mean, std), torch.from_numpy(ytr), x_val,
                   torch.from_numpy(yva), classes, tuple(mean), tuple(std))  # type: ignore[arg-type]


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: str, batch: int = 256) -> float:
    """Top-1 accuracy in [0, 1]."""
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += int((model(x[i : i + batch].to(device)).argmax(1).cpu() == y[i : i + batch]).sum())
    return correct / max(len(x), 1)


def train_cls(
    config: ClsTrainConfig,
    out: Path,
    resume: Path | None = None,
    on_step: StepCallback | None = None,
) -> ClsTrainResult:
    """Train a classifier; rank 0 keeps the best validation accuracy in ``out`` (and .last.pt)."""
    _, _, generator = start_run(config)
    data = load_cls_data(config)
    model_config = {"num_classes": data.classes, **config.model_config}
    model = create_model(config.model, **model_config).to(config.device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay, nesterov=True
    )

    def batch_loss(train_model: nn.Module) -> torch.Tensor:
        idx = torch.randint(len(data.x_train), (config.batch_size,), generator=generator)
        xb = data.x_train[idx]
        if xb.shape[-1] > config.image_size:  # loaded larger: random crops of the net's size
            xb = random_crop_batch(xb, config.image_size, generator)
        else:
            xb = augment_batch(xb, generator)
        xb = xb.to(config.device)
        return F.cross_entropy(train_model(xb), data.y_train[idx].to(config.device))

    def validate() -> tuple[float | None, dict]:
        return (accuracy(model, data.x_val, data.y_val, config.device) if len(data.x_val) else None), {}

    def checkpoint(step: int, score: float | None, metrics: dict, best: float | None) -> Checkpoint:
        return Checkpoint(
            config.model, model_config, "cls", model.state_dict(), normalization=data.normalization,
            train_args=asdict(config), metrics={"accuracy": score, "best_accuracy": best, "step": step},
        )

    hooks = LoopHooks(batch_loss, validate, checkpoint, best_metric="best_accuracy")
    loop = train_loop(config, model, optimizer, generator, hooks, out, resume, on_step)
    return ClsTrainResult(loop.steps, loop.losses, loop.best, loop.minutes, loop.stopped_by_budget)
