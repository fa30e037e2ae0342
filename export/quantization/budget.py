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
    fp32: onnx.ModelProto,
    calib: list[Feed],
    val: list[SRValidationPair],
    facts: ModelFacts,
    config: Int8Config,
    max_drop_db: float,
    sensitivity_feeds: int = 8,
    on_attempt: Callable[[BudgetAttempt], None] | None = None,
    on_probe: Callable[[LayerSensitivity], None] | None = None,
) -> BudgetResult:
    """Quantize ``fp32`` so its mean PSNR-Y on ``val`` drops by at most ``max_drop_db``, if it can.

    The largest drop of a single image is recorded too: a mean within budget on one set is no
    promise for another (default x2 model, plain PTQ: 0.063 dB on the mean of 20 BSD200 images,
    0.412 dB on the worst of them, 0.157 dB on Set5).

    Returns the first model within budget, or - when even all but one measurable layer in FP32
    misses - the attempt with the smallest drop; ``bool(result)`` says which.
    """
    fp32_each = sr_psnr_per_image(ort_runner(fp32), val, facts)
    fp32_psnr = float(np.mean(fp32_each))
    attempts: list[BudgetAttempt] = []
    with tempfile.TemporaryDirectory(prefix="edgeconv-budget-") as tmp:
        cache = Path(tmp) / "calibration.json"

        def scored(step: Int8Config) -> tuple[onnx.ModelProto, float, float]:
            """(model, mean PSNR-Y, worst per-image drop)."""
            model = quantize_int8(fp32, calib, step, cache)
            each = sr_psnr_per_image(runner_for(model, step.scheme)[0], val, facts)
            return model, float(np.mean(each)), max(f - q for f, q in zip(fp32_each, each, strict=True))

        def attempt(kept: list[LayerSensitivity], ranking: list[LayerSensitivity]) -> BudgetResult:
            model, psnr, worst = scored(replace(config, exclude=[*config.exclude, *(layer.node for layer in kept)]))
            attempts.append(BudgetAttempt([layer.module for layer in kept], psnr, fp32_psnr - psnr, worst))
            if on_attempt is not None:
                on_attempt(attempts[-1])
            return BudgetResult(model, fp32_psnr, psnr, max_drop_db, kept, ranking, attempts, worst)

        best = attempt([], [])
        ranking = layer_sensitivity(fp32, best.model, calib[:sensitivity_feeds])
        best.sensitivity = ranking
        if best:
            return best
        for layer in ranking:
            model, psnr, _ = scored(replace(config, only=[layer.node]))
            layer.drop_alone_db = fp32_psnr - psnr
            if on_probe is not None:
                on_probe(layer)
        # A layer whose lone quantization changes nothing (no QDQ of its own, e.g. PRelu, DepthToSpace)
        # is no use in FP32; and at least one layer stays quantized, or the "INT8" model is FP32.
        candidates = sorted((layer for layer in ranking if layer.drop_alone_db != 0), key=lambda x: -x.drop_alone_db)
        for k in range(1, len(candidates)):
            result = attempt(candidates[:k], ranking)
            if result:
                return result
            best = result if result.drop_db < best.drop_db else best
    best.sensitivity = ranking
    return best
