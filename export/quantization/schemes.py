"""Pick the INT8 scheme for a target by measurement: quantize with each safe scheme, keep the most accurate.

The schemes tried are the planner's (``edgeconv.runtime.cpu.int8_targets.plan_int8``): those whose integer
kernels are exact on the target. Each is calibrated on most of the calibration
crops and scored by its output PSNR against the FP32 model on the held-out rest - never on
validation or test images. A scheme the CPU running this cannot compute exactly (a target other
than this machine: ARM or VNNI schemes on an AVX2-only x86) is scored on ONNX Runtime's unfused QDQ
graph (Q and DQ as float ops), which is what exact integer kernels compute; the rest run on the
real integer kernels here. Ties (within 0.05 dB) go to the scheme listed first for the target.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx

from edgeconv.export.quantization.calibration import Feed
from edgeconv.export.quantization.ptq import Int8Config, quantize_int8
from edgeconv.runtime.cpu.int8_targets import SAFE_SCHEMES, Scheme, native_target, plan_int8

TIE_DB = 0.05


def ort_runner(
    model: onnx.ModelProto, threads: int = 0, exact_kernels: bool = True
) -> Callable[[np.ndarray], np.ndarray]:
    """input -> output in ONNX Runtime's CPU provider: fused integer kernels, or (``exact_kernels=False``)
    the QDQ graph unfused, so Q/DQ run as float ops - what exact integer arithmetic computes on any CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    if not exact_kernels:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def computes_exactly_here(scheme: Scheme) -> bool:
    """Whether this CPU's integer kernels compute ``scheme`` without saturation."""
    here, _ = native_target()
    return any((s.activations, s.weights, s.reduce_range) == (scheme.activations, scheme.weights, scheme.reduce_range)
               for s in SAFE_SCHEMES[here])


def runner_for(model: onnx.ModelProto, scheme: Scheme) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """A runner computing ``model`` as exact integer kernels would, and how (for the report)."""
    if computes_exactly_here(scheme):
        return ort_runner(model), "ONNX Runtime integer kernels of this CPU"
    return ort_runner(model, exact_kernels=False), "ONNX Runtime QDQ float simulation (this CPU would saturate)"


def output_psnr_pooled(reference: list[np.ndarray], got: list[np.ndarray], peak: float) -> float:
    """PSNR (dB) of all outputs against the reference, one pooled MSE (inf when identical)."""
    se = sum(float(np.sum((g.astype(np.float64) - r) ** 2)) for r, g in zip(reference, got, strict=True))
    mse = se / sum(r.size for r in reference)
    return math.inf if mse == 0 else 10.0 * math.log10(peak**2 / mse)


@dataclass(frozen=True)
class SchemeTrial:
    """One scheme tried: its output PSNR against FP32 on the held-out crops."""

    scheme: Scheme
    output_psnr_db: float
    scored_with: str


@dataclass(frozen=True)
class SchemeChoice:
    """The scheme kept for a target, and every trial behind the choice; a change is a copy (``refusing``)."""

    target: str
    target_why: str
    scheme: Scheme
    trials: list[SchemeTrial] = field(default_factory=list)
    held_out: int = 0
    chosen_by: str = "measured"  # "measured" | "set by the user"
    refused: list[str] = field(default_factory=list)  # more accurate schemes a target back end would not load

    @property
    def why(self) -> str:
        """One sentence: what was kept and why."""
        if self.chosen_by != "measured":
            return f"{self.scheme.name} for {self.target}, {self.chosen_by}"
        best = next(t for t in self.trials if t.scheme == self.scheme)
        rank = "highest" if not self.refused else f"highest loadable ({len(self.refused)} refused by OpenVINO)"
        return (f"{self.scheme.name}: {rank} output PSNR vs FP32 ({best.output_psnr_db:.2f} dB) of "
                f"{len(self.trials)} schemes exact on {self.target} ({self.target_why}), "
                f"on {self.held_out} held-out calibration crops")

    def fallbacks(self) -> list[Scheme | None]:
        """The measured schemes in order of accuracy after the chosen one, then None (no more to try)."""
        if not self.trials:
            return [None]
        ranked = [t.scheme for t in sorted(self.trials, key=lambda t: -t.output_psnr_db) if t.scheme != self.scheme]
        return [*ranked, None]

    def refusing(self, reason: str, fallback: Scheme) -> SchemeChoice:
        """A copy that keeps ``fallback`` instead, the chosen scheme's refusal (``reason``) recorded."""
        return replace(self, scheme=fallback, refused=[*self.refused, reason])

    def as_json(self) -> dict[str, object]:
        """Plain data for reports and the artifact's metadata."""
        return {
            "target": self.target, "scheme": self.scheme.as_dict(), "scheme_name": self.scheme.name,
            "chosen_by": self.chosen_by, "why": self.why, "refused": self.refused,
            "trials": [{"scheme": t.scheme.name, "output_psnr_db": round(t.output_psnr_db, 3),
                        "scored_with": t.scored_with} for t in self.trials],
        }


def split_feeds(feeds: list[Feed]) -> tuple[list[Feed], list[Feed]]:
    """(calibrate on, score on): every 4th crop held out when there are >= 8, else all of them for both."""
    if len(feeds) < 8:
        return feeds, feeds
    held = feeds[3::4]
    return [f for i, f in enumerate(feeds) if i % 4 != 3], held


def choose_scheme(
    fp32: onnx.ModelProto, feeds: list[Feed], base: Int8Config, target: str, peak: float,
    on_trial: Callable[[int, int], None] | None = None,
) -> SchemeChoice:
    """Quantize ``fp32`` with every scheme exact on ``target`` and keep the most accurate (see module doc).

    Args:
        fp32: the FP32 model; not changed.
        feeds: calibration inputs (every 4th held out for scoring, ``split_feeds``).
        base: the INT8 knobs each scheme is applied to (``Int8Config.with_scheme``).
        target: an INT8 target; its schemes come from ``plan_int8``.
        peak: the signal peak of the output PSNR (the image range for SR).
        on_trial: called with ``(done, total)`` after each scheme.

    Returns:
        The kept scheme with every trial behind it.
    """
    plan = plan_int8(target)
    calibrate, held = split_feeds(feeds)
    trials = _trials(fp32, calibrate, held, base, plan.schemes, peak, on_trial)
    best = max(t.output_psnr_db for t in trials)
    chosen = next(t.scheme for t in trials if t.output_psnr_db >= best - TIE_DB)
    return SchemeChoice(plan.target, plan.target_why, chosen, trials, len(held))


def _trials(
    fp32: onnx.ModelProto, calibrate: list[Feed], held: list[Feed], base: Int8Config, schemes: tuple[Scheme, ...],
    peak: float, on_trial: Callable[[int, int], None] | None,
) -> list[SchemeTrial]:
    """Each scheme calibrated on ``calibrate`` (one range cache) and scored against FP32 on ``held``, in order."""
    name = fp32.graph.input[0].name
    reference = [ort_runner(fp32)(f[name]) for f in held]
    trials: list[SchemeTrial] = []
    with tempfile.TemporaryDirectory(prefix="edgeconv-schemes-") as tmp:
        cache = Path(tmp) / "ranges"
        for i, scheme in enumerate(schemes):
            model = quantize_int8(fp32, calibrate, base.with_scheme(scheme), cache=cache)
            run, how = runner_for(model, scheme)
            psnr = output_psnr_pooled(reference, [run(f[name]) for f in held], peak)
            trials.append(SchemeTrial(scheme, psnr, how))
            if on_trial is not None:
                on_trial(i + 1, len(schemes))
    return trials
