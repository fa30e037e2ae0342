"""Super-resolution training: seeded, deterministic, resumable, budgeted, DDP under torchrun.

One process trains on one device. Under ``torchrun --nproc_per_node N`` each process joins a
process group (gloo on CPU, NCCL on CUDA), draws its own patch stream (seed + rank), and DDP
averages gradients, so every rank holds the same weights; only rank 0 validates and writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgeconv.models.checkpoint import Checkpoint
from edgeconv.models.registry import create_model
from edgeconv.models.sr_data import PatchSampler, SRPair, load_sr_dataset, to_tensor
from edgeconv.models.training import (
    Budget,
    check_device,
    cosine_lr,
    distributed_context,
    last_path_for,
    optimizer_step,
    resumable_extra,
    resume_from,
    save_best_and_last,
    seed_everything,
    sync_buffers,
    wrap_distributed,
)
from edgeconv.runtime.validation.sr_metrics import score_sr


@dataclass
class SRTrainConfig:
    """Everything that decides an SR training run (stored in the checkpoint's ``train_args``)."""

    model: str = "edge_sr"
    model_config: dict = field(default_factory=dict)
    train_dir: str = ""
    val_dir: str | None = None
    scale: int = 2
    lr_patch: int = 32
    batch_size: int = 16
    steps: int = 20000
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    max_minutes: float | None = None
    val_every: int = 1000
    device: str = "cpu"
    threads: int | None = None
    loss_on: str = "y"  # "y": L1 on BT.601 luma (what PSNR-Y scores), "rgb": L1 on RGB


@dataclass
class TrainResult:
    """Where training ended and what it measured."""

    steps: int
    losses: list[float]
    best_psnr: float | None
    best_path: Path | None
    last_path: Path | None
    minutes: float
    stopped_by_budget: bool


@torch.no_grad()
def evaluate_sr(model: nn.Module, pairs: list[SRPair], scale: int, device: str = "cpu") -> dict[str, float]:
    """Mean PSNR-Y / SSIM-Y over whole images; output clipped and rounded to 8 bits, as saved."""
    model.eval()
    scores = []
    for pair in pairs:
        lr = pair.lr if pair.lr.ndim == 3 else np.repeat(pair.lr[..., None], 3, axis=2)
        out = model(to_tensor(lr)[None].to(device))[0]
        scores.append(score_sr(out.permute(1, 2, 0).cpu().numpy(), pair.hr, scale))
    return {"psnr_y": float(np.mean([s[0] for s in scores])), "ssim_y": float(np.mean([s[1] for s in scores]))}


_LUMA = torch.tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1) / 255.0


def _luma(rgb: torch.Tensor) -> torch.Tensor:
    return (rgb * _LUMA.to(rgb.device)).sum(dim=1, keepdim=True)


def train_sr(
    config: SRTrainConfig,
    out: Path,
    resume: Path | None = None,
    on_step: Callable[[int, float, float | None], None] | None = None,
) -> TrainResult:
    """Train ``config.model``; write ``out`` (best by validation PSNR-Y) and ``out``.last.pt.

    Args:
        config: the run's settings.
        out: best checkpoint path; the resumable state goes to ``<out stem>.last.pt``.
        resume: a ``.last.pt`` (or any) checkpoint of the same model to continue from.
        on_step: called with (step, loss, latest val PSNR) for progress display.
    """
    rank, world = distributed_context()
    seed_everything(config.seed, config.threads)
    device = config.device
    check_device(device)

    train_pairs = load_sr_dataset(config.train_dir, config.scale)
    val_pairs = load_sr_dataset(config.val_dir, config.scale, keep_grey=True) if config.val_dir else []
    model_config = {"scale": config.scale, **config.model_config}
    model = create_model(config.model, **model_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start_step, best_psnr, losses = 0, None, []
    generator = torch.Generator().manual_seed(config.seed * 1000 + rank)
    if resume is not None:
        start_step, metrics, losses = resume_from(resume, config.model, model, optimizer, generator)
        best_psnr = metrics.get("best_psnr_y")
    sampler = PatchSampler(train_pairs, config.scale, config.lr_patch, generator)
    train_model = wrap_distributed(model, device, world)

    last_path = last_path_for(out)
    best_path: Path | None = out if (resume and out.exists()) else None
    budget = Budget(config.max_minutes, world)
    stopped_by_budget = False
    latest_val: float | None = best_psnr
    step = start_step
    for step in range(start_step + 1, config.steps + 1):
        model.train()
        lr_batch, hr_batch = sampler.batch(config.batch_size)
        pred, target = train_model(lr_batch.to(device)), hr_batch.to(device)
        if config.loss_on == "y":
            pred, target = _luma(pred), _luma(target)
        loss = F.l1_loss(pred, target)
        optimizer_step(optimizer, loss, cosine_lr(step, config.steps, config.lr))
        losses.append(loss.item())
        over_budget = budget.spent()  # every rank stops on the same step
        last = step == config.steps or over_budget
        if rank == 0 and (step % config.val_every == 0 or last):
            metrics = evaluate_sr(model, val_pairs, config.scale, device) if val_pairs else {}
            latest_val = metrics.get("psnr_y")
            improved = latest_val is not None and (best_psnr is None or latest_val > best_psnr)
            if improved:
                best_psnr = latest_val
            ckpt = _checkpoint(model, config, model_config, step, losses, best_psnr, metrics, optimizer, generator)
            save_best_and_last(ckpt, out, improved or not val_pairs)
            if improved or not val_pairs:
                best_path = out
        if on_step is not None and rank == 0:
            on_step(step, losses[-1], latest_val)
        if over_budget:
            stopped_by_budget = step < config.steps
            break
    sync_buffers(model, world)
    return TrainResult(
        step, losses, best_psnr, best_path, last_path if rank == 0 else None, budget.elapsed_minutes, stopped_by_budget
    )


def _checkpoint(
    model: nn.Module,
    config: SRTrainConfig,
    model_config: dict,
    step: int,
    losses: list[float],
    best_psnr: float | None,
    metrics: dict,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> Checkpoint:
    return Checkpoint(
        model_name=config.model,
        config=model_config,
        task="sr",
        scale=config.scale,
        state_dict=model.state_dict(),
        train_args=asdict(config),
        metrics={**{f"last_{k}": v for k, v in metrics.items()}, "best_psnr_y": best_psnr, "step": step},
        extra=resumable_extra(optimizer, step, losses, generator),
    )
