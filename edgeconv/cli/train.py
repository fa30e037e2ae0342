"""``edgeconv train``: train SR and classification models into self-describing checkpoints.

Runs as one process, or under ``torchrun --nproc_per_node N edgeconv train ...`` with DDP
(gloo on CPU, NCCL on GPUs); rank 0 validates and writes checkpoints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from edgeconv.cli.arguments import Force, plain
from edgeconv.errors import UsageError
from edgeconv.runtime.choices import ClsDataset, ConvVariant, LossOn, SrSelection

app = typer.Typer(help="Train models into edgeconv checkpoints.", no_args_is_help=True)

OutCheckpoint = Annotated[Path, typer.Option("--out", "-o", help="Best checkpoint (.pt); resumable state as .last.pt.")]
ModelName = Annotated[str, typer.Option(help="Registered model name.")]
ModelConfig = Annotated[str, typer.Option("--model-config", help="JSON keyword arguments for the model.")]
Seed = Annotated[int, typer.Option(help="Seed for weights, sampling and augmentation.")]
MaxMinutes = Annotated[float | None, typer.Option(help="Stop after this many minutes (checkpoint saved).")]
ValEvery = Annotated[int, typer.Option(help="Validate and checkpoint every N steps.")]
Device = Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")]
TorchThreads = Annotated[int | None, typer.Option(help="Torch CPU threads.")]
Resume = Annotated[Path | None, typer.Option(help="Continue from a .last.pt checkpoint.")]
SoftContent = Annotated[float, typer.Option(
    help="Share of patches whose HR is itself soft (blurred): for video; also scores soft validation images.")]
Init = Annotated[Path | None, typer.Option(help="Start from this checkpoint's weights (fine-tune; same model).")]
SRData = Annotated[Path, typer.Option("--data", help="HR image folder (T91) or a DIV2K root.")]
SRVal = Annotated[Path | None, typer.Option("--val", help="Evaluation folder (Set5) for PSNR-Y.")]
Scale = Annotated[int, typer.Option(help="Upscaling factor: 2, 3 or 4.")]
SRSteps = Annotated[int, typer.Option(help="Optimiser steps (cosine schedule over them).")]
Patches = Annotated[int, typer.Option(help="Patches per step.")]
LRPatch = Annotated[int, typer.Option(help="LR patch side.")]
AdamLR = Annotated[float, typer.Option(help="Adam learning rate.")]
LossOnOption = Annotated[LossOn, typer.Option(help="L1 loss on y (luma, what PSNR-Y scores) or rgb.")]
Degradation = Annotated[str, typer.Option(
    help="How LR patches are made: bicubic, cubic-aliased, ..., mixed, or mixed:cubic-aliased=3,noise=0.5.")]
Select = Annotated[SrSelection, typer.Option(
    help="Best step by psnr (PSNR-Y of bicubic LR) or worst-gain (smallest gain over bicubic upscaling, "
         "every protocol: for photo models).")]
ClsDataRoot = Annotated[Path, typer.Option("--data", help="CIFAR-100 root (cifar-100-python) or an image-folder root.")]
Dataset = Annotated[ClsDataset, typer.Option(help="CIFAR-100's python files, or image folders (<class>/<image>, DTD).")]
ClsVal = Annotated[Path | None, typer.Option("--val", help="Validation root (folder datasets).")]
Variant = Annotated[ConvVariant, typer.Option(help="3x3 conv variant of the ResNet.")]
ImageSize = Annotated[int, typer.Option(help="Side images are resized/cropped to (folder datasets).")]
SGDSteps = Annotated[int, typer.Option(help="SGD steps (cosine schedule).")]
ImagesPerStep = Annotated[int, typer.Option(help="Images per step.")]
PeakLR = Annotated[float, typer.Option(help="Peak learning rate.")]


@contextmanager
def training_progress(total: int, metric: str, fmt: Callable[[float], str]) -> Iterator[Callable]:
    """A rich progress bar with loss and the latest validation metric; yields the step callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]train[/]"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]:.4f}"), TextColumn(f"val {metric} {{task.fields[val]}}"),
        TimeElapsedColumn(),
        disable=not is_rank_zero(),
    ) as progress:
        task = progress.add_task("train", total=total, loss=float("nan"), val="-")

        def on_step(step: int, loss: float, val: float | None) -> None:
            progress.update(task, completed=step, loss=loss, val=fmt(val) if val is not None else "-")

        yield on_step


def is_rank_zero() -> bool:
    """True unless this process is a non-zero torchrun rank (only rank 0 reports and writes)."""
    return os.environ.get("RANK", "0") == "0"


def report(message: str) -> None:
    """Print ``message`` on rank 0 only, so a torchrun job says it once."""
    if is_rank_zero():
        typer.echo(message)


def check_output(out: Path, force: bool, resume: Path | None) -> None:
    """Refuse to overwrite without --force, and a folder that does not exist."""
    if out.exists() and not force and resume is None:
        raise UsageError(str(out), "already exists", "pass --force to overwrite or --resume to continue")
    if not out.parent.is_dir():
        raise UsageError(str(out.parent), "is not an existing folder")


def parse_model_config(text: str) -> dict:
    """``--model-config`` JSON -> keyword arguments."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError("--model-config", f"is not JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise UsageError("--model-config", "must be a JSON object of keyword arguments")
    return value


@app.command("sr")
def train_sr_command(
    train_dir: SRData,
    out: OutCheckpoint,
    model: ModelName = "edge_sr",
    model_config: ModelConfig = "{}",
    val_dir: SRVal = None,
    scale: Scale = 2,
    steps: SRSteps = 20000,
    batch_size: Patches = 16,
    lr_patch: LRPatch = 32,
    lr: AdamLR = 2e-3,
    seed: Seed = 0,
    max_minutes: MaxMinutes = None,
    val_every: ValEvery = 1000,
    device: Device = "cpu",
    threads: TorchThreads = None,
    loss_on: LossOnOption = LossOn.Y,
    degradation: Degradation = "bicubic",
    select: Select = SrSelection.PSNR,
    soft_content: SoftContent = 0.0,
    init: Init = None,
    resume: Resume = None,
    force: Force = False,
) -> None:
    """Train an SR model with L1 loss on random patches; keep the best step on the validation images.

    Example: edgeconv train sr --data ../shared/data/sr/T91 --val ../shared/data/sr/BSD200 -o sr.pt --steps 16000
    Example (a photo model): the same with --degradation mixed --select worst-gain"""
    from edgeconv.models.training.sr import SRTrainConfig, train_sr

    check_output(out, force, resume)
    config = SRTrainConfig(
        model=model, model_config=parse_model_config(model_config), train_dir=str(train_dir), init=init,
        val_dir=str(val_dir) if val_dir else None, scale=scale, lr_patch=lr_patch, batch_size=batch_size,
        steps=steps, lr=lr, seed=seed, max_minutes=max_minutes, val_every=val_every, device=device, threads=threads,
        loss_on=plain(loss_on), degradation=degradation, select=plain(select), soft_content=soft_content)
    with training_progress(steps, config.score_name, _db) as on_step:
        result = train_sr(config, out, resume=resume, on_step=on_step)
    report_done(result.steps, result.minutes, result.stopped_by_budget, f"best val {config.score_name} "
                f"{_db(result.best_psnr)}", out)


def _db(value: float | None) -> str:
    return f"{value:.2f} dB" if value is not None else "n/a"


@app.command("cls")
def train_cls_command(
    data: ClsDataRoot,
    out: OutCheckpoint,
    dataset: Dataset = ClsDataset.CIFAR100,
    val_data: ClsVal = None,
    model: ModelName = "resnet18_cifar",
    variant: Variant = ConvVariant.PLAIN,
    model_config: ModelConfig = "{}",
    image_size: ImageSize = 32,
    steps: SGDSteps = 5000,
    batch_size: ImagesPerStep = 128,
    lr: PeakLR = 0.1,
    seed: Seed = 0,
    max_minutes: MaxMinutes = None,
    val_every: ValEvery = 500,
    device: Device = "cpu",
    threads: TorchThreads = None,
    resume: Resume = None,
    force: Force = False,
) -> None:
    """Train a classifier (ResNet-18 with any conv variant) on CIFAR-100 or texture folders.

    Example: edgeconv train cls --data data/cifar-100-python --variant shiftwise-rotational -o rn18.pt
    """
    from edgeconv.models.training.cls import ClsTrainConfig, train_cls

    check_output(out, force, resume)
    config = ClsTrainConfig(
        model=model, model_config={"variant": plain(variant), **parse_model_config(model_config)},
        dataset=plain(dataset),
        data=str(data), val_data=str(val_data) if val_data else None, image_size=image_size, batch_size=batch_size,
        steps=steps, lr=lr, seed=seed, max_minutes=max_minutes, val_every=val_every, device=device,
        threads=threads,
    )
    with training_progress(steps, "acc", lambda v: f"{v:.1%}") as on_step:
        result = train_cls(config, out, resume=resume, on_step=on_step)
    best = f"{result.best_accuracy:.2%}" if result.best_accuracy is not None else "n/a"
    report_done(result.steps, result.minutes, result.stopped_by_budget, f"best val accuracy {best}", out)


def report_done(steps: int, minutes: float, stopped_by_budget: bool, best: str, out: Path) -> None:
    """The one closing line of a training run (rank 0 only)."""
    why = " (stopped by --max-minutes)" if stopped_by_budget else ""
    report(f"trained {steps} steps in {minutes:.1f} min{why}; {best}; wrote {out}")
