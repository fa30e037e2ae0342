"""One validator for every model, precision and back end: the same inputs, the same reference, gates.

Each (model, back end) pair runs on the same real images and is compared with one reference
(the PyTorch checkpoint when given, else the FP32 ONNX model on ONNX Runtime): max / mean abs
error, cosine similarity and PSNR between outputs; for SR also PSNR-Y / SSIM-Y against the HR
images - which is what catches an INT8 model that "runs" but is broken. SR images are scored by the
standard protocol (``sr_eval``): whole images, run in tiles when larger (``whole_image_run``: the same
pixels as the whole image), unless a centre crop is asked for; the result's
``inputs`` names the images and the protocol. Latency: warm-up, then p50 / p90 / p99 / mean / std and
throughput at one input size, and beside them the cold costs as OpenVINO's benchmark_app reports them: the
model's load (read + compile) and its first inference; peak RSS per row (``reset_peak_rss``); each model's
SHA-256. The result is truthy when every gate passed, like Polygraphy's comparator, and says which gate
failed where.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgeconv.errors import EdgeConvError
from edgeconv.runtime.backends.base import Backend
from edgeconv.runtime.imaging.images import image_files, read_image, resize_center_crop
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.model_info import file_sha256
from edgeconv.runtime.validation.latency import LatencyStats, peak_rss_mb, reset_peak_rss
from edgeconv.runtime.validation.sr_eval import (
    SRProtocol,
    SRValidationPair,
    image_label,
    score_output,
    sr_validation_pairs,
    whole_image_run,
)

Run = Callable[[np.ndarray], np.ndarray]


@dataclass
class Gates:
    """Pass/fail limits; None switches a gate off."""

    atol: float | None = None  # max abs error vs the reference
    max_psnr_drop: float | None = None  # dB of PSNR-Y below the reference's (SR)
    max_latency_ms: float | None = None  # p50

    def describe(self) -> str:
        """The gates as a report says them: ``max abs error <= 1e-03; PSNR-Y drop <= 0.1 dB`` or ``none set``."""
        parts = ([f"max abs error <= {self.atol:.0e}"] if self.atol is not None else []) \
            + ([f"PSNR-Y drop <= {self.max_psnr_drop:g} dB"] if self.max_psnr_drop is not None else []) \
            + ([f"p50 latency <= {self.max_latency_ms:g} ms"] if self.max_latency_ms is not None else [])
        return "; ".join(parts) or "none set"


@dataclass
class ValidationRow:
    """One model on one back end, against the reference."""

    model: str
    precision: str
    backend: str
    max_abs: float
    mean_abs: float
    cosine: float
    output_psnr_db: float
    psnr_y_db: float
    ssim_y: float
    latency: LatencyStats
    peak_rss_mb: float  # the process's peak during this row's runs (Linux); elsewhere its peak so far
    failures: list[str] = field(default_factory=list)
    model_sha256: str = ""  # the model file's identity
    load_ms: float = math.nan  # reading and compiling the model on this back end
    first_inference_ms: float = math.nan  # its first inference after loading, at the timing size


@dataclass
class ValidationResult:
    """All rows, the reference's own scores, and the gates they were held to."""

    rows: list[ValidationRow]
    reference: str
    reference_psnr_y_db: float
    gates: Gates
    inputs: str  # the images and the protocol, e.g. "Set5 (5 images, whole, border 2, PSNR-Y, bicubic LR)"
    latency_input: tuple[int, int]
    report_path: Path | None = None  # the Markdown report, once written
    images: str = ""  # the folder the images came from

    def __bool__(self) -> bool:
        return all(not r.failures for r in self.rows)

    def raise_for_failures(self, note: str = "see the table above") -> None:
        """Raise one ``EdgeConvError`` naming the first failed gate; a pass raises nothing.

        Args:
            note: the error's note (where to look for the rest).

        Raises:
            EdgeConvError: ``<model> on <back end> | <first failed gate>``.
        """
        failed = next((r for r in self.rows if r.failures), None)
        if failed is not None:
            raise EdgeConvError(f"{failed.model} on {failed.backend}", failed.failures[0], note)

    def as_json(self) -> dict:
        """The result as plain JSON values (NaN and infinity as null), what ``--json`` writes."""

        def clean(value: object) -> object:
            if isinstance(value, float):
                # 7 significant digits: a max abs error of 1.2e-07 stays 1.2e-07 (6 decimals made it 0.0)
                return None if math.isnan(value) or math.isinf(value) else float(f"{value:.7g}")
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [clean(v) for v in value]
            return value

        return clean({"passed": bool(self), "reference": self.reference, "inputs": self.inputs, "images": self.images,
                      "reference_psnr_y_db": self.reference_psnr_y_db, "gates": asdict(self.gates),
                      "latency_input": list(self.latency_input), "rows": [asdict(r) for r in self.rows]})


@dataclass
class ValidationInputs:
    """Model inputs (NCHW float32) and, for SR, the HR images they were made from."""

    inputs: list[np.ndarray]
    pairs: list[SRValidationPair]
    source: str  # the images and how they are scored (``SRProtocol.describe`` for SR)
    folder: str = ""
    protocol: SRProtocol | None = None  # SR only


def validation_inputs(
    folder: Path, facts: ModelFacts, max_images: int = 32, degradation: str = "bicubic", crop: int | None = None
) -> ValidationInputs:
    """The model inputs of a validation run, made from one folder of images.

    Args:
        folder: real images.
        facts: the model's facts (task, scale, normalisation).
        max_images: at most this many images.
        degradation: SR only: how the LR inputs are made from the HR images.
        crop: SR only: score a centre ``crop``-px window of each HR image; None (the standard): whole images.

    Returns:
        SR: LR inputs float32 (1, 3, h, w) and the HR images for PSNR-Y; classification: normalised
        float32 (1, 3, S, S) centre crops (S = the model's ``input_size``, default 224).

    Raises:
        UsageError: no readable images, or images too small for the scale (or the crop).
    """
    if facts.task == "sr" and facts.scale:
        protocol = SRProtocol(facts.scale, degradation, crop)
        pairs = sr_validation_pairs(folder, facts, max_images, crop, degradation)
        return ValidationInputs([p.lr_input for p in pairs], pairs, protocol.describe(image_label(folder), len(pairs)),
                                str(folder), protocol)
    size = int(facts.extra.get("input_size", 224))
    images = [resize_center_crop(read_image(p), size) for p in image_files(folder)[:max_images]]
    return ValidationInputs([facts.to_input(img) for img in images], [],
                            f"{image_label(folder)} ({len(images)} images, centre {size}-px crop)", str(folder))


def output_psnr(reference: np.ndarray, got: np.ndarray, peak: float | None = None) -> float:
    """PSNR between two model outputs.

    Args:
        reference: any shape, float.
        got: the same shape.
        peak: the peak value; None: the reference's value range (1.0 when flat).

    Returns:
        PSNR in dB; ``inf`` when identical.
    """
    mse = float(np.mean((reference.astype(np.float64) - got.astype(np.float64)) ** 2))
    peak = peak or float(reference.max() - reference.min()) or 1.0
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def compare(reference: np.ndarray, got: np.ndarray) -> tuple[float, float, float, float]:
    """How far ``got`` is from ``reference``.

    Args:
        reference: a model output, any shape, float.
        got: another output for the same input.

    Returns:
        ``(max abs, mean abs, cosine similarity, PSNR dB with the reference's range as peak)``; for different
        shapes ``(inf, inf, nan, -inf)``.
    """
    if reference.shape != got.shape:
        return math.inf, math.inf, math.nan, -math.inf
    r, g = reference.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    diff = np.abs(r - g)
    denom = np.linalg.norm(r) * np.linalg.norm(g)
    cosine = float(r @ g / denom) if denom else 1.0
    return float(diff.max()), float(diff.mean()), cosine, output_psnr(reference, got)


def _sr_scores(outputs: list[np.ndarray], data: ValidationInputs, facts: ModelFacts) -> tuple[float, float]:
    if not data.pairs:
        return math.nan, math.nan
    scores = [score_output(out, pair, facts) for out, pair in zip(outputs, data.pairs, strict=True)]
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))


def validate(
    backends: list[Backend],
    data: ValidationInputs,
    reference: Run,
    reference_name: str,
    gates: Gates,
    latency_hw: tuple[int, int] = (360, 640),
    runs: int = 30,
    warmup: int = 5,
    on_row: Callable[[ValidationRow], None] | None = None,
) -> ValidationResult:
    """Run every back end on ``data``, compare with ``reference``, time, and apply ``gates``.

    Args:
        backends: loaded models (the first one's facts score the reference).
        data: the inputs (and HR images for SR) from ``validation_inputs``.
        reference: input -> reference output, both NCHW float32.
        reference_name: how the report names the reference.
        gates: pass/fail limits.
        latency_hw: (H, W) of the random (1, 3, H, W) timing input.
        runs: timed calls per back end.
        warmup: untimed calls first.
        on_row: called with each row as it is done.

    Returns:
        ``ValidationResult``, truthy when every gate passed on every row.
    """
    facts = backends[0].facts
    reference_run = _whole(reference, data, facts)
    ref_outputs = [reference_run(x) for x in data.inputs]
    ref_psnr, _ = _sr_scores(ref_outputs, data, facts)
    timing_input = np.random.default_rng(0).random((1, 3, *latency_hw), dtype=np.float32)
    rows, hashes = [], {}
    for runner in backends:
        reset_peak_rss()
        # timed first, so its first call is the model's first inference, at the timing size (as benchmark_app)
        latency = LatencyStats.of(runner.time_runs(timing_input, runs, warmup))
        run = _whole(runner.run, data, runner.facts)
        outputs = [run(x) for x in data.inputs]
        stats = [compare(r, o) for r, o in zip(ref_outputs, outputs, strict=True)]
        psnr, ssim = _sr_scores(outputs, data, runner.facts)
        row = ValidationRow(
            model=runner.path.name, precision=runner.facts.precision, backend=runner.label,
            max_abs=max(s[0] for s in stats), mean_abs=float(np.mean([s[1] for s in stats])),
            cosine=min(s[2] for s in stats), output_psnr_db=min(s[3] for s in stats),
            psnr_y_db=psnr, ssim_y=ssim, latency=latency, peak_rss_mb=peak_rss_mb(),
            model_sha256=hashes.setdefault(runner.path, file_sha256(runner.path)), load_ms=runner.load_ms,
            first_inference_ms=runner.first_inference_ms,
        )
        if gates.atol is not None and not row.max_abs <= gates.atol:
            row.failures.append(f"max abs error {row.max_abs:.2e} > atol {gates.atol:.0e}")
        if gates.max_psnr_drop is not None and not math.isnan(psnr) and ref_psnr - psnr > gates.max_psnr_drop:
            row.failures.append(f"PSNR-Y drop {ref_psnr - psnr:.3f} dB > {gates.max_psnr_drop} dB")
        if gates.max_latency_ms is not None and latency.p50 > gates.max_latency_ms:
            row.failures.append(f"p50 {latency.p50:.1f} ms > {gates.max_latency_ms} ms")
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return ValidationResult(rows, reference_name, ref_psnr, gates, data.source, latency_hw, images=data.folder)


def _whole(run: Run, data: ValidationInputs, facts: ModelFacts) -> Run:
    """SR: ``run`` on whole images of any size (``whole_image_run``); anything else runs as it is."""
    return whole_image_run(run, facts.scale) if data.pairs and facts.scale else run
