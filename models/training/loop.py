"""What SR and classification training share: process group, seeding, schedule, budget, saving, the loop.

Both trainers run ``train_loop``: step, cosine learning rate, a wall-clock budget every rank agrees
on, validation every ``val_every`` steps on rank 0, the best checkpoint kept in ``out`` and the
resumable state in ``<out>.last.pt``, a progress callback. A trainer supplies only what differs
(``LoopHooks``): one batch's loss, the validation score, and the checkpoint describing its model.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.models.checkpoints.format import Checkpoint, load_checkpoint, save_checkpoint


def distributed_context() -> tuple[int, int]:
    """(rank, world size), joining the torchrun process group when launched under it."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def wrap_distributed(model: nn.Module, device: str, world: int) -> nn.Module:
    """DDP around ``model`` when more than one process trains; the model itself otherwise."""
    if world == 1:
        return model
    ids = [int(os.environ.get("LOCAL_RANK", 0))] if device.startswith("cuda") else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def sync_buffers(model: nn.Module, world: int) -> None:
    """Copy rank 0's buffers (BatchNorm running stats) to every rank.

    DDP averages gradients, so parameters agree, and it broadcasts buffers from rank 0 before
    each forward; after the last step each rank still holds its own batch's statistics. This
    makes every rank end with rank 0's, which is what the checkpoints hold.
    """
    if world > 1:
        for buffer in model.buffers():
            dist.broadcast(buffer.data, src=0)


def last_path_for(out: Path) -> Path:
    """``run.pt`` -> ``run.last.pt``: the resumable state beside the best checkpoint."""
    return out.with_name(out.with_suffix("").name + ".last.pt")


def save_best_and_last(checkpoint: Checkpoint, out: Path, improved: bool) -> None:
    """Write the resumable state to ``.last.pt``; when ``improved``, a slim copy (no optimiser) to ``out``."""
    if improved:
        save_checkpoint(Checkpoint(**{**checkpoint.__dict__, "extra": {"step": checkpoint.extra.get("step")}}), out)
    save_checkpoint(checkpoint, last_path_for(out))


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, lr: float) -> None:
    """Set the scheduled learning rate, then zero grads, backpropagate and step."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def resumable_extra(
    optimizer: torch.optim.Optimizer, step: int, losses: list[float], generator: torch.Generator
) -> dict:
    """What a ``.last.pt`` needs beyond the weights to continue a run exactly."""
    return {"optimizer": optimizer.state_dict(), "step": step, "losses": losses, "generator": generator.get_state()}


def resume_from(
    path: Path, model_name: str, model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator
) -> tuple[int, dict, list[float]]:
    """Load a ``.last.pt`` into ``model``, ``optimizer`` and ``generator``: (step, metrics, losses).

    Raises ``UsageError`` when the checkpoint holds another model.
    """
    state = load_checkpoint(path)
    if state.model_name != model_name:
        raise UsageError(str(path), f"is a {state.model_name} checkpoint, not {model_name}")
    model.load_state_dict(state.build_model(path).state_dict())
    extra = state.extra
    if "optimizer" in extra:
        optimizer.load_state_dict(extra["optimizer"])
    if "generator" in extra:
        generator.set_state(extra["generator"])
    return int(extra.get("step", 0)), state.metrics, list(extra.get("losses", []))


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed torch and numpy and ask torch for deterministic kernels."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    torch.use_deterministic_algorithms(True, warn_only=True)


def check_device(device: str) -> None:
    """Refuse a device this machine does not have, or a name that is not one (``UsageError`` on ``--device``)."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device", f"{device} is not available here", "use --device cpu")
    if not (device == "cpu" or device.startswith("cuda")):
        raise UsageError("--device", f"unknown device {device!r}", "use cpu, cuda or cuda:N")


def cosine_lr(step: int, total: int, base: float) -> float:
    """Cosine decay from ``base`` at step 0 to 0 at ``total``."""
    return base * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


class Budget:
    """A wall-clock budget in minutes that every rank agrees on."""

    def __init__(self, minutes: float | None, world: int) -> None:
        self.minutes, self.world, self.started = minutes, world, time.monotonic()

    @property
    def elapsed_minutes(self) -> float:
        """Minutes since the budget started."""
        return (time.monotonic() - self.started) / 60

    def spent(self) -> bool:
        """True on every rank once any rank is past the budget (collective under DDP: call it on all ranks)."""
        over = self.minutes is not None and self.elapsed_minutes >= self.minutes
        if self.world > 1:
            flag = torch.tensor([1.0 if over else 0.0])
            dist.all_reduce(flag)
            over = bool(flag.item() > 0)
        return over


StepCallback = Callable[[int, float, float | None], None]  # (step, loss, latest validation score)


class LoopConfig(Protocol):
    """The settings both trainers' configs hold that the loop reads."""

    model: str
    seed: int
    steps: int
    lr: float
    max_minutes: float | None
    val_every: int
    device: str
    threads: int | None


def start_run(config: LoopConfig) -> tuple[int, int, torch.Generator]:
    """Join torchrun's group, seed everything and check the device: (rank, world size, this rank's generator).

    Each rank draws its own data stream (seed * 1000 + rank); weights agree through DDP.
    """
    rank, world = distributed_context()
    seed_everything(config.seed, config.threads)
    check_device(config.device)
    return rank, world, torch.Generator().manual_seed(config.seed * 1000 + rank)


@dataclass
class LoopHooks:
    """What differs between trainers; everything else is ``train_loop``'s."""

    batch_loss: Callable[[nn.Module], torch.Tensor]  # one batch through the (maybe DDP-wrapped) model -> loss
    validate: Callable[[], tuple[float | None, dict]]  # (score, higher is better; None without val data; metrics)
    checkpoint: Callable[[int, float | None, dict, float | None], Checkpoint]  # (step, score, metrics, best)
    best_metric: str  # the checkpoint metric that holds the best score (read back on resume)


@dataclass
class LoopResult:
    """Where a training loop ended and what it kept."""

    steps: int
    losses: list[float]
    best: float | None
    best_saved: bool  # ``out`` holds the best checkpoint (written by this run, or by the one it resumed)
    minutes: float
    stopped_by_budget: bool
    rank: int


def train_loop(
    config: LoopConfig,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    hooks: LoopHooks,
    out: Path,
    resume: Path | None = None,
    on_step: StepCallback | None = None,
) -> LoopResult:
    """Train ``model`` for ``config.steps`` (or until the budget is spent), validating and checkpointing on rank 0.

    Resumes from ``resume`` (model, optimiser, generator, losses, best score) when given. Rank 0 writes
    ``<out>.last.pt`` at every validation and ``out`` when the score improved (always without val data).
    """
    rank, world = distributed_context()
    start, best, losses = 0, None, []
    if resume is not None:
        start, metrics, losses = resume_from(resume, config.model, model, optimizer, generator)
        best = metrics.get(hooks.best_metric)
    train_model = wrap_distributed(model, config.device, world)
    best_saved = resume is not None and out.exists()
    budget = Budget(config.max_minutes, world)
    latest, step, stopped = best, start, False
    for step in range(start + 1, config.steps + 1):
        model.train()
        loss = hooks.batch_loss(train_model)
        optimizer_step(optimizer, loss, cosine_lr(step, config.steps, config.lr))
        losses.append(loss.item())
        over = budget.spent()  # every rank stops on the same step
        if rank == 0 and (step % config.val_every == 0 or step == config.steps or over):
            latest, metrics = hooks.validate()
            improved = latest is not None and (best is None or latest > best)
            best = latest if improved else best
            keep = improved or latest is None
            ckpt = hooks.checkpoint(step, latest, metrics, best)
            save_best_and_last(replace(ckpt, extra=resumable_extra(optimizer, step, losses, generator)), out, keep)
            best_saved = best_saved or keep
        if on_step is not None and rank == 0:
            on_step(step, losses[-1], latest)
        if over:
            stopped = step < config.steps
            break
    sync_buffers(model, world)
    return LoopResult(step, losses, best, best_saved, budget.elapsed_minutes, stopped, rank)
