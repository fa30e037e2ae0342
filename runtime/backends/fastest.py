"""The default back end, by measurement: the fastest one installed here for this model, timed once and cached.

``upscale`` and ``export`` without ``--backend`` run (or write the form of) the back end
this module picks. Each installed CPU back end (ONNX Runtime, OpenVINO) loads the file it would load for the
model - its own form when there is one (``forms``) - and runs a representative input (a 640x360 LR frame for an
SR model; a classifier's own input size) in two alternating rounds of a few runs after warm-up; the smallest
round median decides. About 2 s in all for the shipped models, so the first run pays it once.

The pick is cached like ``edgeconv tune``'s lowering (``user_cache``: ``backends.json`` in
``$EDGECONV_CACHE_DIR`` or ``~/.cache/edgeconv``), keyed by this CPU's signature, the back ends' versions, the
options that change speed (device, threads, precision) and the model's SHA-256 - a changed file, CPU or
runtime is measured again. With one back end installed (the runtime-only install: ONNX Runtime) nothing is
measured. A back end that cannot load or run the model drops out with its reason. TensorRT is never picked
by default: building its engine takes minutes, not a short measurement (``--backend tensorrt`` asks for it).
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.cpu.features import cpu_signature
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.model_info import file_sha256
from edgeconv.runtime.user_cache import cache_dir, read_cache_json, update_cache_json

CACHE_NAME = "backends.json"
MEASURE_HW = (360, 640)  # H x W of the LR frame an SR model is timed on: 640x360 -> 1280x720 at x2
ROUNDS = 2  # alternating, so drift in clocks or load hits every back end alike
WARMUP = 2
BUDGET_S = 1.6  # timed calls of all back ends together (loading and warm-up come on top)
MIN_RUNS, MAX_RUNS = 2, 8  # timed calls per back end and round
# the back ends a short measurement can compare: (module, distributions that install it)
MEASURED: dict[BackendName, tuple[str, tuple[str, ...]]] = {
    BackendName.ONNXRUNTIME: ("onnxruntime", ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino",
                                              "onnxruntime-directml", "onnxruntime-qnn")),
    BackendName.OPENVINO: ("openvino", ("openvino", "openvino-nightly")),
}
ONLY, CACHED, MEASURED_NOW, PENDING, UNMEASURED = "only", "cached", "measured", "pending", "unmeasured"

OnStatus = Callable[[str], None]
Timer = Callable[[Mapping[BackendName, Path], BackendOptions, OnStatus], "Timings"]


@dataclass
class Timings:
    """What one measurement found: median ms per back end that ran, why the others dropped out, the input."""

    median_ms: dict[str, float]
    dropped: dict[str, str] = field(default_factory=dict)
    hw: tuple[int, int] = MEASURE_HW


@dataclass(frozen=True)
class BackendPick:
    """The back end to use for one model here, and why."""

    backend: BackendName
    how: str  # ONLY | CACHED | MEASURED_NOW | PENDING (not measured yet) | UNMEASURED (nothing ran the model)
    median_ms: dict[str, float] = field(default_factory=dict)
    hw: tuple[int, int] = MEASURE_HW
    measured: str = ""  # the date of the measurement
    dropped: dict[str, str] = field(default_factory=dict)
    candidates: tuple[str, ...] = ()

    def reason(self) -> str:
        """Why this back end, in words (``fastest here: 19.0 ms vs onnxruntime 36.7 ms per 640x360 frame ...``)."""
        if self.how == ONLY:
            return "the only CPU back end installed here; nothing measured"
        if self.how == PENDING:
            return (f"not measured yet: the first upscale or export without --backend times "
                    f"{', '.join(self.candidates)} (about 2 s) and caches the fastest")
        if self.how == UNMEASURED:
            return "the default: no back end ran the model in the measurement (" + \
                "; ".join(f"{k}: {v}" for k, v in self.dropped.items()) + ")"
        others = ", ".join(f"{name} {ms:.1f} ms" for name, ms in sorted(self.median_ms.items(), key=lambda kv: kv[1])
                           if name != self.backend)
        h, w = self.hw
        text = f"fastest here: {self.median_ms[self.backend]:.1f} ms vs {others or 'nothing else'} per {w}x{h} frame, "
        text += f"measured {self.measured}, cached" if self.how == CACHED else f"measured now, cached in {cache_path()}"
        dropped = "".join(f"; {name} dropped out: {why}" for name, why in self.dropped.items())
        return text + dropped

    def line(self) -> str:
        """``back end: NAME (reason)``, what ``upscale`` and ``export`` print."""
        return f"back end: {self.backend} ({self.reason()})"


def cache_path() -> Path:
    """``backends.json`` in the user cache (``user_cache.cache_dir``)."""
    return cache_dir() / CACHE_NAME


def installed_backends() -> list[BackendName]:
    """The back ends a short measurement compares that are installed here (ONNX Runtime always is).

    Returns:
        Their names, in registry order.
    """
    return [name for name, (module, _) in MEASURED.items() if importlib.util.find_spec(module) is not None]


def backend_version(name: BackendName) -> str:
    """The installed version of a measured back end's package (``?`` when its distribution is not found)."""
    _, dists = MEASURED[name]
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "?"


def files_identity(files: Mapping[BackendName, Path]) -> str:
    """A model's identity for the cache: the SHA-256 of the file each back end loads (``onnxruntime=<sha>,...``)."""
    return ",".join(f"{name}={file_sha256(Path(path))}" for name, path in files.items())


def measure_key(identity: str, candidates: Sequence[BackendName], options: BackendOptions) -> str:
    """The cache entry of one model: this CPU, the back ends' versions, the speed options, the model's identity."""
    versions = "+".join(f"{name} {backend_version(name)}" for name in candidates)
    knobs = f"{options.device}/threads {options.threads}/precision {options.precision or 'default'}"
    return f"{cpu_signature()}|{versions}|{knobs}|{identity}"


def pick_fastest(median_ms: Mapping[str, float]) -> BackendName:
    """The back end of the smallest median (ties: registry order).

    Args:
        median_ms: ms per back end name; at least one.

    Returns:
        Its name.
    """
    order = list(BackendName.values())
    return BackendName(min(median_ms, key=lambda name: (median_ms[name], order.index(name))))


def representative_input(facts: ModelFacts) -> np.ndarray:
    """The input a model is timed on: a 640x360 frame (its channels) for SR, a classifier's own size."""
    hw = (int(facts.extra.get("input_size", 32)),) * 2 if facts.task == "cls" else MEASURE_HW
    return np.random.default_rng(0).random((1, facts.input_channels, *hw), dtype=np.float32)


def time_backends(files: Mapping[BackendName, Path], options: BackendOptions, on_status: OnStatus) -> Timings:
    """Load ``files`` each in its back end, check one run, then time them in alternating rounds.

    Args:
        files: back end -> the model file it loads (its own form when there is one).
        options: threads, device, precision for every back end.
        on_status: hears what is being done (a status line).

    Returns:
        ``Timings``: the smallest round median per back end that ran; the others with their one-line reason.
    """
    return time_contestants({str(name): (name, path) for name, path in files.items()}, options, on_status)


def time_contestants(contestants: Mapping[str, tuple[BackendName, Path]], options: BackendOptions,
                     on_status: OnStatus) -> Timings:
    """``time_backends`` for any labelled (back end, file) pairs - one back end's two files, say (``ort_form``).

    Returns:
        ``Timings`` keyed by label.
    """
    from edgeconv.errors import EdgeConvError, first_line
    from edgeconv.runtime.backends.forms import quiet_form_notes
    from edgeconv.runtime.backends.registry import create_backend

    runners, dropped, x = {}, {}, None
    for label, (name, path) in contestants.items():
        on_status(f"measuring the fastest back end: loading {Path(path).name} in {name} ...")
        try:
            with quiet_form_notes():  # the back end that then runs the model says it, not the measurement
                runner = create_backend(name, path, options)
            x = representative_input(runner.facts) if x is None else x
            runner.run(x)  # one checked call: a back end that cannot run the model drops out here
        except EdgeConvError as exc:
            dropped[label] = exc.one_line()
            continue
        except Exception as exc:  # noqa: BLE001 - a runtime's own error drops that back end, it never stops the job
            dropped[label] = first_line(exc)
            continue
        runners[label] = runner
    hw = (x.shape[2], x.shape[3]) if x is not None else MEASURE_HW
    slot_ms = 1000 * BUDGET_S / (ROUNDS * max(1, len(runners)))
    rounds: dict[str, list[float]] = {label: [] for label in runners}
    for i in range(ROUNDS):
        for label, runner in runners.items():
            on_status(f"measuring the fastest back end: {label}, {hw[1]}x{hw[0]} frame, round {i + 1}/{ROUNDS} ...")
            first = runner.time_runs(x, 1, warmup=WARMUP if i == 0 else 0)
            more = min(MAX_RUNS, max(MIN_RUNS, int(slot_ms / max(first[0], 1e-3)))) - 1
            rounds[label].append(statistics.median(first + runner.time_runs(x, more, warmup=0)))
    return Timings({label: min(values) for label, values in rounds.items()}, dropped, hw)


def cached_pick(identity: str, candidates: Sequence[BackendName], options: BackendOptions) -> BackendPick | None:
    """The pick without measuring: the only candidate, or a cached measurement; None when one is needed.

    Args:
        identity: the model's identity (``files_identity``, or a checkpoint's hash for ``export``).
        candidates: the installed back ends (``installed_backends``).
        options: the options it will run with (part of the key).

    Returns:
        A ``BackendPick`` (``how`` is ``only`` or ``cached``), or None.
    """
    if len(candidates) == 1:
        return BackendPick(candidates[0], ONLY, candidates=tuple(map(str, candidates)))
    entry = read_cache_json(CACHE_NAME).get(measure_key(identity, candidates, options))
    try:
        median_ms = {str(k): float(v) for k, v in entry["median_ms"].items()}
        h, w = (int(v) for v in entry["input"].split("x"))
        return BackendPick(BackendName(entry["backend"]), CACHED, median_ms, (h, w), str(entry["measured"]),
                           dict(entry.get("dropped", {})), tuple(map(str, candidates)))
    except (TypeError, KeyError, ValueError, AttributeError):  # no entry, or one this version cannot read
        return None


def measure_pick(identity: str, files: Mapping[BackendName, Path], options: BackendOptions,
                 on_status: OnStatus | None = None, timer: Timer | None = None) -> BackendPick:
    """Time ``files`` (``time_backends``, or ``timer``), pick the fastest and cache the pick.

    Args:
        identity: the model's identity (the cache key's last part).
        files: back end -> the file it loads.
        options: threads, device, precision.
        on_status: hears progress (a status line); None: silent.
        timer: replaces ``time_backends`` (tests inject timings).

    Returns:
        The pick (``measured``); ``unmeasured`` - ONNX Runtime, nothing cached - when no back end ran the model,
        so loading it then says why.
    """
    candidates = list(files)
    found = (timer or time_backends)(files, options, on_status or (lambda _line: None))
    if not found.median_ms:
        return BackendPick(BackendName.ONNXRUNTIME, UNMEASURED, dropped=found.dropped,
                           candidates=tuple(map(str, candidates)))
    chosen, today = pick_fastest(found.median_ms), time.strftime("%Y-%m-%d")
    median_ms = {name: round(ms, 2) for name, ms in found.median_ms.items()}
    update_cache_json(CACHE_NAME, measure_key(identity, candidates, options), {
        "backend": str(chosen), "median_ms": median_ms, "input": f"{found.hw[0]}x{found.hw[1]}", "measured": today,
        "dropped": found.dropped, "files": {str(k): Path(v).name for k, v in files.items()},
    })
    return BackendPick(chosen, MEASURED_NOW, median_ms, found.hw, today, found.dropped, tuple(map(str, candidates)))


def fastest_backend(files: Mapping[BackendName, Path], options: BackendOptions | None = None,
                    on_status: OnStatus | None = None, measure: bool = True, timer: Timer | None = None) -> BackendPick:
    """The fastest of the installed back ends for the model ``files`` holds: cached, else measured now.

    Args:
        files: each installed back end (``installed_backends``) -> the model file it would load.
        options: threads, device, precision (None: the defaults).
        on_status: hears progress while measuring.
        measure: False answers ``pending`` instead of measuring (``edgeconv doctor``).
        timer: replaces ``time_backends`` (tests).

    Returns:
        The ``BackendPick``.
    """
    options = options or BackendOptions()
    candidates = list(files)
    identity = files_identity(files)
    found = cached_pick(identity, candidates, options)
    if found is not None:
        return found
    if not measure:
        return BackendPick(candidates[0], PENDING, candidates=tuple(map(str, candidates)))
    return measure_pick(identity, files, options, on_status, timer)


def fastest_for_model(model: str | Path, scale: int = 2, video: bool = False, options: BackendOptions | None = None,
                      on_status: OnStatus | None = None, measure: bool = True) -> BackendPick:
    """``fastest_backend`` for a shipped model's name (each back end gets its own form) or an ONNX file.

    Args:
        model: ``photo``, ``bicubic`` or an .onnx path (``shipped_models.resolve_model``).
        scale: the shipped model's scale.
        video: time the Y-plane form video runs (``resolve_video_model``) instead of the RGB model.
        options: threads, device, precision.
        on_status: hears progress while measuring.
        measure: False: do not measure (``pending`` when nothing is cached).

    Returns:
        The ``BackendPick``.

    Raises:
        UsageError: as ``resolve_model`` (a missing file or an unknown name).
    """
    from edgeconv.runtime.shipped_models import resolve_model, resolve_video_model

    resolve = resolve_video_model if video else resolve_model
    files = {name: resolve(model, str(name), scale) for name in installed_backends()}
    return fastest_backend(files, options, on_status, measure)
