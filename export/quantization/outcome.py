"""What a quantization job measured and chose (``QuantizeOutcome``), and how the job ended (``QuantizeResult``).

Plain data, frozen: the JSON report (``--json``) is ``QuantizeOutcome.as_json()``; the terminal report is
printed from these objects by the CLI (``edgeconv.cli.quantize_report``). A job ends in one of three states:
written (``ok``), over budget (``outcome.failure`` says by how much, nothing written), or stopped during
quantization-aware fine-tuning (``qat_stopped``: its state saved, no artifact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeconv.export.quantization.budget import BudgetResult
from edgeconv.export.quantization.precision import Candidate
from edgeconv.export.quantization.ptq import Int8Config
from edgeconv.export.quantization.qat import QATRun
from edgeconv.export.quantization.schemes import SchemeChoice
from edgeconv.export.quantization.sensitivity import LayerSensitivity
from edgeconv.export.quantization.settings import QuantizeSettings


@dataclass(frozen=True)
class QuantizeOutcome:
    """Everything the job measured, and the artifact it chose."""

    chosen: Candidate
    candidates: list[Candidate]
    config: Int8Config
    reduce_range: bool
    reduce_range_reason: str
    calib_images: int
    max_drop_db: float | None
    fp32_psnr_db: float = math.nan
    sensitivity: list[LayerSensitivity] = field(default_factory=list)
    budget: BudgetResult | None = None
    loads_in: list[str] = field(default_factory=list)
    failure: str = ""
    scheme: SchemeChoice | None = None
    qat_losses: list[float] = field(default_factory=list)  # per fine-tuning step, when --qat-data ran
    val_images: str = ""  # what every PSNR-Y figure was measured on (``SRProtocol.describe``); "" without --images
    calib_crops: str = ""  # what every output-vs-FP32 and SQNR figure was measured on
    sensitivity_crops: int = 0  # how many of those crops the per-layer SQNRs ran on

    @property
    def has_budget(self) -> bool:
        """Whether a PSNR-Y budget was enforced (one given, and images to measure it on)."""
        return self.max_drop_db is not None and bool(self.val_images)

    @property
    def ok(self) -> bool:
        """True when the chosen candidate met the budget (and so may be written)."""
        return not self.failure

    @property
    def kept_float(self) -> list[str]:
        """The PyTorch modules the budget kept in FP32 (none without a budget search)."""
        return [k.module for k in self.budget.kept_float] if self.budget else []

    def as_json(self) -> dict[str, Any]:
        """A plain-data report (``--json``)."""
        return {
            "chosen": self.chosen.precision,
            "ok": self.ok,
            "failure": self.failure,
            "fp32_psnr_y_db": _number(self.fp32_psnr_db),
            "psnr_y_on": self.val_images or None,
            "output_vs_fp32_on": self.calib_crops,
            "max_psnr_drop_db": self.max_drop_db,
            "reduce_range": self.reduce_range,
            "reduce_range_reason": self.reduce_range_reason,
            "calibration": {"method": self.config.method, "images": self.calib_images,
                            "per_channel": self.config.per_channel, "format": self.config.quant_format,
                            "activation_type": self.config.activation_type, "weight_type": self.config.weight_type},
            "candidates": [
                {"precision": c.precision, "psnr_y_db": _number(c.psnr_db), "median_ms": _number(c.median_ms),
                 "p90_ms": _number(c.p90_ms), "within_budget": c.within_budget, "note": c.note}
                for c in self.candidates
            ],
            "kept_float": self.kept_float,
            "budget_attempts": [
                {"kept_float": a.kept_float, "psnr_y_db": _number(a.psnr_db), "drop_db": _number(a.drop_db),
                 "worst_image_drop_db": _number(a.worst_drop_db)}
                for a in (self.budget.attempts if self.budget else [])
            ],
            "sensitivity": [
                {"module": s.module, "node": s.node, "op": s.op_type, "sqnr_db": _number(s.sqnr_db),
                 "sqnr_vs_fp32_db": _number(s.sqnr_vs_fp32_db), "drop_alone_db": _number(s.drop_alone_db)}
                for s in self.sensitivity
            ],
            "loads_in": self.loads_in,
            "scheme": self.scheme.as_json() if self.scheme else None,
        }


def _number(value: float) -> float | None:
    """JSON has no NaN or infinity: None for them, else rounded to 4 decimals."""
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


@dataclass(frozen=True)
class QuantizeResult:
    """One quantization job done: what it was asked, what it measured, and where the artifact went.

    ``outcome`` is None when quantization-aware fine-tuning stopped by its minutes budget (``qat_stopped``).
    """

    settings: QuantizeSettings
    outcome: QuantizeOutcome | None
    output: Path
    qat_stopped: QATRun | None = None

    @property
    def ok(self) -> bool:
        """Whether the chosen artifact met the budget (and so was written)."""
        return self.outcome is not None and self.outcome.ok
