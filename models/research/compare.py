"""The research harness: train variants with identical settings over several seeds, measure each.

Per run: the task metric at the last step (accuracy, or PSNR-Y on Set5; no best-step picking, so
no selection on the scoring images), parameters, MACs per input pixel, and the gradient ERF of
the last feature map with its size and diversity measures. Latency of the deployed graphs in
ONNX Runtime is measured per variant after all training, back to back (``variant_latencies``),
so every variant is timed under the same conditions and never beside a training job. Every run leaves
``<out>/<task>/<variant>/seed<k>.{pt,json}``; a run whose JSON exists is not trained again, so an
interrupted comparison resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from torch import nn

from edgeconv.errors import UsageError
from edgeconv.runtime.atomic_write import write_bytes_atomic

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
TASKS = ("sr", "texture", "cifar100")
LatencyFn = Callable[[nn.Module, tuple[int, int, int, int]], float]


@dataclass
class CompareSettings:
    """One task's comparison: identical hyper-parameters for every variant and seed."""

    task: str
    out: Path
    variants: list[str]
    seeds: list[int]
    steps: int
    data: Path  # SR: training HR folder; texture: root with train/ and val/; cifar100: its folder
    val: Path | None = None  # SR: Set5
    batch_size: int = 32
    lr: float | None = None
    width: int = 16  # classification backbone width (ResNet-18 layout)
    threads: int = 2
    max_minutes_per_run: float | None = None
    erf_count: int = 5
    erf_size: int = 48

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


@dataclass
class TaskOutcome:
    """One task's comparison, done: its settings, one summary row per variant, CPU minutes of all its runs."""

    settings: CompareSettings
    rows: list[dict]
    minutes: float


def _model_spec(settings: CompareSettings, variant: str) -> tuple[str, dict]:
    if settings.task == "sr":
        if variant not in SR_VARIANTS:
            raise UsageError(f"variant {variant!r}", "is not an SR variant", f"known: {', '.join(SR_VARIANTS)}")
        return SR_VARIANTS[variant]
    from edgeconv.models.resnet_cifar import CONV_VARIANTS

    if variant not in CONV_VARIANTS:
        raise UsageError(f"variant {variant!r}", "is not a conv variant", f"known: {', '.join(CONV_VARIANTS)}")
    model = "texture_resnet18" if settings.task == "texture" else "resnet18_cifar"
    return model, {"variant": variant, "width": settings.width}


def _train(settings: CompareSettings, variant: str, seed: int, ckpt: Path) -> tuple[float, float, int, bool]:
    """Train one run; (last-step metric, minutes, steps, stopped by the minutes budget)."""
    model, config = _model_spec(settings, variant)
    if settings.task == "sr":
        from edgeconv.models.train_sr import SRTrainConfig, train_sr

        result = train_sr(SRTrainConfig(
            model=model, model_config=config, train_dir=str(settings.data), val_dir=str(settings.val),
            batch_size=settings.batch_size, steps=settings.steps, lr=settings.lr or 2e-3, seed=seed,
            max_minutes=settings.max_minutes_per_run, val_every=settings.steps, threads=settings.threads,
        ), ckpt)
        value = result.best_psnr
    else:
        from edgeconv.models.train_cls import ClsTrainConfig, train_cls

        folder = settings.task == "texture"
        result = train_cls(ClsTrainConfig(
            model=model, model_config=config, dataset="folder" if folder else "cifar100",
            data=str(settings.data / "train") if folder else str(settings.data),
            val_data=str(settings.data / "val") if folder else None,
            batch_size=settings.batch_size, steps=settings.steps, lr=settings.lr or 0.05, seed=seed,
            max_minutes=settings.max_minutes_per_run, val_every=settings.steps, threads=settings.threads,
        ), ckpt)
        value = result.best_accuracy
    if value is None:
        raise UsageError(str(ckpt), "training ended without a validation score")
    return float(value), result.minutes, result.steps, result.stopped_by_budget


def erf_inputs(settings: CompareSettings) -> np.ndarray:
    """The real images every run's ERF is measured on: Set5 crops (SR) or one val crop per class."""
    from edgeconv.runtime.erf.impulse import erf_images
    from edgeconv.runtime.imaging.images import image_files

    if settings.task == "sr":
        return erf_images(settings.val or settings.data, settings.erf_size, settings.erf_count)
    if settings.task == "texture":
        classes = sorted(p for p in (settings.data / "val").iterdir() if p.is_dir())
        return erf_images([image_files(c)[0] for c in classes], settings.erf_size, len(classes))
    from edgeconv.models.cls_data import load_cifar100

    images, _ = load_cifar100(settings.data, "test")
    return np.ascontiguousarray(images[: settings.erf_count].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def measure_run(settings: CompareSettings, ckpt: Path, inputs: np.ndarray) -> tuple[int, float, dict[str, float]]:
    """(params, MACs per input pixel of the deploy form, ERF measures) of a trained checkpoint."""
    from edgeconv.export import to_deploy
    from edgeconv.models.checkpoint_erf import checkpoint_gradient_erf
    from edgeconv.models.checkpoint_info import describe_checkpoint

    side = 64 if settings.task == "sr" else 32
    cost = describe_checkpoint(ckpt, (side, side), to_deploy)
    erf = checkpoint_gradient_erf(ckpt, inputs, target="features").measures.to_dict()
    return cost.parameters, cost.macs_per_pixel, erf


def variant_latencies(settings: CompareSettings, latency: LatencyFn, rounds: int = 2) -> dict[str, float]:
    """Median ORT latency (ms) of each variant's seed-0 deploy graph: every variant timed ``rounds``
    times in turn, the lowest median kept, so drift on the machine hits all variants alike."""
    from edgeconv.models.checkpoint import load_checkpoint

    shape = (1, 3, 180, 320) if settings.task == "sr" else (1, 3, 128, 128)
    folder = settings.out / settings.task
    models = {}
    for variant in settings.variants:
        ckpt = folder / variant / f"seed{settings.seeds[0]}.pt"
        models[variant] = load_checkpoint(ckpt).build_model(ckpt)
    best: dict[str, float] = {}
    for _ in range(rounds):
        for variant, model in models.items():
            ms = latency(model, shape)
            best[variant] = min(ms, best.get(variant, ms))
    return best


def run_compare(
    settings: CompareSettings, on_run: Callable[[str, int, str], None] | None = None
) -> list[RunRecord]:
    """Train and measure every (variant, seed) not done yet; returns all records of this task."""
    folder = settings.out / settings.task
    inputs = erf_inputs(settings)
    records = []
    for variant in settings.variants:
        _model_spec(settings, variant)  # unknown names fail before any training
    for seed in settings.seeds:
        for variant in settings.variants:
            record_path = folder / variant / f"seed{seed}.json"
            if record_path.is_file():
                stored = json.loads(record_path.read_text())
                records.append(RunRecord(**{k: v for k, v in stored.items() if k in RunRecord.__dataclass_fields__}))
                if on_run:
                    on_run(variant, seed, "reused")
                continue
            if on_run:
                on_run(variant, seed, "training")
            record_path.parent.mkdir(parents=True, exist_ok=True)
            ckpt = record_path.with_suffix(".pt")
            value, minutes, steps, stopped = _train(settings, variant, seed, ckpt)
            params, macs, erf = measure_run(settings, ckpt, inputs)
            record = RunRecord(
                settings.task, variant, seed, _model_spec(settings, variant)[0], settings.metric, value,
                params, macs, erf, minutes, steps, stopped,
            )
            write_bytes_atomic(record_path, json.dumps(asdict(record), indent=1).encode())
            records.append(record)
    return records


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value); NaN-free input expected."""
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


SUMMARY_FIELDS = ("value", "r20", "r30", "r50", "r99", "anisotropy", "angular_spread", "effective_area_px", "minutes")


def summarise(records: list[RunRecord], latencies: dict[str, float] | None = None) -> list[dict]:
    """One row per variant: n, mean and std of the metric, ERF measures and minutes; params/MACs/latency."""
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
        rows.append(row)
    return rows
