"""The comparison job behind ``edgeconv compare``: every task, variant and seed, then the claims page.

Tasks: ``sr``, ``texture``, ``cifar100`` and ``dtd10`` (DTD10's fixed split, supervised and zero-shot;
``dtd_task.py``). Per task: train and measure the runs not done yet (``run_compare``), take the deploy
graphs' latencies from their cache or time them (``latency.py``), summarise, write ``runs.csv`` /
``summary.*`` / ``latency.json`` and, after training, the seed-0 ERF grid into ``<out>/<task>/``. With
``results`` set, runs stored beside the page by the same command stand in for runs absent under ``out``
(nothing is retrained), and the claims page and copies of those files follow (``write_results_page``). With
``ray`` set, the runs to train are Ray tasks (``ray_runs.py``); the tables are made here, as without it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from edgeconv.errors import MissingExtraError, UsageError
from edgeconv.research.compare import (
    CLS_VARIANTS,
    SR_VARIANTS,
    TASKS,
    CompareSettings,
    TaskOutcome,
    erf_inputs,
    run_compare,
    summarise,
)
from edgeconv.research.latency import LATENCY_FILE, task_latencies, write_cache
from edgeconv.research.ray_runs import ray_runs
from edgeconv.research.records import stored_records
from edgeconv.research.report import write_task_outputs
from edgeconv.runtime.validation.sr_eval import default_images

if TYPE_CHECKING:
    from edgeconv.research.compare import RemoteRuns

Say = Callable[[str], None]
DTD10_ERF_UNITS = 16  # units per run whose single ERFs give the diversity measures


@dataclass
class ComparisonSettings:
    """One ``edgeconv compare`` invocation: identical hyper-parameters for every variant and seed of a task."""

    tasks: list[str] = field(default_factory=lambda: ["sr", "texture"])
    seeds: int = 3
    sr_variants: list[str] = field(default_factory=list)  # empty: all of SR_VARIANTS
    cls_variants: list[str] = field(default_factory=list)  # empty: all of CLS_VARIANTS
    sr_steps: int = 2000
    cls_steps: int = 300
    sr_batch: int = 32
    cls_batch: int = 64
    width: int = 16
    sr_data: Path | None = None  # holds T91/ and Set5/; None: the shared SR data
    textures: Path | None = None  # DTD layout; None: built from scikit-image under ``out``
    cifar: Path | None = None
    threads: int = 2
    max_minutes_per_run: float | None = None
    out: Path = Path("out/compare")
    results: Path | None = None  # the claims page (docs/RESULTS.md)
    dtd10: Path | None = None  # DTD10 layout (<class>/<image>); None: shared/data/textures/DTD10 beside the checkout
    crop: int = 96  # dtd10: side of the square colour images the nets see
    load_size: int = 160  # dtd10: shorter side the images are resized to; random crops train, the ERF sees it all
    device: str = "cpu"
    shard: tuple[int, int] = (0, 1)  # (i, n): only every n-th run from the i-th, no tables (see CompareSettings)
    ray: str | None = None  # a Ray address (local: a cluster started here): runs train as Ray tasks (ray_runs.py)


@dataclass
class ComparisonResult:
    """Every task's outcome, in the order asked, and the page written (if any)."""

    outcomes: list[TaskOutcome]
    results: Path | None


def run_comparison(
    settings: ComparisonSettings, say: Say | None = None, on_task: Callable[[TaskOutcome], None] | None = None
) -> ComparisonResult:
    """The ``edgeconv compare`` job: run every task (finished runs are reused), write its files and the claims page.

    Args:
        settings: tasks, variants, seeds, steps, data folders, output folder, shard, results page.
        say: hears progress lines (one per run: trained or reused).
        on_task: gets each task's outcome as it ends.

    Returns:
        ``ComparisonResult``: every task's outcome (per-variant rows: accuracy or PSNR-Y mean and std over seeds,
        ERF measures, deploy latency), and the page written (None when not asked).

    Raises:
        UsageError: unknown tasks, too few seeds, bad crops, a results page asked of a shard, or missing data.
    """
    say = say or (lambda _line: None)
    _check(settings)
    if settings.shard[1] > 1:
        say("note: --shard is kept for old scripts; --ray runs every run in parallel, with retries, here or on a "
            "Ray cluster (pip install 'edgeconv[cluster]')")
    built = settings.textures is None and "texture" in settings.tasks
    plans = [_plan(task, settings, say) for task in settings.tasks]
    if settings.results is not None:
        _use_stored_records(plans, settings.results)
    outcomes = []
    with ray_runs(settings.ray) as remote:
        for plan in plans:
            outcomes.append(_run_task(plan, say, remote))
            if on_task is not None:
                on_task(outcomes[-1])
    if settings.results is not None:
        from edgeconv.research.results_page import write_results_page

        write_results_page(settings.results, outcomes, built)
    return ComparisonResult(outcomes, settings.results)


def _use_stored_records(plans: list[CompareSettings], page: Path) -> None:
    """Point each task at the records stored beside the page (``<page folder>/results/<task>/``) when they were
    made by this very command: runs absent under ``--out`` are then read from there, not trained again."""
    from edgeconv.research.results_page import BUDGET_FILE, comparison_command, repository_root

    command = comparison_command(plans, page, repository_root(page))
    for plan in plans:
        folder = page.parent / "results" / plan.task
        budget = folder / BUDGET_FILE
        if budget.is_file() and json.loads(budget.read_text()).get("command") == command:
            plan.stored = folder


def _check(settings: ComparisonSettings) -> None:
    """Refuse unknown tasks and too few seeds before anything runs."""
    for task in settings.tasks:
        if task not in TASKS:
            raise UsageError("--tasks", f"unknown task {task!r}", f"known: {', '.join(TASKS)}")
    if settings.seeds < 1:
        raise UsageError("--seeds", f"is {settings.seeds}", "use 1 or more (3 or more for verdicts)")
    if settings.results is not None and settings.seeds < 3:
        raise UsageError("--results", f"needs >= 3 seeds per variant, got {settings.seeds}")
    if "dtd10" in settings.tasks and settings.crop < 32:
        raise UsageError("--crop", f"is {settings.crop}", "use 96-128 for DTD10 (>= 32: the net downsamples by 16)")
    if "dtd10" in settings.tasks and settings.load_size < settings.crop:
        raise UsageError("--load-size", f"{settings.load_size} is below --crop {settings.crop}")
    if settings.results is not None and settings.shard[1] > 1:
        raise UsageError("--results", "needs every run: run the shards first, then once without --shard")
    if settings.ray is not None and settings.shard[1] > 1:
        raise UsageError("--shard", "and --ray do not mix", "--ray runs every run over the cluster: drop --shard")
    if settings.ray is not None:
        from edgeconv.runtime.cluster.session import import_ray

        import_ray()  # a missing extra is one line before anything runs


def _plan(task: str, s: ComparisonSettings, say: Say) -> CompareSettings:
    """One task's ``CompareSettings``, its data found (or, for textures, built) and checked."""
    common = {"out": s.out, "seeds": list(range(s.seeds)), "threads": s.threads,
              "max_minutes_per_run": s.max_minutes_per_run, "device": s.device, "shard": s.shard}
    if task == "sr":
        train, val = _sr_folders(s.sr_data)
        return CompareSettings("sr", variants=s.sr_variants or list(SR_VARIANTS), steps=s.sr_steps, data=train,
                               val=val, batch_size=s.sr_batch, erf_size=48, **common)
    variants = s.cls_variants or list(CLS_VARIANTS)
    if task == "texture":
        root = s.textures or _built_textures(s.out, say)
        return CompareSettings("texture", variants=variants, steps=s.cls_steps, data=root, batch_size=s.cls_batch,
                               width=s.width, erf_count=8, erf_size=64, **common)
    if task == "dtd10":
        return CompareSettings("dtd10", variants=variants, steps=s.cls_steps, data=_dtd10_root(s.dtd10),
                               batch_size=s.cls_batch, width=s.width, crop=s.crop, load_size=s.load_size,
                               erf_count=10, erf_size=s.load_size, channel_erf=DTD10_ERF_UNITS, **common)
    if s.cifar is None or not s.cifar.is_dir():
        raise UsageError("--cifar", "not given or not a folder", "cifar100 needs torchvision's cifar-100-python/")
    return CompareSettings("cifar100", variants=variants, steps=s.cls_steps, data=s.cifar, batch_size=s.cls_batch,
                           width=s.width, erf_count=8, erf_size=32, **common)


def _sr_folders(root: Path | None) -> tuple[Path, Path]:
    """(T91, Set5): under ``--sr-data`` when given, else the shared SR data (``default_images``)."""
    if root is None:
        return default_images("--sr-data", "T91")[0], default_images("--sr-data", "Set5")[0]
    if not (root / "T91").is_dir() or not (root / "Set5").is_dir():
        raise UsageError("--sr-data", f"{root} lacks T91/ and Set5/")
    return root / "T91", root / "Set5"


def _dtd10_root(root: Path | None) -> Path:
    """``--dtd10`` when given, else the shared DTD10 beside the checkout; checked to make both halves."""
    from edgeconv.research.dtd_task import check_dtd10, shared_dtd10

    root = root or shared_dtd10()
    if root is None:
        raise UsageError("--dtd10", "not given, and no DTD10 beside the checkout (shared/data/textures/DTD10)",
                         "pass --dtd10 DIR holding <class>/<image> folders")
    check_dtd10(root)
    return root


def _built_textures(out: Path, say: Say) -> Path:
    """The scikit-image texture task under ``out/textures`` (kept between runs)."""
    from edgeconv.research.texture_data import make_texture_folders

    root = out / "textures"
    make_texture_folders(root, on_class=lambda name: say(f"texture crops: {name}"))
    return root


def _run_task(settings: CompareSettings, say: Say, remote: RemoteRuns | None = None) -> TaskOutcome:
    """Train and measure one task, take (or time) its latencies, write its files and (after training) its ERF grid."""
    total, done, trained, started = len(settings.variants) * len(settings.seeds), [0], [0], time.perf_counter()

    def on_run(variant: str, seed: int, what: str) -> None:
        done[0] += 1
        trained[0] += what.startswith("train")  # training here, or trained on Ray
        elapsed = (time.perf_counter() - started) / 60
        say(f"[{settings.task}] {done[0]}/{total} {variant} seed {seed}: {what} ({elapsed:.1f} min so far)")

    stored = stored_records(settings.stored) if settings.stored is not None else {}
    records = run_compare(settings, on_run=on_run, stored=stored, remote=remote)
    minutes = sum(r.minutes for r in records)
    if settings.shard[1] > 1:  # one share of the runs: the tables wait for a run without --shard
        say(f"[{settings.task}] shard {settings.shard[0]}/{settings.shard[1]} done; no tables written")
        return TaskOutcome(settings, summarise(records), minutes, trained[0])
    folder = settings.out / settings.task
    cache, measured = task_latencies(settings, [folder] + ([settings.stored] if settings.stored else []))
    say(f"[{settings.task}] latencies: " + ("timed the deploy graphs in ONNX Runtime, variants in turn" if measured
                                           else f"cached, measured {cache.date} on {cache.machine}"))
    rows = summarise(records, {v: cache.spread(v)[0] for v in settings.variants})
    for row in rows:
        row["latency_q1_ms"], row["latency_q3_ms"] = cache.spread(row["variant"])[1:]
    write_task_outputs(records, rows, folder)
    write_cache(cache, folder / LATENCY_FILE)
    grids = [folder / "erf_grid.png"] + ([settings.stored / "erf_grid.png"] if settings.stored else [])
    grid_kept = any(p.is_file() for p in grids)
    checkpoints = all((folder / v / f"seed{settings.seeds[0]}.pt").is_file() for v in settings.variants)
    if checkpoints and (trained[0] or not grid_kept):
        write_erf_grid(settings, folder)
    return TaskOutcome(settings, rows, minutes, trained[0])


def write_erf_grid(settings: CompareSettings, folder: Path) -> None:
    """Write ``folder/erf_grid.png``: seed-0 ERF maps of every variant on one colour scale.

    Skipped (nothing written) without matplotlib.

    Args:
        settings: the task (its variants, seeds and ERF images).
        folder: the task's folder, holding ``<variant>/seed<N>.pt``.
    """
    from edgeconv.models.checkpoints.erf import checkpoint_gradient_erf

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
