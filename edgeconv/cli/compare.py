"""``edgeconv compare``: train variants over seeds with identical settings, one table of mean ± std.

Tasks: ``sr`` (T91 -> Set5), ``texture`` (image folders; scikit-image textures when no DTD is
given), ``cifar100`` (when its python files are present). ``--results`` also writes the claims
page (docs/RESULTS.md) with its tables and plots beside it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer


def compare(
    tasks: Annotated[str, typer.Option(help="Comma-separated: sr, texture, cifar100.")] = "sr,texture",
    seeds: Annotated[int, typer.Option(help="Seeds per variant (0..N-1); >= 3 for the results page.")] = 3,
    sr_variants: Annotated[str | None, typer.Option(help="SR variants (default: all four).")] = None,
    cls_variants: Annotated[str | None, typer.Option(help="Classification conv variants (default: seven).")] = None,
    sr_steps: Annotated[int, typer.Option(help="Adam steps per SR run.")] = 2000,
    cls_steps: Annotated[int, typer.Option(help="SGD steps per classification run.")] = 300,
    sr_batch: Annotated[int, typer.Option(help="SR batch (32x32 LR patches).")] = 32,
    cls_batch: Annotated[int, typer.Option(help="Classification batch.")] = 64,
    width: Annotated[int, typer.Option(help="ResNet-18 base width for classification.")] = 16,
    sr_data: Annotated[
        Path | None, typer.Option(help="Folder holding T91/ and Set5/ (default: shared/data/sr).")
    ] = None,
    textures: Annotated[
        Path | None, typer.Option(help="Texture root with train/<class>/ and val/<class>/ (DTD layout). "
                                       "Default: built from scikit-image under --out.")
    ] = None,
    cifar: Annotated[Path | None, typer.Option(help="Folder with cifar-100-python/ (needed for cifar100).")] = None,
    threads: Annotated[int, typer.Option(help="Torch / ORT threads.")] = 2,
    max_minutes_per_run: Annotated[float | None, typer.Option(help="Stop a run early after this many minutes.")] = None,
    out: Annotated[Path, typer.Option(help="Run folder (checkpoints, per-run JSON; resumable).")] = Path("out/compare"),
    results: Annotated[
        Path | None, typer.Option(help="Also write the claims page here (e.g. docs/RESULTS.md).")
    ] = None,
) -> None:
    """Train every variant over every seed (skipping finished runs), measure accuracy/PSNR, params,
    MACs, ORT latency and ERF, and write runs.csv, summary.{json,md,png} and ERF grids per task.

    Example: edgeconv compare --tasks sr,texture --seeds 3 --results docs/RESULTS.md
    """
    from rich.console import Console

    from edgeconv.errors import UsageError
    from edgeconv.models.research.compare import CLS_VARIANTS, SR_VARIANTS, TASKS, CompareSettings
    from edgeconv.runtime.validation.sr_eval import shared_sr_data

    chosen = [t.strip() for t in tasks.split(",") if t.strip()]
    for task in chosen:
        if task not in TASKS:
            raise UsageError("--tasks", f"unknown task {task!r}", f"known: {', '.join(TASKS)}")
    if seeds < 1:
        raise UsageError("--seeds", f"is {seeds}", "use 1 or more (3 or more for verdicts)")
    if results is not None and seeds < 3:
        raise UsageError("--results", f"needs >= 3 seeds per variant, got {seeds}")
    console = Console(stderr=True)
    settings_list = []
    sources: dict[str, str] = {}
    for task in chosen:
        if task == "sr":
            root = sr_data or shared_sr_data()
            if root is None or not (root / "T91").is_dir() or not (root / "Set5").is_dir():
                raise UsageError("--sr-data", f"{root or 'shared/data/sr'} lacks T91/ and Set5/")
            variants = _split(sr_variants) or list(SR_VARIANTS)
            settings_list.append(CompareSettings("sr", out, variants, list(range(seeds)), sr_steps, root / "T91",
                                                 root / "Set5", sr_batch, threads=threads,
                                                 max_minutes_per_run=max_minutes_per_run, erf_size=48))
            sources["sr"] = f"train on {root / 'T91'} (91 images), score PSNR-Y x2 on {root / 'Set5'}"
        elif task == "texture":
            root = textures or _built_textures(out, console)
            sources["texture"] = (f"image folders at {root}" if textures else
                                  "DTD is absent: 8 grey texture classes cut from scikit-image's real images "
                                  "(brick, grass, gravel, moon, cell, immunohistochemistry, hubble_deep_field, "
                                  "retina); train crops from the left 60 % of each image, val crops from the "
                                  "right 40 % (120 / 40 per class, 24-64 px regions resized to 64, fed at 32)")
            settings_list.append(CompareSettings("texture", out, _split(cls_variants) or list(CLS_VARIANTS),
                                                 list(range(seeds)), cls_steps, root, None, cls_batch, width=width,
                                                 threads=threads, max_minutes_per_run=max_minutes_per_run,
                                                 erf_count=8, erf_size=64))
        else:
            if cifar is None or not cifar.is_dir():
                raise UsageError(
                    "--cifar", "not given or not a folder", "cifar100 needs torchvision's cifar-100-python/"
                )
            settings_list.append(CompareSettings("cifar100", out, _split(cls_variants) or list(CLS_VARIANTS),
                                                 list(range(seeds)), cls_steps, cifar, None, cls_batch, width=width,
                                                 threads=threads, max_minutes_per_run=max_minutes_per_run,
                                                 erf_count=8, erf_size=32))
            sources["cifar100"] = f"CIFAR-100 python files at {cifar}"
    if "cifar100" not in chosen:
        sources["cifar100"] = "not run: the CIFAR-100 files are not on this machine (no downloads)"
    summaries, budget = {}, {}
    for settings in settings_list:
        rows, minutes = _run_task(settings, console)
        summaries[settings.task] = rows
        budget[settings.task] = {"variants": len(settings.variants), "seeds": len(settings.seeds),
                                 "steps": settings.steps, "batch": settings.batch_size, "minutes": minutes}
    if results is not None:
        _write_results(results, out, summaries, budget, sources, chosen, seeds)
        Console().print(f"wrote {results}")


def _split(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def _built_textures(out: Path, console) -> Path:  # noqa: ANN001
    from edgeconv.models.research.texture_data import make_texture_folders

    root = out / "textures"
    make_texture_folders(root, on_class=lambda name: console.print(f"texture crops: {name}"))
    return root


def _run_task(settings, console) -> tuple[list[dict], float]:  # noqa: ANN001
    """Run one task, print its table, write its files; (summary rows, CPU minutes of all its runs)."""
    from edgeconv.export.graph.latency import deployed_latency_ms
    from edgeconv.models.research.compare import run_compare, summarise, variant_latencies
    from edgeconv.models.research.report import summary_markdown, write_task_outputs

    total = len(settings.variants) * len(settings.seeds)
    done = [0]
    started = time.perf_counter()

    def on_run(variant: str, seed: int, what: str) -> None:
        done[0] += 1
        elapsed = (time.perf_counter() - started) / 60
        console.print(f"[{settings.task}] {done[0]}/{total} {variant} seed {seed}: {what} ({elapsed:.1f} min so far)")

    records = run_compare(settings, on_run=on_run)
    console.print(f"[{settings.task}] timing the deploy graphs in ONNX Runtime, all variants back to back")
    latencies = variant_latencies(settings, lambda m, shape: deployed_latency_ms(m, shape, threads=settings.threads))
    rows = summarise(records, latencies)
    folder = settings.out / settings.task
    write_task_outputs(records, rows, folder)
    _erf_grid(settings, folder)
    typer.echo(f"\n{settings.task}: {settings.steps} steps x {len(settings.seeds)} seeds\n")
    typer.echo(summary_markdown(rows))
    return rows, sum(r.minutes for r in records)


def _erf_grid(settings, folder: Path) -> None:  # noqa: ANN001
    """Seed-0 ERF heat maps of every variant on one colour scale."""
    from edgeconv.errors import MissingExtraError
    from edgeconv.models.checkpoint_erf import checkpoint_gradient_erf
    from edgeconv.models.research.compare import erf_inputs

    inputs = erf_inputs(settings)
    maps = {}
    for variant in settings.variants:
        result = checkpoint_gradient_erf(folder / variant / f"seed{settings.seeds[0]}.pt", inputs, "features")
        maps[variant] = (result.contributions, result.measures)
    try:
        from edgeconv.runtime.erf.plot import plot_erf_grid

        plot_erf_grid(maps, folder / "erf_grid.png")
    except MissingExtraError:
        pass


def _write_results(results: Path, out: Path, summaries: dict, budget: dict, sources: dict, chosen: list[str],
                   seeds: int) -> None:
    from edgeconv.models.research.results_page import results_markdown
    from edgeconv.runtime.atomic_write import write_bytes_atomic

    for task in summaries:
        target = results.parent / "results" / task
        target.mkdir(parents=True, exist_ok=True)
        for name in ("summary.md", "summary.json", "runs.csv", "summary.png", "erf_grid.png"):
            if (out / task / name).is_file():
                shutil.copyfile(out / task / name, target / name)
    command = f"edgeconv compare --tasks {','.join(chosen)} --seeds {seeds} --results {results}"
    write_bytes_atomic(results, results_markdown(summaries, budget, command, sources).encode())
