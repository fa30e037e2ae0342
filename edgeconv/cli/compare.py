"""``edgeconv compare``: train variants over seeds with identical settings, one table of mean ± std.

Tasks: ``sr`` (T91 -> Set5), ``texture`` (image folders; scikit-image textures when no DTD is
given), ``cifar100`` (when its python files are present), ``dtd10`` (DTD10's fixed split: test
accuracy, and zero-shot accuracy by nearest class mean on the unseen half of the classes, both ways).
``--results`` also writes the claims page (docs/RESULTS.md) with its tables and plots beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import OutDir, Threads
from edgeconv.cli.ray_options import ray_option

if TYPE_CHECKING:
    from edgeconv.research.compare import TaskOutcome

Tasks = Annotated[str, typer.Option(help="Comma-separated: sr, texture, cifar100, dtd10.")]
Seeds = Annotated[int, typer.Option(help="Seeds per variant (0..N-1); >= 3 for the results page.")]
SRVariants = Annotated[str | None, typer.Option(help="SR variants (default: all four).")]
ClsVariants = Annotated[str | None, typer.Option(help="Classification conv variants (default: seven).")]
SRSteps = Annotated[int, typer.Option(help="Adam steps per SR run.")]
ClsSteps = Annotated[int, typer.Option(help="SGD steps per classification run.")]
SRBatch = Annotated[int, typer.Option(help="SR batch (32x32 LR patches).")]
ClsBatch = Annotated[int, typer.Option(help="Classification batch.")]
Width = Annotated[int, typer.Option(help="ResNet-18 base width for classification.")]
SRData = Annotated[Path | None, typer.Option(help="Folder holding T91/ and Set5/ (default: shared/data/sr).")]
Textures = Annotated[Path | None, typer.Option(help="Texture root with train/<class>/ and val/<class>/ (DTD layout). "
                                                    "Default: built from scikit-image under --out.")]
Dtd10 = Annotated[Path | None, typer.Option("--dtd10", help="DTD10 folder, <class>/<image> (for dtd10; "
                                              "default: shared/data/textures/DTD10 beside the checkout).")]
Crop = Annotated[int, typer.Option(help="dtd10: side in px of the square colour images the nets see (96-128).")]
LoadSize = Annotated[int, typer.Option(help="dtd10: images are resized to this shorter side (centre square); "
                                           "training takes random --crop windows, scoring the centre one, "
                                           "the ERF the whole square.")]
Device = Annotated[str, typer.Option(help="Where the nets train and the ERFs are taken: cpu, cuda or cuda:N.")]
Shard = Annotated[str | None, typer.Option(help="I/N: train only every N-th run from the I-th (0-based) and skip the "
                                                "tables; kept for old scripts: --ray runs every run in parallel, with "
                                                "retries, on this machine or a cluster.")]
Ray = Annotated[str | None, ray_option("Train the runs as Ray tasks (--threads CPUs each; dtd10: one task per net); "
                                       "data and --out must lie on a file system every node mounts at the same "
                                       "path.")]
Cifar = Annotated[Path | None, typer.Option(help="Folder with cifar-100-python/ (needed for cifar100).")]
MaxMinutesPerRun = Annotated[float | None, typer.Option(help="Stop a run early after this many minutes.")]
Results = Annotated[Path | None, typer.Option(help="Also write the claims page here (e.g. docs/RESULTS.md), "
                                                  "recomputed from the runs; runs absent under --out are read from "
                                                  "the records that this same command stored beside the page "
                                                  "(<page folder>/results/<task>/runs.csv), never retrained. "
                                                  "Latencies are timed once and cached there (latency.json); delete "
                                                  "it and its copy under --out to re-time.")]


def compare(
    tasks: Tasks = "sr,texture",
    seeds: Seeds = 3,
    sr_variants: SRVariants = None,
    cls_variants: ClsVariants = None,
    sr_steps: SRSteps = 2000,
    cls_steps: ClsSteps = 300,
    sr_batch: SRBatch = 32,
    cls_batch: ClsBatch = 64,
    width: Width = 16,
    sr_data: SRData = None,
    textures: Textures = None,
    cifar: Cifar = None,
    threads: Threads = 2,  # the harness: identical settings for every variant, not the device's choice
    max_minutes_per_run: MaxMinutesPerRun = None,
    out: OutDir = Path("out/compare"),
    results: Results = None,
    dtd10: Dtd10 = None,
    crop: Crop = 96,
    load_size: LoadSize = 160,
    device: Device = "cpu",
    shard: Shard = None,
    ray: Ray = None,
) -> None:
    """Train every variant over every seed (skipping finished runs), measure accuracy/PSNR, params,
    MACs, ORT latency and ERF, and write runs.csv, summary.{json,md,png} and ERF grids per task.

    Example: edgeconv compare --tasks sr,texture --seeds 3 --results docs/RESULTS.md

    Example (DTD10 over every core, or a cluster: --ray auto): edgeconv compare --tasks dtd10 --threads 1 --ray
    """
    from edgeconv.research.job import ComparisonSettings, run_comparison

    settings = ComparisonSettings(
        tasks=_split(tasks), seeds=seeds, sr_variants=_split(sr_variants), cls_variants=_split(cls_variants),
        sr_steps=sr_steps, cls_steps=cls_steps, sr_batch=sr_batch, cls_batch=cls_batch, width=width, sr_data=sr_data,
        textures=textures, cifar=cifar, threads=threads, max_minutes_per_run=max_minutes_per_run, out=out, ray=ray,
        results=results, dtd10=dtd10, crop=crop, load_size=load_size, device=device, shard=_shard(shard))
    if (written := run_comparison(settings, say=_say_on_stderr(), on_task=_print_task).results) is not None:
        typer.echo(f"wrote {written}")


def _say_on_stderr() -> Callable[[str], None]:
    """Progress lines on stderr, printed as they are (no rich markup or highlighting)."""
    from rich.console import Console

    err = Console(stderr=True)
    return lambda line: err.print(line, markup=False, highlight=False)


def _shard(text: str | None) -> tuple[int, int]:
    """``"2/8"`` -> ``(2, 8)``; None -> ``(0, 1)`` (every run); anything else is a usage error."""
    from edgeconv.errors import UsageError

    if text is None:
        return 0, 1
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UsageError("--shard", f"{text!r} is not I/N", "e.g. --shard 0/4 (I from 0 to N-1)")
    index, count = int(parts[0]), int(parts[1])
    if count < 1 or index >= count:
        raise UsageError("--shard", f"{text!r} needs 0 <= I < N")
    return index, count


def _split(text: str | None) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]``."""
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def _print_task(outcome: TaskOutcome) -> None:
    """A finished task's table of mean ± std per variant, on stdout."""
    from edgeconv.research.report import summary_markdown

    typer.echo(f"\n{outcome.settings.task}: {outcome.settings.steps} steps x {len(outcome.settings.seeds)} seeds\n")
    typer.echo(summary_markdown(outcome.rows))
