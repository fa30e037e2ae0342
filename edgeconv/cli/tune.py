"""``edgeconv tune CKPT``: measure which shift lowering is faster for a model on this CPU and back end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import Checkpoint, Size, Threads, parse_hw, plain
from edgeconv.runtime.choices import BackendName

if TYPE_CHECKING:
    from edgeconv.export.tuning.lowering_tune import LoweringTuning, TuneSettings

TuneBackend = Annotated[BackendName, typer.Option(
    help="The back end that will run the model (onnxruntime or openvino: tensorrt builds its own kernels).")]
TuneRuns = Annotated[int, typer.Option(help="Timed runs per lowering and round (2 rounds, alternating).")]


def tune(
    checkpoint: Checkpoint,
    backend: TuneBackend = BackendName.ONNXRUNTIME,
    size: Size = "180x320",
    threads: Threads = 0,
    runs: TuneRuns = 20,
) -> None:
    """Time both shift lowerings (slices, depthwise convs) of a model here and cache the faster one.

    `edgeconv export --backend BACKEND` on this machine then uses the measured choice; on
    another CPU (or without a measurement) it falls back to the committed table. The cache lives in
    $EDGECONV_CACHE_DIR (default ~/.cache/edgeconv), keyed by this CPU's model and ISA flags.

    Example: edgeconv tune models/weights/jitter_sr_x2.pt --backend openvino --size 360x640
    """
    from rich.console import Console

    from edgeconv.export.tuning.lowering_tune import TuneSettings, tune_checkpoint

    settings = TuneSettings(checkpoint=checkpoint, backend=plain(backend), hw=parse_hw(size, "--size"),
                            threads=threads, runs=runs)
    with Console(stderr=True).status(f"timing slice and conv lowerings of {checkpoint.name} in {backend} ..."):
        done = tune_checkpoint(settings)
    _print_tuning(settings, done)


def _print_tuning(settings: TuneSettings, done: LoweringTuning) -> None:
    """The two median times, the one kept, and where the choice is cached."""
    from rich.console import Console
    from rich.table import Table

    (h, w), backend = settings.hw, settings.backend
    table = Table(title=f"{done.model} on {backend}, {h}x{w}, {settings.threads} threads ({done.signature})")
    for col in ("lowering", "median ms", ""):
        table.add_column(col)
    for name, ms in done.median_ms.items():
        table.add_row(name, f"{ms:.2f}", "chosen" if name == done.lowering else "")
    Console().print(table)
    typer.echo(f"cached in {done.cache}: export --backend {backend} uses {done.lowering} on this CPU")
