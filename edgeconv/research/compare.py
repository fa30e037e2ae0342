"""The research harness: train variants with identical settings over several seeds, measure each.

Per run: the task metric at the last step (accuracy, or PSNR-Y on Set5; no best-step picking, so
no selection on the scoring images; ``dtd10`` adds zero-shot accuracy, see ``_train_dtd10``),
parameters, MACs per input pixel, and the gradient ERF of the last feature map with its size and
diversity measures. Latency of the deployed graphs in ONNX Runtime is measured per variant after
all training, the variants in turn, and cached beside the runs (``latency.py``). Every run leaves
``<out>/<task>/<variant>/seed<k>.{pt,json}`` (dtd10 also ``seed<k>.zs{0,1}.pt``, its zero-shot nets);
a run whose JSON exists is not trained again, so an interrupted comparison resumes where it stopped,
and a run absent there but stored beside the results page (``settings.stored``, read by ``records.py``)
is taken from there.
"""

from __future__ import annotations

import io
import json
import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.atomic_write import write_bytes_atomic

if TYPE_CHECKING:
    from edgeconv.models.training.cls import ClsTrainResult
    from edgeconv.research.dtd_task import NetResult

    # trains runs elsewhere (ray_runs.py): (settings, [(variant, seed, record path)], on_run) -> records, in order
    OnRun = Callable[[str, int, str], None]
    RemoteRuns = Callable[["CompareSettings", list[tuple[str, int, Path]], OnRun], list["RunRecord"]]

# name shown in tables -> (registered model, its config)
SR_VARIANTS: dict[str, tuple[str, dict]] = {
    "plain": ("plain_edge_sr", {}),
    "jitter-learnable": ("jitter_edge_sr", {}),
    "shiftwise-rotational": ("edge_sr", {}),
    "pixelmix": ("pixelmix_edge_sr", {}),
}
CLS_VARIANTS = (
    "plain", "jitter-random", "jitter-channel", "jitter-learnable",
    "shiftwise", "shiftwise-diagonal", "shiftwise-rotational",
)
TASKS = ("sr", "texture", "cifar100", "dtd10")


@dataclass
class CompareSettings:
    """One task's comparison: identical hyper-parameters for every variant and seed."""

    task: str
    out: Path
    variants: list[str]
    seeds: list[int]
    steps: int
    data: Path  # SR: training HR folder; texture: root with train/ and val/; cifar100: its folder; dtd10: <class>/
    val: Path | None = None  # SR: Set5
    batch_size: int = 32
    lr: float | None = None
    width: int = 16  # classification backbone width (ResNet-18 layout)
    threads: int = 2
    max_minutes_per_run: float | None = None  # per trained net (a dtd10 run trains three)
    erf_count: int = 5
    erf_size: int = 48
    crop: int = 112  # dtd10: side of the square colour images the nets see
    load_size: int | None = None  # dtd10: shorter side resized to this, centre square; training takes random crops
    device: str = "cpu"  # where nets train and ERFs are taken
    channel_erf: int = 0  # > 0: ERF diversity across this many units, and the summed map kept as seed<k>.erf.npy
    shard: tuple[int, int] = (0, 1)  # (i, n): this process trains only runs i, i + n, ... of the (seed, variant) list
    stored: Path | None = None  # <page folder>/results/<task>: its runs.csv stands in for runs absent under ``out``

    @property
    def metric(self) -> str:
        """The task metric every run records: PSNR-Y (SR) or top-1 accuracy."""
        return "psnr_y_db" if self.task == "sr" else "accuracy"


@dataclass
class RunRecord:
    """What one (variant, seed) run measured."""

    task: str
    variant: str
    seed: int
    model: str
    metric: str
    value: float
    params: int
    macs_per_pixel: float
    erf: dict[str, float]
    minutes: float
    steps: int
    stopped_by_budget: bool
    extra: dict = field(default_factory=dict)  # dtd10: zero_shot_accuracy, zero_shot_halves; absent in old JSON


@dataclass
class Trained:
    """What training one run gave: last-step metric, minutes, steps, budget stop, task-specific extras."""

    value: float
    minutes: float
    steps: int
    stopped_by_budget: bool
    extra: dict = field(default_factory=dict)


@dataclass
class TaskOutcome:
    """One task's comparison, done: its settings, one summary row per variant, CPU minutes of all its runs."""

    settings: CompareSettings
    rows: list[dict]
    minutes: float
    trained: int = 0  # runs trained by this invocation (0: every run was reused)


def model_spec(settings: CompareSettings, variant: str) -> tuple[str, dict]:
    if settings.task == "sr":
        if variant not in SR_VARIANTS:
            raise UsageError(f"variant {variant!r}", "is not an SR variant", f"known: {', '.join(SR_VARIANTS)}")
        return SR_VARIANTS[variant]
    from edgeconv.models.nets.resnet_cifar import CONV_VARIANTS

    if variant not in CONV_VARIANTS:
        raise UsageError(f"variant {variant!r}", "is not a conv variant", f"known: {', '.join(CONV_VARIANTS)}")
    model = "texture_resnet18" if settings.task in ("texture", "dtd10") else "resnet18_cifar"
    if settings.task == "dtd10":  # ~100 px inputs: a stride-2 stem, so the net costs what a 48 px one does
        return model, {"variant": variant, "width": settings.width, "stem_stride": 2}
    return model, {"variant": variant, "width": settings.width}


def _train(settings: CompareSettings, variant: str, seed: int, ckpt: Path) -> Trained:
    """Train one run (three nets for dtd10) and score its last step."""
    if settings.task == "dtd10":
        return _train_dtd10(settings, variant, seed, ckpt)
    model, config = model_spec(settings, variant)
    if settings.task == "sr":
        from edgeconv.models.training.sr import SRTrainConfig, train_sr

        result = train_sr(SRTrainConfig(
            model=model, model_config=config, train_dir=str(settings.data), val_dir=str(settings.val),
            batch_size=settings.batch_size, steps=settings.steps, lr=settings.lr or 2e-3, seed=seed,
            max_minutes=settings.max_minutes_per_run, val_every=settings.steps, threads=settings.threads,
        ), ckpt)
        value = result.best_psnr
    elif settings.task == "texture":
        result = _train_cls(settings, variant, seed, ckpt, settings.data / "train", settings.data / "val")
        value = result.best_accuracy
    else:
        result = _train_cls(settings, variant, seed, ckpt, settings.data, None)
        value = result.best_accuracy
    return Trained(_scored(value, ckpt), result.minutes, result.steps, result.stopped_by_budget)


def _scored(value: float | None, ckpt: Path) -> float:
    """The run's last-step score; a run that never validated is an error naming its checkpoint."""
    if value is None:
        raise UsageError(str(ckpt), "training ended without a validation score")
    return float(value)


def _train_cls(
    settings: CompareSettings, variant: str, seed: int, ckpt: Path, train: Path, val: Path | None
) -> ClsTrainResult:
    """One classification net: image folders ``train``/``val`` (texture, dtd10) or CIFAR-100 (``train`` = its
    folder, ``val`` None); validated only at the last step, so nothing is picked on the scoring images."""
    from edgeconv.models.training.cls import ClsTrainConfig, train_cls

    model, config = model_spec(settings, variant)
    folder = settings.task != "cifar100"
    return train_cls(ClsTrainConfig(
        model=model, model_config=config, dataset="folder" if folder else "cifar100", data=str(train),
        val_data=str(val) if val is not None else None, image_size=settings.crop if settings.task == "dtd10" else 32,
        load_size=settings.load_size if settings.task == "dtd10" else None,
        batch_size=settings.batch_size, steps=settings.steps, lr=settings.lr or 0.05, seed=seed,
        max_minutes=settings.max_minutes_per_run, val_every=settings.steps, threads=settings.threads,
        device=settings.device,
    ), ckpt)


def _train_dtd10(settings: CompareSettings, variant: str, seed: int, ckpt: Path) -> Trained:
    """Supervised: all classes' train files, accuracy on the fixed test files (``ckpt``). Zero-shot: per half,
    a net on the seen classes (``<seed>.zs<k>.pt``), nearest class mean on the unseen ones; mean of halves."""
    from edgeconv.research.dtd_task import DTD10_PARTS, dtd10_run

    return Trained(*dtd10_run([train_dtd10_net(settings, variant, seed, ckpt, part) for part in DTD10_PARTS]))


def train_dtd10_net(settings: CompareSettings, variant: str, seed: int, ckpt: Path, part: str) -> NetResult:
    """One net of a dtd10 run (``dtd_task.DTD10_PARTS``): in turn here, or each as its own Ray task."""
    from edgeconv.research.dtd_task import dtd10_folders
    from edgeconv.research.dtd_task import train_dtd10_net as train_net

    folders = dtd10_folders(settings.data, settings.out / "dtd10" / "data")
    return train_net(lambda c, t, v: _train_cls(settings, variant, seed, c, t, v), folders, ckpt, part, settings.crop)


def erf_inputs(settings: CompareSettings) -> np.ndarray:
    """The real images every run's ERF is measured on: Set5 crops (SR) or one val (dtd10: test) crop per class."""
    from edgeconv.runtime.erf.impulse import erf_images
    from edgeconv.runtime.imaging.images import image_files

    if settings.task == "sr":
        return erf_images(settings.val or settings.data, settings.erf_size, settings.erf_count)
    if settings.task == "texture":
        classes = sorted(p for p in (settings.data / "val").iterdir() if p.is_dir())
        return erf_images([image_files(c)[0] for c in classes], settings.erf_size, len(classes))
    if settings.task == "dtd10":
        return _dtd10_erf_inputs(settings)
    from edgeconv.models.data.cls import load_cifar100

    images, _ = load_cifar100(settings.data, "test")
    return np.ascontiguousarray(images[: settings.erf_count].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def _dtd10_erf_inputs(settings: CompareSettings) -> np.ndarray:
    """The first test file of each class at the scale the nets were trained on (resized to ``load_size``, else
    ``crop``), centre ``erf_size`` crop: the ERF may be measured on a larger window than the nets were fed."""
    from edgeconv.research.dtd import dtd10_split
    from edgeconv.runtime.imaging.images import center_crop, read_image, resize_center_crop

    files = [test[0] for _, test in dtd10_split(settings.data).values()][: settings.erf_count]
    scale = settings.load_size or settings.crop
    crops = [center_crop(resize_center_crop(read_image(f), scale), settings.erf_size) for f in files]
    return np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


SATURATION_SIDE = 64  # the old ERF crop, measured beside the large one to show what a small crop hides


def measure_run(settings: CompareSettings, ckpt: Path, inputs: np.ndarray) -> tuple[int, float, dict[str, float]]:
    """(params, MACs per input pixel of the deploy form, ERF measures) of a trained checkpoint.

    With ``channel_erf`` set, the ERF dict also holds the border share at this size and on a centre
    ``SATURATION_SIDE`` crop (``*_64``), and the diversity across units; the summed map is kept beside
    the checkpoint (``<ckpt>.erf.npy``) so later measures need no retraining.
    """
    from edgeconv.export import to_deploy
    from edgeconv.models.checkpoints.erf import checkpoint_gradient_erf
    from edgeconv.models.checkpoints.info import describe_checkpoint

    side = 64 if settings.task == "sr" else 32
    cost = describe_checkpoint(ckpt, (side, side), to_deploy)
    summed = checkpoint_gradient_erf(ckpt, inputs, target="features", device=settings.device)
    erf: dict[str, float] = summed.measures.to_dict()
    if settings.channel_erf > 0:
        erf.update(_window_and_unit_measures(settings, ckpt, inputs, summed.contributions))
    return cost.parameters, cost.macs_per_pixel, erf


def _window_and_unit_measures(
    settings: CompareSettings, ckpt: Path, inputs: np.ndarray, summed: np.ndarray
) -> dict[str, float]:
    """Border share (here and on a centre ``SATURATION_SIDE`` crop) and unit diversity; keeps the summed map."""
    from edgeconv.models.checkpoints.erf import checkpoint_channel_erfs, checkpoint_gradient_erf
    from edgeconv.runtime.erf.measures import border_share, channel_diversity

    device = settings.device
    out: dict[str, float] = {"border_share": border_share(summed)}
    if inputs.shape[-1] > SATURATION_SIDE:
        lo = (inputs.shape[-1] - SATURATION_SIDE) // 2
        window = np.ascontiguousarray(inputs[..., lo : lo + SATURATION_SIDE, lo : lo + SATURATION_SIDE])
        small = checkpoint_gradient_erf(ckpt, window, "features", device=device)
        out.update({f"{k}_64": small.measures.to_dict()[k] for k in ("r50", "r99", "angular_spread")})
        out["border_share_64"] = border_share(small.contributions)
    out.update(channel_diversity(checkpoint_channel_erfs(ckpt, inputs, settings.channel_erf, device=device)).to_dict())
    buffer = io.BytesIO()
    np.save(buffer, summed.astype(np.float32))
    write_bytes_atomic(ckpt.with_suffix(".erf.npy"), buffer.getvalue())
    return out


def load_record(path: Path) -> RunRecord:
    """A finished run's record from its JSON; fields it lacks (``extra``, in runs written before it) take defaults."""
    stored = json.loads(path.read_text())
    return RunRecord(**{k: v for k, v in stored.items() if k in RunRecord.__dataclass_fields__})


def run_compare(
    settings: CompareSettings, on_run: Callable[[str, int, str], None] | None = None,
    stored: dict[tuple[str, int], RunRecord] | None = None, remote: RemoteRuns | None = None,
) -> list[RunRecord]:
    """Train and measure every (variant, seed) not done yet; returns all records of this task.

    A run is reused from its JSON under ``out``, else from ``stored`` (the records kept beside the results page,
    ``records.stored_records(settings.stored)``, by (variant, seed)), else trained: here, one after the other, or
    by ``remote`` (``ray_runs.py``), which gets every run to train at once and tells ``on_run`` as each ends.
    """
    folder = settings.out / settings.task
    stored = stored or {}
    inputs: list[np.ndarray] = []  # the ERF images, read when the first run needs training
    records, pending = [], []
    for variant in settings.variants:
        model_spec(settings, variant)  # unknown names fail before any training
    index, (shard, shards) = -1, settings.shard
    for seed in settings.seeds:
        for variant in settings.variants:
            index += 1
            record_path = folder / variant / f"seed{seed}.json"
            mine = index % shards == shard
            if record_path.is_file() or (variant, seed) in stored:
                found = record_path.is_file()
                records.append(load_record(record_path) if found else stored[(variant, seed)])
                if on_run and mine:
                    on_run(variant, seed, "reused" if found else f"reused (stored record, {settings.stored})")
                continue
            if not mine:
                continue
            if remote is not None:
                pending.append((len(records), variant, seed, record_path))
                records.append(None)  # type: ignore[arg-type] - filled in below, in this order
                continue
            if on_run:
                on_run(variant, seed, "training")
            inputs = inputs or [erf_inputs(settings)]
            records.append(_train_and_measure(settings, variant, seed, record_path, inputs[0]))
    if pending and remote is not None:
        done = remote(settings, [(v, s, p) for _, v, s, p in pending], on_run or (lambda *_: None))
        for (slot, *_), record in zip(pending, done, strict=True):
            records[slot] = record
    return records


def _train_and_measure(settings: CompareSettings, variant: str, seed: int, record_path: Path,
                       inputs: np.ndarray) -> RunRecord:
    """Train one run, measure it, write its JSON record and return it."""
    record_path.parent.mkdir(parents=True, exist_ok=True)
    trained = _train(settings, variant, seed, record_path.with_suffix(".pt"))
    return record_run(settings, variant, seed, record_path, trained, inputs)


def record_run(settings: CompareSettings, variant: str, seed: int, record_path: Path, trained: Trained,
               inputs: np.ndarray) -> RunRecord:
    """Measure a trained run (params, MACs, ERF on ``inputs``), write its JSON record atomically, return it."""
    params, macs, erf = measure_run(settings, record_path.with_suffix(".pt"), inputs)
    record = RunRecord(
        settings.task, variant, seed, model_spec(settings, variant)[0], settings.metric, trained.value,
        params, macs, erf, trained.minutes, trained.steps, trained.stopped_by_budget, trained.extra,
    )
    write_bytes_atomic(record_path, json.dumps(asdict(record), indent=1).encode())
    return record


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value); NaN-free input expected."""
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


SUMMARY_FIELDS = ("value", "r20", "r30", "r50", "r99", "anisotropy", "angular_spread", "effective_area_px", "minutes")
EXTRA_SUMMARY_FIELDS = ("zero_shot_accuracy",)  # summarised when every run of a variant holds it
# ERF measures of runs with ``channel_erf`` (saturation and diversity across units), likewise
OPTIONAL_ERF_FIELDS = ("border_share", "border_share_64", "r50_64", "r99_64", "angular_spread_64",
                       "dissimilarity", "channel_anisotropy", "orientation_spread")


def summarise(records: list[RunRecord], latencies: dict[str, float] | None = None) -> list[dict]:
    """One row per variant: n, mean and std of the metric, ERF measures, minutes and zero-shot accuracy (when
    recorded); params/MACs/latency."""
    rows = []
    for variant in dict.fromkeys(r.variant for r in records):
        runs = [r for r in records if r.variant == variant]
        row: dict = {"task": runs[0].task, "variant": variant, "model": runs[0].model, "metric": runs[0].metric,
                     "n": len(runs), "seeds": [r.seed for r in runs], "params": runs[0].params,
                     "macs_per_pixel": runs[0].macs_per_pixel,
                     "latency_ms": (latencies or {}).get(variant),
                     "steps": runs[0].steps, "stopped_by_budget": any(r.stopped_by_budget for r in runs)}
        for name in SUMMARY_FIELDS:
            values = [getattr(r, name) if name in ("value", "minutes") else r.erf[name] for r in runs]
            row[f"{name}_mean"], row[f"{name}_std"] = mean_std([float(v) for v in values])
            row[f"{name}_all"] = values
        for name in OPTIONAL_ERF_FIELDS:
            if all(name in r.erf for r in runs):
                values = [float(r.erf[name]) for r in runs]
                row[f"{name}_mean"], row[f"{name}_std"] = mean_std(values)
                row[f"{name}_all"] = values
        for name in EXTRA_SUMMARY_FIELDS:
            if all(name in r.extra for r in runs):
                values = [float(r.extra[name]) for r in runs]
                row[f"{name}_mean"], row[f"{name}_std"] = mean_std(values)
                row[f"{name}_all"] = values
        rows.append(row)
    return rows
