"""What one quantization job is asked to do (``edgeconv quantize``, and the pipeline's INT8 step), checked.

The settings are typed values named as the command's options; the closed sets are the ``str`` enums of
``edgeconv.runtime.choices`` (a plain string such as ``"int8"`` is taken too and becomes its member).
The dataclass is frozen: the job derives what it needs (``int8_config``, ``int8_plan``) without changing it.
``check()`` raises the one-line ``UsageError`` for a request that cannot run (an unknown word, an INT8 job
without calibration images, a budget without validation images), before any model is loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from edgeconv.errors import UsageError
from edgeconv.export.quantization.ptq import Int8Config
from edgeconv.export.quantization.qat import QATSettings
from edgeconv.runtime.choices import (
    CalibrationMethod,
    Choice,
    Int8Target,
    Precision,
    QuantFormat,
    QuantType,
    Switch,
)
from edgeconv.runtime.cpu.int8_targets import Int8Plan, check_target, plan_int8

REDUCE_RANGE = {Switch.AUTO: None, Switch.ON: True, Switch.OFF: False}
AUTO_BUDGET_DB = 0.1  # --precision auto without --max-psnr-drop: FP16/INT8 must stay this close to FP32
_CHOICES: dict[str, type[Choice]] = {
    "precision": Precision, "method": CalibrationMethod, "target": Int8Target, "reduce_range": Switch,
    "activation_type": QuantType, "weight_type": QuantType, "quant_format": QuantFormat,
}


@dataclass(frozen=True)
class QuantizeSettings:
    """One quantization request: the FP32 model, its images, the precision and INT8 scheme pins, the budget.

    ``per_channel``, ``reduce_range`` (``auto``/``on``/``off``), ``activation_type`` and ``weight_type``
    pin the INT8 scheme; left unset, the scheme is measured for ``target`` (``auto``: this CPU).
    """

    model: Path
    calib: Path | None = None
    val: Path | None = None
    output: Path | None = None
    precision: Precision = Precision.INT8
    method: CalibrationMethod = CalibrationMethod.PERCENTILE
    target: Int8Target = Int8Target.AUTO
    per_channel: bool | None = None
    reduce_range: Switch = Switch.AUTO
    activation_type: QuantType | None = None
    weight_type: QuantType | None = None
    quant_format: QuantFormat = QuantFormat.QDQ
    calib_crop: int = 128
    max_calib_images: int = 64
    max_psnr_drop: float | None = None
    threads: int = 0  # latency of --precision auto: the back end's own choice, as the CLI
    latency_hw: tuple[int, int] = (360, 640)
    report: Path | None = None
    qat_data: Path | None = None  # HR training images: fine-tune the INT8 graph (every layer INT8) on them
    qat_steps: int = 12000
    max_minutes: float | None = None  # QAT: stop after this long, its state saved for --resume
    resume: Path | None = None  # QAT: continue from this state file

    def __post_init__(self) -> None:
        """A plain string that names a member becomes that member; any other value is left for ``check()``."""
        for name, choice in _CHOICES.items():
            value = getattr(self, name)
            if isinstance(value, str) and not isinstance(value, choice) and value in choice.values():
                object.__setattr__(self, name, choice(value))

    def check(self) -> None:
        """Raise ``UsageError`` naming the option for a request that cannot run; loads nothing."""
        if self.precision not in Precision.values():
            raise UsageError("--precision", f"unknown precision {self.precision!r}",
                             f"expected {', '.join(Precision.values())}")
        if self.precision in (Precision.INT8, Precision.AUTO) and self.calib is None:
            raise UsageError("--calib", f"{self.precision} needs calibration images",
                             "pass --calib DIR (e.g. training images)")
        if self.max_psnr_drop is not None and (math.isnan(self.max_psnr_drop) or self.max_psnr_drop < 0):
            raise UsageError("--max-psnr-drop", f"must be >= 0 dB, got {self.max_psnr_drop}")
        if (self.max_psnr_drop is not None or self.precision == Precision.AUTO) and self.val is None:
            raise UsageError("--images", "the accuracy budget needs validation images",
                             "pass --images DIR with HR images you do not report on (e.g. BSD200, not Set5)")
        self._check_qat()
        if self.max_calib_images < 1:
            raise UsageError("--max-calib-images", f"must be >= 1, got {self.max_calib_images}")
        self.int8_config().check()
        self.target_name()

    def _check_qat(self) -> None:
        """``UsageError`` for QAT options that cannot go together."""
        if self.qat_data is not None and (self.precision != Precision.INT8 or self.max_psnr_drop is not None):
            raise UsageError("--qat-data", "fine-tunes every layer in INT8",
                             "use it with --precision int8 and without --max-psnr-drop")
        if self.qat_data is None and (self.max_minutes is not None or self.resume is not None):
            raise UsageError("--max-minutes" if self.resume is None else "--resume",
                             "stops and resumes quantization-aware fine-tuning", "use it with --qat-data")
        if self.qat_data is not None:
            self.qat_settings().check()

    def qat_settings(self) -> QATSettings | None:
        """The quantization-aware fine-tuning run, when ``qat_data`` asks for one."""
        if self.qat_data is None:
            return None
        return QATSettings(self.qat_data, steps=self.qat_steps, max_minutes=self.max_minutes, resume=self.resume,
                           state=self.qat_state_path)

    @property
    def qat_state_path(self) -> Path:
        """Where a stopped fine-tuning saves its state: ``OUTPUT.qat.pt`` beside the artifact."""
        return self.output_path.with_suffix(".qat.pt")

    @property
    def output_path(self) -> Path:
        """Where the artifact goes: ``output``, else ``MODEL.<precision>.onnx`` beside the model."""
        return self.output or self.model.with_name(f"{self.model.stem}.{self.precision}.onnx")

    @property
    def calib_crops(self) -> str:
        """How reports name the calibration inputs every output-vs-FP32 figure is measured on."""
        return f"{self.calib_crop}-px centre crops of {self.calib.name}" if self.calib is not None else "no crops"

    @property
    def budget_db(self) -> float | None:
        """The PSNR-Y budget the job enforces (``--precision auto`` always has one)."""
        return AUTO_BUDGET_DB if self.max_psnr_drop is None and self.precision == Precision.AUTO else self.max_psnr_drop

    def pinned(self) -> dict[str, object]:
        """The scheme settings the user fixed (none: the scheme is measured for the target)."""
        if self.reduce_range not in Switch.values():
            raise UsageError("--reduce-range", f"unknown value {self.reduce_range!r}", "expected auto, on or off")
        pins = {"per_channel": self.per_channel, "reduce_range": REDUCE_RANGE[Switch(self.reduce_range)],
                "activation_type": self.activation_type, "weight_type": self.weight_type}
        return {k: v for k, v in pins.items() if v is not None}

    def int8_config(self) -> Int8Config:
        """The INT8 knobs: calibration method and format, plus any pinned scheme settings."""
        return Int8Config(method=self.method, quant_format=self.quant_format, **self.pinned())  # type: ignore[arg-type]

    def int8_plan(self, cpuinfo: str | None = None) -> Int8Plan:
        """The schemes the job tries (``plan_int8``): every one exact on the target, or the pinned one.

        Args:
            cpuinfo: ``/proc/cpuinfo`` text standing in for this CPU (tests); None reads this machine's.

        Returns:
            The plan for ``target`` (``auto``: this CPU's target).
        """
        pins = self.pinned()
        return plan_int8(self.target_name(), pins.get("activation_type"), pins.get("weight_type"),  # type: ignore[arg-type]
                         pins.get("reduce_range"), pins.get("per_channel"), cpuinfo)  # type: ignore[arg-type]

    def target_name(self) -> str | None:
        """The INT8 target asked for (``UsageError`` when unknown), or None for this CPU's."""
        return None if self.target == Int8Target.AUTO else check_target(self.target)

