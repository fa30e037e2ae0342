"""The ERF job: measure the effective receptive field of checkpoints and exported models on the same crops.

One path from settings to ``erf.json``, one heat map per model and ``grid.png`` for ``edgeconv erf``.
Exported models (.onnx) get the impulse ERF on a back end, torch-free; checkpoints (.pt) get the gradient
ERF through a callable the caller passes in (``ErfSettings.gradient_erf``), so this module never needs torch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeconv.errors import MissingExtraError, UsageError
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.erf.impulse import erf_images, onnx_impulse_erf
from edgeconv.runtime.erf.measures import ErfResult
from edgeconv.runtime.validation.sr_eval import default_images

GradientErf = Callable[[Path, np.ndarray, str], ErfResult]  # (checkpoint, (N, 3, S, S) in [0, 1], target)
ImpulseProgress = Callable[[str, int, int], None]  # (model name, steps done, steps in all): impulses, or 1 gradient


@dataclass
class ErfSettings:
    """One ERF comparison: which models, on which crops, measured how, written where."""

    models: list[Path]
    images: Path | None = None  # None: Set5 beside the checkout (``default_images``)
    count: int = 5
    size: int = 48
    target: str = "output"  # checkpoints: "features" or "output"; ONNX models: always the output
    backend: str = "onnxruntime"
    delta: float | None = None  # None: by precision (``impulse_defaults``)
    dither: int | None = None
    radius: str = "auto"  # "auto", "all" or a number of pixels
    threads: int = 0
    device: str = "CPU"  # the back end's device, for exported models (BackendOptions.device)
    out: Path = Path("out/erf")
    force: bool = False
    gradient_erf: GradientErf | None = None  # needed for checkpoints (.pt)


@dataclass
class ErfReport:
    """What the job measured and wrote."""

    results: list[ErfResult]
    images: Path
    count: int
    size: int
    json_path: Path
    heat_maps: bool  # False: matplotlib is not installed, no PNGs were written


def measure_erfs(settings: ErfSettings, on_progress: ImpulseProgress | None = None) -> ErfReport:
    """The ``edgeconv erf`` job: every model on the same crops; ``erf.json``, heat maps and a grid in ``settings.out``.

    Args:
        settings: the models (.pt checkpoints need ``settings.gradient_erf``; .onnx files are measured by
            impulse), images, crop size and count, back end, perturbation and output folder.
        on_progress: called with (model name, sites done, sites in all) during impulse ERFs, and with (name, 0, 1)
            and (name, 1, 1) around a checkpoint's gradient ERF.

    Returns:
        ``ErfReport``: the results, where the JSON went, whether heat maps were written.

    Raises:
        UsageError: bad settings, a missing or unknown model file, missing images, or an ``erf.json`` that
            exists without ``force``.
        MissingExtraError: a checkpoint without torch here.
    """
    radius = _check(settings)
    images = settings.images or default_images("--images", "Set5")[0]
    batch = erf_images(images, settings.size, settings.count)
    results = [_measure(model, batch, settings, radius, on_progress) for model in settings.models]
    settings.out.mkdir(parents=True, exist_ok=True)  # after every model ran: a failure leaves no empty folder
    heat_maps = write_heat_maps(results, settings.out)
    json_path = settings.out / "erf.json"
    write_bytes_atomic(json_path, json.dumps(
        {"images": str(images), "count": int(batch.shape[0]), "size": settings.size,
         "models": [r.to_dict() for r in results]}, indent=1).encode())
    return ErfReport(results, images, int(batch.shape[0]), settings.size, json_path, heat_maps)


def parse_radius(text: str) -> int | str | None:
    """Parse ``--radius``.

    Args:
        text: ``auto`` (measured), ``all`` (every pixel) or a number of pixels.

    Returns:
        ``"auto"``, None (all) or the int.

    Raises:
        UsageError: anything else.
    """
    if text in ("auto", "all"):
        return None if text == "all" else "auto"
    try:
        return int(text)
    except ValueError as exc:
        raise UsageError("--radius", f"{text!r} is not auto, all or a number") from exc


def _check(settings: ErfSettings) -> int | str | None:
    """Refuse bad settings and missing or unknown model files before anything is written; the parsed radius."""
    if settings.count < 1:
        raise UsageError("--count", f"is {settings.count}", "average over at least one image")
    if settings.target not in ("features", "output"):
        raise UsageError("--erf-of", f"is {settings.target!r}", "use features or output")
    radius = parse_radius(settings.radius)
    for model in settings.models:
        if not model.is_file():
            raise UsageError(str(model), "does not exist")
        if model.suffix not in (".pt", ".onnx"):
            raise UsageError(str(model), "is neither a checkpoint (.pt) nor an ONNX model (.onnx)")
    report = settings.out / "erf.json"
    if report.exists() and not settings.force:
        raise UsageError(str(report), "already exists", "pass --force to overwrite it")
    return radius


def _measure(model: Path, batch: np.ndarray, settings: ErfSettings, radius: int | str | None,
             on_progress: ImpulseProgress | None) -> ErfResult:
    """The gradient ERF of a checkpoint, or the impulse ERF of an exported model on the chosen back end."""
    if model.suffix == ".pt":
        if settings.gradient_erf is None:
            raise MissingExtraError("torch", "export", "the gradient ERF of a checkpoint")
        if on_progress is not None:
            on_progress(model.name, 0, 1)  # one step: the gradient ERF reports no finer progress
        result = settings.gradient_erf(model, batch, settings.target)
        if on_progress is not None:
            on_progress(model.name, 1, 1)
        return result
    progress = None if on_progress is None else (lambda done, total: on_progress(model.name, done, total))
    return onnx_impulse_erf(model, batch, settings.backend, settings.delta, settings.dither, radius,
                            settings.threads, on_progress=progress, device=settings.device)


def write_heat_maps(results: list[ErfResult], out: Path) -> bool:
    """One PNG per model and ``grid.png`` on one colour scale.

    Args:
        results: the measured ERFs.
        out: an existing folder.

    Returns:
        True when written; False (nothing written) without matplotlib.
    """
    try:
        from edgeconv.runtime.erf.plot import plot_erf_grid, plot_erf_map

        for r in results:
            plot_erf_map(r.name, r.contributions, r.measures, out / f"{Path(r.name).stem}.{r.method}.png")
        plot_erf_grid({f"{r.name} ({r.method})": (r.contributions, r.measures) for r in results}, out / "grid.png")
    except MissingExtraError:
        return False
    return True
