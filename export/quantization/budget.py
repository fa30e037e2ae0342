"""INT8 within an accuracy budget: keep the fewest, most sensitive layers in floating point.

Plain PTQ first. When its PSNR-Y drop on the validation images exceeds the budget, each layer is
quantized alone to measure the drop it causes by itself (reported beside its SQNR from
``edgeconv.export.quantization.sensitivity``), and the k layers with the largest drops stay in FP32 for
k = 1, 2, ... until the whole model is within budget. Ranking by measured drop rather than by
SQNR matters: excluding one node of a chain keeps only that op in float while its neighbours
still quantize the tensors between them, so a low-SQNR node can be a useless pick (measured on
the default model: the lowest-SQNR PRelu gained 0.000 dB). Calibration runs once (ORT's range
cache); every step re-quantizes and re-scores in ONNX Runtime, with the kernels the device runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx

from edgeconv.export.quantization.calibration import Feed
from edgeconv.export.quantization.ptq import Int8Config, quantize_int8
from edgeconv.export.quantization.schemes import ort_runner, runner_for
from edgeconv.export.quantization.sensitivity import LayerSensitivity, layer_sensitivity
from edgeconv.runtime.model_facts import ModelFacts
from edgeconv.runtime.validation.sr_eval import SRValidationPair, sr_psnr_per_image


@dataclass
class BudgetAttempt:
    """One quantization tried: which nodes stayed FP32 and the PSNR-Y it scored."""

    kept_float: list[str]
    psnr_db: float
    drop_db: float
    worst_drop_db: float = float("nan")  # the largest drop of any one validation image


@dataclass
class BudgetResult:
    """The INT8 model the search settled on (or its best try) and how it got there."""

    model: onnx.ModelProto
    fp32_psnr_db: float
    psnr_db: float
    max_drop_db: float
    kept_float: list[LayerSensitivity]
    sensitivity: list[LayerSensitivity]
    attempts: list[BudgetAttempt] = field(default_factory=list)
    worst_drop_db: float = float("nan")

    @property
    def drop_db(self) -> float:
        return self.fp32_psnr_db - self.psnr_db

    def __bool__(self) -> bool:
        """Within budget on the mean PSNR-Y of the validation images (``worst_drop_db`` is reported beside it)."""
        return self.drop_db <= self.max_drop_db


def quantize_within_budget(
    fp32: onnx.ModelProto, calib: list[Feed], val: list[SRValidationPair], facts: ModelFacts, config: Int8Config,
    max_drop_db: float, sensitivity_feeds: int = 8, on_attempt: Callable[[BudgetAttempt], None] | None = None,
    on_probe: Callable[[LayerSensitivity], None] | None = None,
) -> BudgetResult:
    """Quantize ``fp32`` so its mean PSNR-Y on ``val`` drops by at most ``max_drop_db``, if it can.

    The largest drop of a single image is recorded too: a mean within budget on one set is no
    promise for another (default x2 model, plain PTQ: 0.063 dB on the mean of 20 BSD200 images,
    0.412 dB on the worst of them, 0.157 dB on Set5).

    Args:
        fp32: the FP32 model; not changed.
        calib: calibration inputs (the first ``sensitivity_feeds`` also measure each layer's SQNR).
        val: validation pairs the budget is measured on.
        facts: the model's facts (pre- and post-processing of ``val``).
        config: the INT8 knobs (its scheme already chosen).
        max_drop_db: the PSNR-Y budget in dB.
        sensitivity_feeds: calibration inputs the SQNR ranking runs on.
        on_attempt: called after each quantization tried.
        on_probe: called after each layer's lone-quantization drop is measured.

    Returns:
        The first model within budget, or - when even all but one measurable layer in FP32
        misses - the attempt with the smallest drop; ``bool(result)`` says which.
    """
    fp32_each = sr_psnr_per_image(ort_runner(fp32), val, facts)
    with tempfile.TemporaryDirectory(prefix="edgeconv-budget-") as tmp:
        search = _BudgetSearch(fp32, calib, val, facts, config, max_drop_db, fp32_each,
                               Path(tmp) / "calibration.json", on_attempt)
        best = search.attempt([], [])
        ranking = layer_sensitivity(fp32, best.model, calib[:sensitivity_feeds])
        best = replace(best, sensitivity=ranking)
        if best:
            return best
        search.probe_each_layer(ranking, on_probe)
        best = search.fewest_float_layers(ranking, best)
    return replace(best, sensitivity=ranking)


@dataclass
class _BudgetSearch:
    """One budget search: its fixed inputs, the calibration-range cache it shares, and the attempts so far."""

    fp32: onnx.ModelProto
    calib: list[Feed]
    val: list[SRValidationPair]
    facts: ModelFacts
    config: Int8Config
    max_drop_db: float
    fp32_each: list[float]  # the FP32 model's PSNR-Y per validation image
    cache: Path
    on_attempt: Callable[[BudgetAttempt], None] | None = None
    attempts: list[BudgetAttempt] = field(default_factory=list)

    @property
    def fp32_psnr(self) -> float:
        """The FP32 model's mean PSNR-Y on the validation images."""
        return float(np.mean(self.fp32_each))

    def scored(self, step: Int8Config) -> tuple[onnx.ModelProto, float, float]:
        """(model, mean PSNR-Y, worst per-image drop) of ``fp32`` quantized with ``step``."""
        model = quantize_int8(self.fp32, self.calib, step, self.cache)
        each = sr_psnr_per_image(runner_for(model, step.scheme)[0], self.val, self.facts)
        return model, float(np.mean(each)), max(f - q for f, q in zip(self.fp32_each, each, strict=True))

    def attempt(self, kept: list[LayerSensitivity], ranking: list[LayerSensitivity]) -> BudgetResult:
        """Quantize with the ``kept`` layers in FP32, record the attempt, and return it as a result."""
        step = replace(self.config, exclude=[*self.config.exclude, *(layer.node for layer in kept)])
        model, psnr, worst = self.scored(step)
        fp32_psnr = self.fp32_psnr
        self.attempts.append(BudgetAttempt([layer.module for layer in kept], psnr, fp32_psnr - psnr, worst))
        if self.on_attempt is not None:
            self.on_attempt(self.attempts[-1])
        return BudgetResult(model, fp32_psnr, psnr, self.max_drop_db, kept, ranking, self.attempts, worst)

    def probe_each_layer(self, ranking: list[LayerSensitivity],
                         on_probe: Callable[[LayerSensitivity], None] | None) -> None:
        """Set each layer's ``drop_alone_db``: the PSNR-Y drop with only that layer quantized."""
        for layer in ranking:
            _, psnr, _ = self.scored(replace(self.config, only=[layer.node]))
            layer.drop_alone_db = self.fp32_psnr - psnr
            if on_probe is not None:
                on_probe(layer)

    def fewest_float_layers(self, ranking: list[LayerSensitivity], best: BudgetResult) -> BudgetResult:
        """Keep the k layers with the largest lone drops in FP32, k = 1, 2, ...: the first in budget, else the best.

        A layer whose lone quantization changes nothing (no QDQ of its own, e.g. PRelu, DepthToSpace) is no use
        in FP32; and at least one layer stays quantized, or the "INT8" model is FP32.
        """
        candidates = sorted((layer for layer in ranking if layer.drop_alone_db != 0), key=lambda x: -x.drop_alone_db)
        for k in range(1, len(candidates)):
            result = self.attempt(candidates[:k], ranking)
            if result:
                return result
            best = result if result.drop_db < best.drop_db else best
        return best
