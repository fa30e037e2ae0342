"""``edgeconv tune CKPT``: measure which shift lowering is faster for a model on this CPU and back end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeconv.cli.arguments import parse_hw
from edgeconv.errors import UsageError


def tune(
    checkpoint: Annotated[Path, typer.Argument(help="An edgeconv checkpoint (.pt).")],
    backend: Annotated[str, typer.Option(help="onnxruntime or openvino: the back end that will run the model.")] = (
        "onnxruntime"
    ),
    size: Annotated[str, typer.Option(help="HxW input the model will see (timing size).")] = "180x320",
    threads: Annotated[int, typer.Option(help="Inference threads, as on the device.")] = 2,
    runs: Annotated[int, typer.Option(help="Timed runs per lowering and round (2 rounds, alternating).")] = 20,
) -> None:
    """Time both shift lowerings (slices, depthwise convs) of a model here and cache the faster one.

    `edgeconv export --target-backend BACKEND` on this machine then uses the measured choice; on
    another CPU (or without a measurement) it falls back to the committed table. The cache lives in
    $EDGECONV_CACHE_DIR (default ~/.cache/edgeconv), keyed by this CPU's model and ISA flags.

    Example: edgeconv tune models/weights/default_sr_x2.pt --backend openvino --size 360x640
    """
    from rich.console import Console
    from rich.table import Table

    from edgeconv.export.deploy.lowering_tune import tune_lowering
    from edgeconv.models.checkpoint import load_checkpoint

    if backend not in ("onnxruntime", "openvino"):
        raise UsageError("--backend", f"cannot tune for {backend!r} here", "expected onnxruntime or openvino")
    if runs < 1 or threads < 0:
        raise UsageError("--runs", "runs must be >= 1 and threads >= 0")
    hw = parse_hw(size, "--size")
    ckpt = load_checkpoint(checkpoint)
    with Console(stderr=True).status(f"timing slice and conv lowerings of {ckpt.model_name} in {backend} ..."):
        done = tune_lowering(ckpt.build_model(checkpoint), ckpt.model_name, backend, hw, threads, runs)
    table = Table(title=f"{ckpt.model_name} on {backend}, {hw[0]}x{hw[1]}, {threads} threads ({done.signature})")
    for col in ("lowering", "median ms", ""):
        table.add_column(col)
    for name, ms in done.median_ms.items():
        table.add_row(name, f"{ms:.2f}", "chosen" if name == done.lowering else "")
    Console().print(table)
    typer.echo(f"cached in {done.cache}: export --target-backend {backend} uses {done.lowering} on this CPU")
