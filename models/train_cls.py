"""Classification training (CIFAR-100, image-folder textures): SGD + cosine, seeded, DDP-ready."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.models.checkpoint import Checkpoint
from edgeconv.models.cls_data import (
    CIFAR100_MEAN,
    CIFAR100_STD,
    augment_batch,
    load_cifar100,
    load_image_folder,
    normalize,
)
from edgeconv.models.registry import create_model
from edgeconv.models.training import (
    Budget,
    check_device,
    cosine_lr,
    distributed_context,
    optimizer_step,
    resumable_extra,
    resume_from,
    save_best_and_last,
    seed_everything,
    sync_buffers,
    wrap_distributed,
)


@dataclass
class ClsTrainConfig:
    """Everything that decides a classification run (stored in the checkpoint's ``train_args``)."""

    model: str = "resnet18_cifar"
    model_config: dict = field(default_factory=dict)
    dataset: str = "cifar100"  # or "folder": root/<class>/<image>
    data: str = ""
    val_data: str | None = None  # folder datasets: a separate root; CIFAR: its test split
    image_size: int = 32
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
    steps: int
    losses: list[float]
    best_accuracy: float | None
    minutes: float
    stopped_by_budget: bool


def load_cls_data(config: ClsTrainConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """(train x, train y, val x, val y, classes), x normalised NCHW float32."""
    if config.dataset == "cifar100":
        xtr, ytr = load_cifar100(config.data, "train")
        xva, yva = load_cifar100(config.val_data or config.data, "test")
        classes = 100
    elif config.dataset == "folder":
        xtr, ytr, names = load_image_folder(config.data, config.image_size)
        if config.val_data:
            xva, yva, val_names = load_image_folder(config.val_data, config.image_size)
            if val_names != names:
                raise UsageError(config.val_data, "has different class folders than the training data")
        else:
            xva, yva = xtr[:0], ytr[:0]
        classes = len(names)
    else:
        raise UsageError("--dataset", f"unknown dataset {config.dataset!r}", "use cifar100 or folder")
    mean, std = CIFAR100_MEAN, CIFAR100_STD
    return normalize(xtr, mean, std), torch.from_numpy(ytr), normalize(xva, mean, std), torch.from_numpy(yva), classes


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
    on_step: Callable[[int, float, float | None], None] | None = None,
) -> ClsTrainResult:
    """Train a classifier; rank 0 keeps the best validation accuracy in ``out`` (and .last.pt)."""
    rank, world = distributed_context()
    seed_everything(config.seed, config.threads)
    check_device(config.device)
    xtr, ytr, xva, yva, classes = load_cls_data(config)
    model_config = {"num_classes": classes, **config.model_config}
    model = create_model(config.model, **model_config).to(config.device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay, nesterov=True
    )
    generator = torch.Generator().manual_seed(config.seed * 1000 + rank)
    start, best, losses = 0, None, []
    if resume is not None:
        start, metrics, losses = resume_from(resume, config.model, model, optimizer, generator)
        best = metrics.get("best_accuracy")
    train_model = wrap_distributed(model, config.device, world)
    budget = Budget(config.max_minutes, world)
    latest, step, stopped = best, start, False
    for step in range(start + 1, config.steps + 1):
        model.train()
        idx = torch.randint(len(xtr), (config.batch_size,), generator=generator)
        xb = augment_batch(xtr[idx], generator).to(config.device)
        loss = F.cross_entropy(train_model(xb), ytr[idx].to(config.device))
        optimizer_step(optimizer, loss, cosine_lr(step, config.steps, config.lr))
        losses.append(loss.item())
        over = budget.spent()
        if rank == 0 and (step % config.val_every == 0 or step == config.steps or over):
            latest = accuracy(model, xva, yva, config.device) if len(xva) else None
            improved = latest is not None and (best is None or latest > best)
            best = latest if improved else best
            ckpt = Checkpoint(
                config.model, model_config, "cls", model.state_dict(),
                normalization={"mean": list(CIFAR100_MEAN), "std": list(CIFAR100_STD)},
                train_args=asdict(config), metrics={"accuracy": latest, "best_accuracy": best, "step": step},
                extra=resumable_extra(optimizer, step, losses, generator),
            )
            save_best_and_last(ckpt, out, improved or latest is None)
        if on_step is not None and rank == 0:
            on_step(step, losses[-1], latest)
        if over:
            stopped = step < config.steps
            break
    sync_buffers(model, world)
    return ClsTrainResult(step, losses, best, budget.elapsed_minutes, stopped)
