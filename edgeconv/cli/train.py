"""``edgeconv train``: train SR (and classification) models into self-describing checkpoints.

Runs as one process, or under ``torchrun --nproc_per_node N edgeconv train ...`` with DDP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgeconv.errors import UsageError

app = typer.Typer(help="Train models into edgeconv checkpoints.", no_args_is_help=True)


@app.command("sr")
def train_sr_command(
    train_dir: Annotated[Path, typer.Option("--data", help="HR image folder (T91) or a DIV2K root.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Best checkpoint (.pt); the resumable state goes beside it as .last.pt.")],
    model: Annotated[str, typer.Option(help="Registered model name.")] = "edge_sr",
    model_config: Annotated[str, typer.Option("--model-config", help="JSON keyword arguments for the model.")] = "{}",
    val_dir: Annotated[Path | None, typer.Option("--val", help="Evaluation folder (Set5) for PSNR-Y.")] = None,
    scale: Annotated[int, typer.Option(help="Upscaling factor: 2, 3 or 4.")] = 2,
    steps: Annotated[int, typer.Option(help="Optimiser steps (cosine schedule over them).")] = 20000,
    batch_size: Annotated[int, typer.Option(help="Patches per step.")] = 16,
    lr_patch: Annotated[int, typer.Option(help="LR patch side.")] = 32,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 2e-3,
    seed: Annotated[int, typer.Option(help="Seed for weights and patch sampling.")] = 0,
    max_minutes: Annotated[float | None, typer.Option(help="Stop after this many minutes (checkpoint saved).")] = None,
    val_every: Annotated[int, typer.Option(help="Validate and checkpoint every N steps.")] = 1000,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    threads: Annotated[int | None, typer.Option(help="Torch CPU threads.")] = None,
    loss_on: Annotated[str, typer.Option(help="L1 loss on 'y' (luma, what PSNR-Y scores) or 'rgb'.")] = "y",
    resume: Annotated[Path | None, typer.Option(help="Continue from a .last.pt checkpoint.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --out.")] = False,
) -> None:
    """Train an SR model with L1 loss on random patches; keep the best Set5 PSNR-Y.

    Example: edgeconv train sr --data ../shared/data/sr/T91 --val ../shared/data/sr/Set5 -o edge_sr_x2.pt --max-minutes 30
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from edgeconv.models.train_sr import SRTrainConfig, train_sr

    if scale not in (2, 3, 4):
        raise UsageError("--scale", f"must be 2, 3 or 4, got {scale}")
    if out.exists() and not force and resume is None:
        raise UsageError(str(out), "already exists", "pass --force to overwrite or --resume to continue")
    if not out.parent.is_dir():
        raise UsageError(str(out.parent), "is not an existing folder")
    try:
        extra = json.loads(model_config)
    except json.JSONDecodeError as exc:
        raise UsageError("--model-config", f"is not JSON: {exc.msg}") from exc
    config = SRTrainConfig(
        model=model, model_config=extra, train_dir=str(train_dir), val_dir=str(val_dir) if val_dir else None,
        scale=scale, lr_patch=lr_patch, batch_size=batch_size, steps=steps, lr=lr, seed=seed,
        max_minutes=max_minutes, val_every=val_every, device=device, threads=threads, loss_on=loss_on,
    )
    if loss_on not in ("y", "rgb"):
        raise UsageError("--loss-on", f"must be 'y' or 'rgb', got {loss_on!r}")
    with Progress(
        TextColumn("[bold]train[/]"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("val PSNR-Y {task.fields[val]}"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("train", total=steps, loss=float("nan"), val="-")

        def on_step(step: int, loss: float, val: float | None) -> None:
            progress.update(task, completed=step, loss=loss, val=f"{val:.2f} dB" if val else "-")

        result = train_sr(config, out, resume=resume, on_step=on_step)
    best = f"{result.best_psnr:.2f} dB" if result.best_psnr else "n/a"
    why = " (stopped by --max-minutes)" if result.stopped_by_budget else ""
    typer.echo(f"trained {result.steps} steps in {result.minutes:.1f} min{why}; best val PSNR-Y {best}; wrote {out}")
