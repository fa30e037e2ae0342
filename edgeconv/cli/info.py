"""``edgeconv info CKPT``: what a checkpoint holds, read safely (weights_only), model rebuilt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def info(
    checkpoint: Annotated[Path, typer.Argument(help="An edgeconv checkpoint (.pt).")],
    input_size: Annotated[str, typer.Option(help="HxW of the input for the MAC count.")] = "360x640",
) -> None:
    """Print a checkpoint's model, task, scale, training metrics, parameters and MACs.

    Example: edgeconv info edge_sr_x2.pt --input-size 720x1280
    """
    from rich.console import Console
    from rich.table import Table

    from edgeconv.errors import UsageError
    from edgeconv.export import to_deploy
    from edgeconv.models.checkpoint import load_checkpoint
    from edgeconv.models.complexity import count_macs, count_params

    try:
        h, w = (int(v) for v in input_size.lower().split("x"))
    except ValueError as exc:
        raise UsageError("--input-size", f"{input_size!r} is not HxW", "e.g. 360x640") from exc
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build_model(checkpoint)
    macs = count_macs(to_deploy(model), (1, 3, h, w))
    table = Table(title=str(checkpoint), show_header=False)
    rows = {
        "model": ckpt.model_name,
        "config": ckpt.config,
        "task": ckpt.task,
        "scale": ckpt.scale,
        "parameters": f"{count_params(model):,}",
        f"MACs at {h}x{w} input": f"{macs / 1e9:.3f} G ({macs / (h * w):,.0f} per input pixel)",
        **{f"metric {k}": v for k, v in ckpt.metrics.items()},
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    Console().print(table)
