"""``edgeconv info CKPT|MODEL.onnx``: what a checkpoint (read safely, model rebuilt) or an exported model holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeconv.cli.arguments import parse_hw, renamed, size_option

Model = Annotated[Path, typer.Argument(
    metavar="CKPT|MODEL", help="An edgeconv checkpoint (.pt) or ONNX model (.onnx).")]
InputSize = Annotated[str, size_option("Checkpoints: the input the MACs are counted at")]
Command = renamed({"--input-size": "--size"})  # old names still taken (docs/CLI_OPTIONS.md)


def info(checkpoint: Model, input_size: InputSize = "360x640") -> None:
    """Print a checkpoint's model, task, scale, training metrics, parameters and MACs - or an ONNX model's
    inputs, outputs, opset, facts, INT8 scheme and sha256.

    Example: edgeconv info models/weights/sr_x2_photo.pt --size 720x1280
    Example: edgeconv info out/demo/model.int8.onnx
    """
    if checkpoint.suffix.lower() == ".onnx":
        from edgeconv.runtime.model_info import describe_onnx

        _print_rows(str(checkpoint), describe_onnx(checkpoint))
        return

    from edgeconv.export import to_deploy
    from edgeconv.models.checkpoints.info import describe_checkpoint

    summary = describe_checkpoint(checkpoint, parse_hw(input_size, "--size"), to_deploy)
    h, w = summary.input_hw
    rows = {
        "model": summary.model_name,
        "config": summary.config,
        "task": summary.task,
        "scale": summary.scale,
        "parameters": f"{summary.parameters:,}",
        f"MACs at {h}x{w} input": f"{summary.macs / 1e9:.3f} G ({summary.macs_per_pixel:,.0f} per input pixel)",
        **{f"metric {k}": v for k, v in summary.metrics.items()},
    }
    _print_rows(str(checkpoint), rows)


def _print_rows(title: str, rows: dict) -> None:
    """A two-column table of ``rows`` under ``title``."""
    from rich.console import Console
    from rich.table import Table

    from edgeconv.runtime.model_info import plain_text

    table = Table(title=title, show_header=False)
    table.add_column()
    table.add_column(overflow="fold")  # a sha256 whole, folded, never cut
    for key, value in rows.items():
        table.add_row(key, plain_text(value))  # a config or a list as text, never a Python repr
    Console().print(table)
