"""``edgeconv profile``: latency over back ends x precisions x threads x sizes, with the device's state.

Every cell: warm-up, then a fixed count of runs or a fixed duration, p50 / p90 / p99 / mean /
std, throughput, and beside them the cold costs OpenVINO's benchmark_app reports (the model's load - read
and compile - and the cell's first call, cold at that input size), and peak RSS - the process's peak
during that cell's runs, the model loaded (Linux: reset before each cell, ``reset_peak_rss``; elsewhere
the process's peak so far, and the profile says which). A model's back end is freed before the next one
loads. A sustained mode records latency over time in windows, so throttling shows as a rising curve. The
device's facts are read before the run and its state (clock, temperatures, Pi throttle flags) before and
after; a profile whose device throttled says so at the top. Profiles are JSON (each model's SHA-256 in
it), with the cells as CSV beside them (``write_profile``), so runs on different devices can be compared.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.backends.base import Backend, BackendOptions
from edgeconv.runtime.backends.registry import create_backend, resolve_backends
from edgeconv.runtime.choices import BackendChoice, BackendName, InferenceDevice, parse_choice
from edgeconv.runtime.csv_files import csv_beside, write_csv
from edgeconv.runtime.model_info import file_sha256
from edgeconv.runtime.profiling.device_facts import device_state, read_device_facts, throttled_during
from edgeconv.runtime.sizes import parse_hw
from edgeconv.runtime.validation.latency import (
    PER_ROW,
    SO_FAR,
    LatencyStats,
    peak_rss_mb,
    release_freed_memory,
    reset_peak_rss,
)

PROFILE_FORMAT = "edgeconv-profile"


@dataclass
class Cell:
    """One (model, back end, threads, input size) measurement."""

    model: str
    precision: str
    backend: str
    threads: int
    height: int
    width: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    std_ms: float
    fps: float
    runs: int
    peak_rss_mb: float  # the process's peak during this cell's runs (``Profile.settings["peak_rss"]`` says)
    load_ms: float = math.nan  # reading and compiling the model for this back end and thread count
    first_ms: float = math.nan  # the cell's first call: cold at this input size (the first size: first inference)
    model_sha256: str = ""  # the model file's identity


@dataclass
class Profile:
    """A whole profile: cells, optional per-layer breakdowns and a sustained curve, device facts."""

    device: dict
    cells: list[Cell]
    throttled: list[str]
    layers: list[dict] = field(default_factory=list)
    sustained: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        hashes = {c.model: c.model_sha256 for c in self.cells}
        models = [{"file": name, "sha256": digest} for name, digest in hashes.items()]
        return {"format": PROFILE_FORMAT, "version": 1, "device": self.device, "throttled": self.throttled,
                "settings": self.settings, "models": models,
                "cells": [_clean(asdict(c)) for c in self.cells], "layers": self.layers, "sustained": self.sustained}


def _clean(cell: dict) -> dict:
    """A cell as JSON values: NaN (a time not measured) as null."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in cell.items()}


TIMES = ("load ms: reading and compiling the model (per back end and thread count); first ms: the cell's first call, "
         "cold at that size; p50 / p90 / p99: steady state after warm-up, as OpenVINO's benchmark_app reports them")
CSV_COLUMNS = ("model", "model_sha256", "precision", "backend", "threads", "height", "width", "load_ms", "first_ms",
               "p50_ms", "p90_ms", "p99_ms", "mean_ms", "std_ms", "fps", "runs", "peak_rss_mb")


def write_profile(result: Profile, path: Path) -> Path:
    """Write a profile's JSON (atomically) and its cells as CSV beside it (``csv_beside``: ``X.json`` -> ``X.csv``).

    Args:
        result: the profile.
        path: the JSON file (replaced).

    Returns:
        The CSV's path.
    """
    data = result.as_json()
    write_bytes_atomic(path, json.dumps(data, indent=2, default=str).encode())
    csv_path = csv_beside(path)
    write_csv(csv_path, CSV_COLUMNS, [[c[k] for k in CSV_COLUMNS] for c in data["cells"]])
    return csv_path


def profile_grid(
    models: list[Path], backends: list[BackendName], threads: list[int], sizes: list[tuple[int, int]],
    runs: int = 30, duration_s: float | None = None, warmup: int = 5,
    on_cell: Callable[[Cell], None] | None = None, device: InferenceDevice = InferenceDevice.CPU,
) -> list[Cell]:
    """Measure every (model, back end, threads, size), one at a time (nothing else runs while a cell is timed).

    Args:
        models: ONNX files.
        backends: back ends to load each model in.
        threads: thread counts (each loads the model again).
        sizes: (H, W) of the random (1, 3, H, W) float32 input in [0, 1].
        runs: timed calls per cell, when ``duration_s`` is None.
        duration_s: time each cell for this many seconds instead.
        warmup: untimed calls first.
        on_cell: called with each cell as it is done.
        device: where the back ends run (``BackendOptions.device``).

    Returns:
        One ``Cell`` per combination (latencies in ms), in loop order.
    """
    cells = []
    rng = np.random.default_rng(0)
    for model in models:
        digest = ""  # hashed once the first back end has loaded the file (a missing one is its one-line error)
        for backend in backends:
            for n in threads:
                runner = None  # the previous model and its buffers go before the next one loads
                release_freed_memory()
                runner = create_backend(backend, model, BackendOptions(threads=n, device=device))
                digest = digest or file_sha256(model)
                for h, w in sizes:
                    x = rng.random((1, 3, h, w), dtype=np.float32)
                    reset_peak_rss()
                    stats = LatencyStats.of(runner.time_runs(x, runs, warmup, duration_s))
                    cell = Cell(model.name, runner.facts.precision, runner.label, n, h, w, stats.p50, stats.p90,
                                stats.p99, stats.mean, stats.std, stats.fps, len(stats.samples), peak_rss_mb(),
                                runner.load_ms, runner.first_call_ms, digest)
                    cells.append(cell)
                    if on_cell is not None:
                        on_cell(cell)
    return cells


def sustained_curve(runner: Backend, x: np.ndarray, duration_s: float, window_s: float = 5.0,
                    on_window: Callable[[dict], None] | None = None) -> list[dict]:
    """Latency over time, so throttling shows as a rising curve.

    Args:
        runner: a loaded back end.
        x: its input, (N, C, H, W) float32.
        duration_s: how long to keep running.
        window_s: the length of one point's window.
        on_window: called with each point as it is done.

    Returns:
        One point per window: ``{"t_s", "p50_ms", "p90_ms", "runs", "state"}`` (``state``: ``device_state``).
    """
    curve, start = [], time.perf_counter()
    while time.perf_counter() - start < duration_s:
        samples = runner.time_runs(x, 0, warmup=0, duration_s=window_s)
        point = {"t_s": round(time.perf_counter() - start, 2), "p50_ms": float(np.percentile(samples, 50)),
                 "p90_ms": float(np.percentile(samples, 90)), "runs": len(samples), "state": device_state()}
        curve.append(point)
        if on_window is not None:
            on_window(point)
    return curve


@dataclass
class ProfileSettings:
    """What one ``edgeconv profile`` run sweeps and how long it times each cell."""

    models: list[Path]
    backends: list[BackendChoice]  # names, or [all]: every back end usable here (``resolve_backends``)
    threads: list[int]
    sizes: list[tuple[int, int]]
    runs: int = 30
    duration_s: float | None = None
    warmup: int = 5
    layers: bool = True
    sustained_s: float | None = None
    device: InferenceDevice = InferenceDevice.CPU  # where each back end runs (OpenVINO GPU/NPU, ORT CUDA, ...)

    def __post_init__(self) -> None:
        """Plain strings (library callers) become members; an unknown one is a ``UsageError`` naming the choices."""
        self.backends = [parse_choice(BackendChoice, b, "--backend") for b in self.backends]
        self.device = parse_choice(InferenceDevice, self.device, "--device", ignore_case=True)

    @classmethod
    def parse(cls, models: list[Path], backends: list[BackendChoice], threads: str, sizes: str,
              **kw: object) -> ProfileSettings:
        """Settings from the command line's text (``"1,2"``, ``"180x320,360x640"``).

        Args:
            models: ONNX files.
            backends: ``--backend`` choices.
            threads: comma-separated thread counts, each >= 1.
            sizes: comma-separated ``HxW`` sizes.
            **kw: the other fields (runs, duration_s, warmup, layers, sustained_s, device).

        Returns:
            The checked settings.

        Raises:
            UsageError: naming the bad option.
        """
        try:
            thread_list = [int(t) for t in threads.split(",") if t.strip()]
        except ValueError as exc:
            raise UsageError("--threads", f"{threads!r} is not a list of integers", "e.g. 1,2,4") from exc
        if not thread_list or min(thread_list) < 1:
            raise UsageError("--threads", f"{threads!r} needs counts >= 1")
        size_list = [parse_hw(part.strip(), "--size") for part in sizes.split(",") if part.strip()]
        settings = cls(models=models, backends=backends, threads=thread_list, sizes=size_list,
                       **kw)  # type: ignore[arg-type]
        if settings.runs < 1 or settings.warmup < 0 or (settings.duration_s is not None and settings.duration_s <= 0):
            raise UsageError("--runs", "runs must be >= 1, warm-up >= 0 and --duration > 0")
        return settings


def profile(settings: ProfileSettings, on_cell: Callable[[Cell], None] | None = None) -> Profile:
    """The ``edgeconv profile`` job: every back end (``all``: the usable ones, each once) x model x threads x size.

    Args:
        settings: what to sweep and how long to time each cell (``ProfileSettings.parse`` checks it).
        on_cell: called with each cell as it is done.

    Returns:
        The ``Profile`` (device facts, cells, per-layer breakdowns, sustained curve, throttle signs).

    Raises:
        UsageError: an unknown back end, or one that cannot load a model.
    """
    return run_profile(settings.models, resolve_backends(settings.backends), settings.threads, settings.sizes,
                       settings.runs, settings.duration_s, settings.warmup, settings.layers, settings.sustained_s,
                       on_cell, settings.device)


def run_profile(models: list[Path], backends: list[BackendName], threads: list[int], sizes: list[tuple[int, int]],
                runs: int, duration_s: float | None, warmup: int, layers: bool, sustained_s: float | None,
                on_cell: Callable[[Cell], None] | None = None,
                device: InferenceDevice = InferenceDevice.CPU) -> Profile:
    """The sweep itself, on named back ends (see the module docstring).

    Args:
        models, backends, threads, sizes, runs, duration_s, warmup, on_cell: as ``profile_grid``.
        layers: also record per-layer times (middle size, most threads, <= 20 runs) per model and back end.
        sustained_s: also run the first model on the first back end this long (``sustained_curve``).
        device: where the back ends run (``BackendOptions.device``).

    Returns:
        The ``Profile``, with the device state before and after in its settings.
    """
    facts = read_device_facts()
    before = device_state()
    cells = profile_grid(models, backends, threads, sizes, runs, duration_s, warmup, on_cell, device)
    breakdowns = []
    if layers:
        h, w = sizes[len(sizes) // 2]
        x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
        for model in models:
            for backend in backends:
                runner = create_backend(backend, model, BackendOptions(threads=max(threads), device=device))
                found = runner.layer_times(x, runs=min(runs, 20))
                breakdowns.append({"model": model.name, "size": [h, w], "threads": max(threads), **found.as_json()})
    curve = []
    if sustained_s:
        h, w = sizes[len(sizes) // 2]
        runner = create_backend(backends[0], models[0], BackendOptions(threads=max(threads), device=device))
        curve = sustained_curve(runner, np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32),
                                sustained_s)
    after = device_state()
    settings = {"runs": runs, "duration_s": duration_s, "warmup": warmup, "threads": threads, "device": str(device),
                "peak_rss": PER_ROW.replace("row", "cell") if reset_peak_rss() else SO_FAR,
                "sizes": [list(s) for s in sizes], "backends": [str(b) for b in backends],
                "models": [m.name for m in models],
                "state_before": before, "state_after": after, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return Profile(facts, cells, throttled_during(before, after), breakdowns, curve, settings)


def load_profile(path: Path) -> dict:
    """A profile JSON written by ``edgeconv profile``.

    Args:
        path: the JSON file.

    Returns:
        Its content (``format`` is ``edgeconv-profile``).

    Raises:
        UsageError: unreadable, not JSON, or not a profile.
    """
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(str(path), f"is not a readable profile JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        raise UsageError(str(path), "is not an edgeconv profile", "write one with: edgeconv profile MODEL -o FILE")
    return data


def device_label(data: dict, path: Path) -> str:
    """A short name for the device of a profile.

    Args:
        data: a loaded profile.
        path: its file.

    Returns:
        ``<file stem>: <board model, else CPU model>``.
    """
    device = data.get("device", {})
    name = device.get("board_model")
    if not name or name == "unknown":
        name = device.get("cpu", {}).get("model", "unknown")
    return f"{path.stem}: {name}"


def compare_rows(profiles: list[tuple[Path, dict]]) -> tuple[list[str], list[list[str]]]:
    """Side-by-side p50 (ms) per (precision, back end, threads, size) across profiles.

    Args:
        profiles: ``(file, loaded profile)`` pairs.

    Returns:
        The header (one column per profile) and the rows (``-`` where a profile lacks the cell).
    """
    keys: dict[tuple, None] = {}
    for _, data in profiles:
        for c in data["cells"]:
            keys[(c["precision"], c["backend"], c["threads"], c["height"], c["width"])] = None
    header = ["precision", "back end", "threads", "size", *[device_label(d, p) for p, d in profiles]]
    rows = []
    for precision, backend, threads, h, w in keys:
        row = [precision, backend, str(threads), f"{h}x{w}"]
        for _, data in profiles:
            match = [c for c in data["cells"] if (c["precision"], c["backend"], c["threads"], c["height"],
                                                  c["width"]) == (precision, backend, threads, h, w)]
            row.append(f"{match[0]['p50_ms']:.1f}" if match else "-")
        rows.append(row)
    return header, rows


def plot_profiles(profiles: list[tuple[Path, dict]], out: Path) -> None:
    """Write a PNG of p50 latency per (model, back end, precision, threads), one panel per device
    (``profile_figure``).

    Args:
        profiles: ``(file, loaded profile)`` pairs.
        out: the PNG file (its folder is created; needs the ``plot`` extra).
    """
    import matplotlib.pyplot as plt

    from edgeconv.runtime.atomic_write import write_atomic

    fig = profile_figure(profiles)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def _series(profiles: list[tuple[Path, dict]]) -> dict[tuple, str]:
    """Every series of the profiles, in a fixed order, with its label (the model named when two share the rest)."""
    keys = sorted({(c["model"], c["backend"], c["precision"], c["threads"]) for _, d in profiles for c in d["cells"]},
                  key=lambda k: (k[1], k[2], k[3], k[0]))
    rest = [k[1:] for k in keys]
    labels = {k: f"{k[1]} {k[2]}, {k[3]} thread{'s' if k[3] != 1 else ''}" for k in keys}
    return {k: labels[k] + (f" ({k[0]})" if rest.count(k[1:]) > 1 else "") for k in keys}


def profile_figure(profiles: list[tuple[Path, dict]]):  # noqa: ANN201 - a matplotlib Figure
    """p50 latency of every series, one panel per profile, one colour per series in every panel.

    Several input sizes: a line per series over the sizes (categorical, ``HxW``; log latency), named by one legend
    below the panels. One size: horizontal bars, each series named on the y axis and its p50 at the bar's end (a
    size axis with one point says nothing). Every label lies inside the figure.

    Args:
        profiles: ``(file, loaded profile)`` pairs.

    Returns:
        The figure (``plot_profiles`` saves it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _series(profiles)
    colours = {key: f"C{i % 10}" for i, key in enumerate(series)}
    sizes = sorted({(c["height"], c["width"]) for _, d in profiles for c in d["cells"]}, key=lambda hw: hw[0] * hw[1])
    one_size = len(sizes) == 1
    height = 1.5 + 0.35 * len(series) if one_size else 4.2
    fig, axes = plt.subplots(1, len(profiles), figsize=(5.2 * len(profiles) + (1.8 if one_size else 0), height),
                             squeeze=False, sharey=True, layout="constrained")
    for ax, (path, data) in zip(axes[0], profiles, strict=True):
        cells = {(c["model"], c["backend"], c["precision"], c["threads"], c["height"], c["width"]): c["p50_ms"]
                 for c in data["cells"]}
        if one_size:
            _bars(ax, series, colours, cells, sizes[0])
        else:
            _lines(ax, series, colours, cells, sizes)
        ax.set_title(device_label(data, path)[:60], fontsize=8)
        ax.grid(True, alpha=0.3, axis="x" if one_size else "both")
        if data.get("throttled"):
            ax.text(0.98, 0.02, "THROTTLED", transform=ax.transAxes, color="red", ha="right", va="bottom")
    if one_size:
        h, w = sizes[0]
        fig.suptitle(f"p50 latency at {h}x{w} input", fontsize=9)
    else:
        axes[0][0].set_ylabel("p50 latency (ms, log scale)")
        handles, labels = axes[0][0].get_legend_handles_labels()
        for ax in axes[0][1:]:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                if label not in labels:
                    handles.append(handle)
                    labels.append(label)
        columns = max(1, min(len(labels), int(fig.get_figwidth() / 2.5)))  # ~2.5 in a label: never past the edges
        fig.legend(handles, labels, loc="outside lower center", ncol=columns, fontsize=7, frameon=False)
    return fig


def _lines(ax, series: dict[tuple, str], colours: dict[tuple, str], cells: dict[tuple, float],  # noqa: ANN001
           sizes: list[tuple[int, int]]) -> None:
    """A line per series over the sizes, on a categorical size axis."""
    threads = sorted({key[3] for key in series})
    for key, label in series.items():
        points = [(i, cells[(*key, *hw)]) for i, hw in enumerate(sizes) if (*key, *hw) in cells]
        style = threads.index(key[3]) % 4  # the same thread count draws the same way in every colour
        if points:
            ax.plot([i for i, _ in points], [t for _, t in points], marker="osD^"[style],
                    linestyle=("-", "--", ":", "-.")[style], color=colours[key], label=label)
    ax.set_xticks(range(len(sizes)), [f"{h}x{w}" for h, w in sizes], fontsize=8)
    ax.set_xmargin(0.08)
    ax.set_xlabel("input size (H x W)")
    ax.set_yscale("log")


def _bars(ax, series: dict[tuple, str], colours: dict[tuple, str], cells: dict[tuple, float],  # noqa: ANN001
          size: tuple[int, int]) -> None:
    """Horizontal bars, one per series, named on the y axis, p50 written at each bar's end."""
    keys = list(series)
    times = [cells.get((*key, *size), math.nan) for key in keys]
    ax.barh(range(len(keys)), [0 if math.isnan(t) else t for t in times], color=[colours[k] for k in keys])
    ax.set_yticks(range(len(keys)), [series[k] for k in keys], fontsize=8)
    ax.invert_yaxis()
    longest = max((t for t in times if not math.isnan(t)), default=1.0)
    ax.set_xlim(0, 1.3 * longest)
    for i, t in enumerate(times):
        ax.text(t if not math.isnan(t) else 0, i, f" {t:.1f}" if not math.isnan(t) else " -", va="center", fontsize=7)
    ax.set_xlabel("p50 latency (ms)")


def fmt(value: float) -> str:
    """One decimal, or ``-`` for None and NaN.

    Args:
        value: a number of ms.

    Returns:
        The cell text.
    """
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1f}"
