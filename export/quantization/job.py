"""What ``edgeconv quantize`` does, step by step: load safely, calibrate, quantize, score, choose, report.

``quantize_file(settings)`` is the one path that writes a quantized artifact: ``edgeconv quantize`` and the
pipeline's INT8 step both call it, so the same settings give the same bytes.

Every artifact is checked before it is kept: ``onnx.checker``, a session in ONNX Runtime (and in
OpenVINO when installed), and its outputs against the FP32 model's on the calibration crops - an
INT8 model whose output PSNR against FP32 falls under ``COLLAPSE_DB`` is reported as collapsed
(the u8s8 saturation of AVX2 CPUs without VNNI gave 23.7 dB in a probe here).
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from edgeconv.errors import UsageError
from edgeconv.export.graph.checked_load import load_onnx_checked
from edgeconv.export.graph.compact import STALE_METADATA_PREFIXES, compact_artifact
from edgeconv.export.graph.from_checkpoint import set_metadata
from edgeconv.export.quantization.budget import BudgetResult, quantize_within_budget
from edgeconv.export.quantization.calibration import Feed, calibration_feeds
from edgeconv.export.quantization.precision import Candidate, ort_latency_ms, pick_fastest
from edgeconv.export.quantization.ptq import Int8Config, convert_fp16, quantize_int8
from edgeconv.export.quantization.qat import QATRun, QATSettings, qat_finetune, trainable_weights
from edgeconv.export.quantization.schemes import SchemeChoice, choose_scheme, ort_runner, runner_for
from edgeconv.export.quantization.sensitivity import LayerSensitivity, layer_sensitivity
from edgeconv.export.quantization.settings import QuantizeSettings
from edgeconv.export.quantization.tensorrt_rules import tensorrt_qdq_violations
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.cpu.int8_targets import TARGET_WHY, Scheme, native_target
from edgeconv.runtime.model_facts import PREFIX, ModelFacts
from edgeconv.runtime.validation.sr_eval import SRValidationPair, sr_quality, sr_validation_pairs
from edgeconv.runtime.validation.validator import output_psnr

COLLAPSE_DB = 30.0


@dataclass
class QuantizeOutcome:
    """Everything the command measured, and the artifact it chose."""

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

    @property
    def ok(self) -> bool:
        return not self.failure

    def as_json(self) -> dict[str, Any]:
        """A plain-data report (``--report``)."""

        def number(value: float) -> float | None:
            return None if math.isnan(value) or math.isinf(value) else round(value, 4)

        return {
            "chosen": self.chosen.precision,
            "ok": self.ok,
            "failure": self.failure,
            "fp32_psnr_y_db": number(self.fp32_psnr_db),
            "max_psnr_drop_db": self.max_drop_db,
            "reduce_range": self.reduce_range,
            "reduce_range_reason": self.reduce_range_reason,
            "calibration": {"method": self.config.method, "images": self.calib_images,
                            "per_channel": self.config.per_channel, "format": self.config.quant_format,
                            "activation_type": self.config.activation_type, "weight_type": self.config.weight_type},
            "candidates": [
                {"precision": c.precision, "psnr_y_db": number(c.psnr_db), "median_ms": number(c.median_ms),
                 "p90_ms": number(c.p90_ms), "within_budget": c.within_budget, "note": c.note}
                for c in self.candidates
            ],
            "kept_float": [k.module for k in self.budget.kept_float] if self.budget else [],
            "budget_attempts": [
                {"kept_float": a.kept_float, "psnr_y_db": number(a.psnr_db), "drop_db": number(a.drop_db),
                 "worst_image_drop_db": number(a.worst_drop_db)}
                for a in (self.budget.attempts if self.budget else [])
            ],
            "sensitivity": [
                {"module": s.module, "node": s.node, "op": s.op_type, "sqnr_db": number(s.sqnr_db),
                 "sqnr_vs_fp32_db": number(s.sqnr_vs_fp32_db), "drop_alone_db": number(s.drop_alone_db)}
                for s in self.sensitivity
            ],
            "loads_in": self.loads_in,
            "scheme": self.scheme.as_json() if self.scheme else None,
        }


_COMPILE_IN_OPENVINO = """
import sys, numpy as np, openvino as ov
core = ov.Core()
compiled = core.compile_model(core.read_model(sys.argv[1]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
compiled(np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32))
"""


def openvino_refusal(model: onnx.ModelProto) -> str | None:
    """Why OpenVINO (CPU plugin) cannot compile and run ``model``, or None when it can (or is not installed).

    Compiled and run once in a child process: on some QDQ graphs OpenVINO 2026.4 raises "No suitable
    implementations" on AVX-512, *crashes* (SIGSEGV) when compiling with oneDNN capped at AVX2, or
    compiles and then fails on the first inference ("GroupConvolution ... not initialized").
    """
    if importlib.util.find_spec("openvino") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="edgeconv-ov-") as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(model.SerializeToString())
        try:
            done = subprocess.run([sys.executable, "-c", _COMPILE_IN_OPENVINO, str(path)], capture_output=True,
                                  text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return "compile did not finish in 300 s"
    if done.returncode == 0:
        return None
    if done.returncode < 0:
        return f"it crashed (signal {-done.returncode})"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1][:120] if lines else f"exit code {done.returncode}"


def loads_in(model: onnx.ModelProto) -> list[str]:
    """The back ends here that compile ``model`` (ONNX Runtime always; OpenVINO when installed).

    A compile here is a check of the graph, not of the target's kernels: OpenVINO's ARM INT8 path is
    refused on ARM by the runtime (``edgeconv.runtime.backends.openvino.refuse_arm_int8``).
    """
    import onnxruntime as ort

    ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    if importlib.util.find_spec("openvino") is None:
        return ["onnxruntime"]
    refusal = openvino_refusal(model)
    return ["onnxruntime", "openvino" if refusal is None else f"NOT openvino ({refusal})"]


class QuantizeJob:
    """One ``edgeconv quantize`` run over an FP32 model file."""

    def __init__(
        self, model: Path, config: Int8Config, calib: Path | None, val: Path | None,
        calib_crop: int, max_calib_images: int, max_drop_db: float | None,
        target: str | None = None, search_scheme: bool = True, qat: QATSettings | None = None,
    ) -> None:
        """``target``: the INT8 target (None: this CPU's); ``search_scheme``: measure the schemes exact on
        it and keep the most accurate, else quantize with ``config`` as given; ``qat``: fine-tune the INT8
        graph afterwards (``edgeconv.export.quantization.qat``)."""
        self.qat = qat
        self.path, self.config, self.calib, self.val = model, config, calib, val
        self.target = target or native_target()[0]
        if self.target == "tensorrt":  # TensorRT refuses an int32 bias DequantizeLinear
            self.config.float_bias = True
        self.search_scheme = search_scheme
        self.calib_crop, self.max_calib_images, self.max_drop_db = calib_crop, max_calib_images, max_drop_db
        self.fp32 = load_onnx_checked(model)
        self.facts = ModelFacts.from_props({p.key: p.value for p in self.fp32.metadata_props}, str(model))
        if self.facts.task == "sr":  # the output is an 8-bit image: its last Q/DQ lands on that grid
            self.config.image_output = self.facts.value_range
        self.input_name = self.fp32.graph.input[0].name
        self.console = Console(stderr=True)

    def _calibration(self) -> list[Feed]:
        with Progress(TextColumn("calibration images"), BarColumn(), MofNCompleteColumn(), console=self.console,
                      transient=True) as progress:
            task = progress.add_task("read", total=None)
            feeds = calibration_feeds(
                self.calib, self.facts, self.input_name, self.calib_crop, self.max_calib_images,
                on_image=lambda done, total: progress.update(task, completed=done, total=total),
            )
        return feeds

    def _score(self, model: onnx.ModelProto, val: list[SRValidationPair], int8: bool = False) -> float:
        run = runner_for(model, self.config.scheme)[0] if int8 else ort_runner(model)
        return sr_quality(run, val, self.facts)[0] if val else math.nan

    def _peak(self) -> float:
        lo, hi = self.facts.value_range
        return hi - lo if self.facts.task == "sr" else 1.0

    def _choose_scheme(self, feeds: list[Feed]) -> SchemeChoice:
        """Measure the schemes exact on the target (or take the user's), and quantize with it from now on."""
        if not self.search_scheme:
            if self.config.reduce_range is None:  # 7-bit u8 x s8 weights where the target's kernels saturate
                self.config.reduce_range = self.target == "x86-avx2" and self.config.weight_type == "s8"
            return SchemeChoice(self.target, TARGET_WHY[self.target], self.config.scheme, chosen_by="set by the user")
        with Progress(TextColumn(f"INT8 schemes for {self.target}"), BarColumn(), MofNCompleteColumn(),
                      console=self.console, transient=True) as progress:
            task = progress.add_task("schemes", total=None)
            choice = choose_scheme(self.fp32, feeds, self.config, self.target, self._peak(),
                                   on_trial=lambda done, total: progress.update(task, completed=done, total=total))
        self.config = self.config.with_scheme(choice.scheme)
        return choice

    def _collapse_check(self, model: onnx.ModelProto, feeds: list[Feed]) -> float:
        """Worst output PSNR (dB) of ``model`` against the FP32 model on up to 8 calibration crops.

        For SR the peak is the image range (a flat crop would otherwise read as collapsed).
        """
        ref, got = ort_runner(self.fp32), runner_for(model, self.config.scheme)[0]
        peak = self._peak() if self.facts.task == "sr" else None
        return min(output_psnr(ref(f[self.input_name]), got(f[self.input_name]), peak) for f in feeds[:8])

    def _int8_candidate(
        self, feeds: list[Feed], val: list[SRValidationPair], fp32_psnr: float
    ) -> tuple[Candidate, dict[str, Any]]:
        """Quantize with the current scheme (within the budget when there is one) and measure it."""
        budget, fields = self.max_drop_db, {}
        with self.console.status(f"quantizing to INT8 ({self.config.scheme.name}) ..."):
            if budget is not None and val:
                result = quantize_within_budget(self.fp32, feeds, val, self.facts, self.config, budget)
                int8, fields["sensitivity"], fields["budget"] = result.model, result.sensitivity, result
            else:
                int8 = quantize_int8(self.fp32, feeds, self.config)
                if self.qat is not None:
                    run = self._finetune(int8)
                    if not run.finished:
                        raise QATStopped(run)
                    int8, fields["qat_losses"] = run.model, run.losses
                fields["sensitivity"] = layer_sensitivity(self.fp32, int8, feeds[:8])
            self._check_target_rules(int8)
            collapse = self._collapse_check(int8, feeds)
        psnr = self._score(int8, val, int8=True)
        note = f"output vs FP32 {collapse:.1f} dB"
        within = (budget is None or not val or fp32_psnr - psnr <= budget) and collapse >= COLLAPSE_DB
        if collapse < COLLAPSE_DB:
            note += " - COLLAPSED (integer-kernel saturation? try --reduce-range on)"
        return Candidate("int8", int8, psnr, within_budget=within, note=note), fields

    def _check_target_rules(self, int8: onnx.ModelProto) -> None:
        """A TensorRT artifact must follow its explicit-quantization rules: refuse to write one that does not."""
        if self.target != "tensorrt":
            return
        problems = tensorrt_qdq_violations(int8, every_conv_int8=False)  # a budget may keep layers float
        if problems:
            raise UsageError("--target tensorrt", f"the INT8 graph breaks TensorRT's Q/DQ rules: {problems[0]}"
                             + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                             "nothing was written; report this model to edgeconv")

    def _finetune(self, int8: onnx.ModelProto) -> QATRun:
        """Quantization-aware fine-tuning of ``int8`` with progress; the degradation the model was trained on."""
        props = {p.key: p.value for p in self.fp32.metadata_props}
        degradation = props.get(f"{PREFIX}train_degradation", "bicubic")
        with Progress(TextColumn(f"QAT ({self.config.scheme.name}, {degradation} LR)"), BarColumn(),
                      MofNCompleteColumn(), TextColumn("loss {task.fields[loss]:.4f}"), console=self.console,
                      transient=True) as progress:
            task = progress.add_task("qat", total=self.qat.steps, loss=float("nan"))
            if self.qat.resume is not None:
                self.console.print(f"resuming QAT from {self.qat.resume}")
            return qat_finetune(
                int8, trainable_weights(self.fp32), self.config.resolved_reduce_range()[0], self.facts.scale or 1,
                self.qat, degradation,
                on_step=lambda step, total, loss: progress.update(task, completed=step, loss=loss),
                teacher=ort_runner(self.fp32),
            )

    def _openvino_is_a_target(self) -> bool:
        """OpenVINO runs x86 artifacts (on ARM it refuses INT8 anyway; TensorRT files are TensorRT's)."""
        return self.target.startswith("x86") and importlib.util.find_spec("openvino") is not None

    def _schemes_after(self, choice: SchemeChoice | None) -> list[Scheme | None]:
        """The measured schemes in order of accuracy after the chosen one, then None (no more to try)."""
        if choice is None or not choice.trials:
            return [None]
        ranked = [t.scheme for t in sorted(choice.trials, key=lambda t: -t.output_psnr_db) if t.scheme != choice.scheme]
        return [*ranked, None]

    def run(self, precision: str, threads: int, latency_hw: tuple[int, int]) -> QuantizeOutcome:
        """Build the artifact(s) for ``precision`` and measure them; nothing is written here."""
        val = sr_validation_pairs(self.val, self.facts) if self.val is not None else []
        fp32_psnr = self._score(self.fp32, val)
        feeds = self._calibration() if precision in ("int8", "auto") else []
        scheme = self._choose_scheme(feeds) if feeds else None
        reduce_range, why = self.config.resolved_reduce_range()
        budget = self.max_drop_db
        candidates: list[Candidate] = []
        outcome_fields: dict[str, Any] = {}
        if precision in ("fp16", "auto"):
            half = convert_fp16(self.fp32)
            psnr = self._score(half, val)
            within = budget is None or not val or fp32_psnr - psnr <= budget
            candidates.append(Candidate("fp16", half, psnr, within_budget=within))
        if precision in ("int8", "auto"):
            for fallback in self._schemes_after(scheme):
                candidate, fields = self._int8_candidate(feeds, val, fp32_psnr)
                refusal = openvino_refusal(candidate.model) if self._openvino_is_a_target() else None
                if refusal is None or fallback is None:
                    break
                scheme.refused.append(f"{self.config.scheme.name}: OpenVINO cannot run it ({refusal})")
                self.config = self.config.with_scheme(fallback)
                scheme.scheme = fallback
            candidates.append(candidate)
            outcome_fields.update(fields)
        if precision == "auto":
            candidates.insert(0, Candidate("fp32", self.fp32, fp32_psnr))
            x = np.random.default_rng(0).random((1, 3, *latency_hw), dtype=np.float32)
            with self.console.status(f"timing {len(candidates)} precisions at {latency_hw[0]}x{latency_hw[1]} ..."):
                for c in candidates:
                    c.median_ms, c.p90_ms = ort_latency_ms(c.model, x, threads, runs=20)
            chosen = pick_fastest(candidates)
        else:
            chosen = candidates[0]
        outcome = QuantizeOutcome(chosen, candidates, self.config, reduce_range, why, len(feeds), budget, fp32_psnr,
                                  scheme=scheme, **outcome_fields)
        if not chosen.within_budget:
            drop = fp32_psnr - chosen.psnr_db
            outcome.failure = (
                f"{chosen.precision} misses the budget: PSNR-Y drop {drop:.3f} dB > {budget} dB "
                f"(short by {drop - budget:.3f} dB)"
                if val and budget is not None
                else f"{chosen.precision} {chosen.note}"
            )
            if outcome.budget is not None:
                outcome.failure += f", even with {len(outcome.budget.kept_float)} layer(s) kept in FP32"
        onnx.checker.check_model(chosen.model)
        outcome.loads_in = loads_in(chosen.model)
        return outcome

    def write(self, outcome: QuantizeOutcome, output: Path) -> None:
        """Write the chosen artifact atomically, its facts updated (precision, quantization settings)."""
        model = outcome.chosen.model
        facts = {f"{PREFIX}precision": outcome.chosen.precision}
        if outcome.chosen.precision == "int8":
            facts[f"{PREFIX}quantization"] = json.dumps({
                "method": self.config.method, "format": self.config.quant_format,
                "per_channel": self.config.per_channel, "reduce_range": outcome.reduce_range,
                "activation_type": self.config.activation_type, "weight_type": self.config.weight_type,
                "calibration_images": outcome.calib_images,
                "kept_float": [k.module for k in outcome.budget.kept_float] if outcome.budget else [],
                "symmetric_activations": self.config.symmetric_activations, "float_bias": self.config.float_bias,
                "qat_steps": len(outcome.qat_losses) if outcome.qat_losses else 0,
                **(outcome.scheme.as_json() if outcome.scheme else {}),
            })
        model = compact_artifact(model)
        fp32_props = {p.key: p.value for p in self.fp32.metadata_props if not p.key.startswith(STALE_METADATA_PREFIXES)}
        set_metadata(model, {**fp32_props, **facts})
        onnx.checker.check_model(model)
        write_bytes_atomic(output, model.SerializeToString())

    @staticmethod
    def _print_schemes(console: Console, choice: SchemeChoice) -> None:
        if choice.trials:
            table = Table(title=f"INT8 schemes exact on {choice.target} (output PSNR vs FP32, held-out crops)")
            for col in ("scheme", "output PSNR dB", "computed with"):
                table.add_column(col)
            for t in sorted(choice.trials, key=lambda t: -t.output_psnr_db):
                table.add_row(t.scheme.name + (" (chosen)" if t.scheme == choice.scheme else ""),
                              f"{t.output_psnr_db:.2f}", t.scored_with)
            console.print(table)
        for refusal in choice.refused:
            console.print(f"skipped {refusal}", highlight=False)
        console.print(f"scheme: {choice.why}", highlight=False)

    def print_report(self, outcome: QuantizeOutcome) -> None:
        """The terminal report: candidates, layers kept in FP32 and why, the most sensitive layers."""
        console = Console()
        table = Table(title=f"{self.path.name}: precision", show_lines=False)
        for col in ("precision", "PSNR-Y dB", "drop dB", "median ms", "p90 ms", "in budget", "note"):
            table.add_column(col)
        for c in outcome.candidates:
            drop = outcome.fp32_psnr_db - c.psnr_db
            table.add_row(
                c.precision + (" (chosen)" if c is outcome.chosen else ""),
                "-" if math.isnan(c.psnr_db) else f"{c.psnr_db:.3f}", "-" if math.isnan(drop) else f"{drop:+.3f}",
                "-" if math.isnan(c.median_ms) else f"{c.median_ms:.1f}",
                "-" if math.isnan(c.p90_ms) else f"{c.p90_ms:.1f}",
                "yes" if c.within_budget else "NO", c.note,
            )
        console.print(table)
        if not math.isnan(outcome.fp32_psnr_db):
            console.print(f"FP32 PSNR-Y on {self.val}: {outcome.fp32_psnr_db:.3f} dB")
        if outcome.scheme is not None:
            self._print_schemes(console, outcome.scheme)
        if outcome.calib_images:
            console.print(
                f"INT8: {self.config.method} calibration on {outcome.calib_images} image(s) from {self.calib}, "
                f"{'per-channel' if self.config.per_channel else 'per-tensor'} weights, "
                f"{self.config.activation_type}/{self.config.weight_type} {self.config.quant_format}, "
                f"reduce_range={outcome.reduce_range} ({outcome.reduce_range_reason})"
            )
        if outcome.sensitivity:
            layers = Table(title="layer sensitivity (lowest SQNR first; drop = PSNR-Y lost with only it quantized)")
            for col in ("PyTorch module", "op", "SQNR dB", "SQNR vs FP32 dB", "drop alone dB", "kept FP32"):
                layers.add_column(col)
            kept = {k.node for k in outcome.budget.kept_float} if outcome.budget else set()
            for s in sorted(outcome.sensitivity, key=lambda s: s.sqnr_db)[:12]:
                layers.add_row(
                    s.module, s.op_type, f"{s.sqnr_db:.1f}", f"{s.sqnr_vs_fp32_db:.1f}",
                    "-" if math.isnan(s.drop_alone_db) else f"{s.drop_alone_db:.3f}", "yes" if s.node in kept else "",
                )
            console.print(layers)
        if outcome.budget is not None and outcome.budget.attempts:
            steps = "; ".join(
                f"{len(a.kept_float)} FP32: {a.drop_db:.3f} dB (worst image {a.worst_drop_db:.3f})"
                for a in outcome.budget.attempts
            )
            kept_names = ", ".join(k.module for k in outcome.budget.kept_float) or "none"
            console.print(f"budget {outcome.max_drop_db} dB - attempts: {steps}")
            console.print(f"kept in FP32 (largest PSNR drop when quantized alone): {kept_names}")
        if outcome.loads_in:
            console.print(f"checked: onnx.checker passes; loads in {', '.join(outcome.loads_in)}")


class QATStopped(Exception):
    """Quantization-aware fine-tuning stopped by its minutes budget: its state is saved, nothing else written."""

    def __init__(self, run: QATRun) -> None:
        super().__init__(f"QAT stopped after {len(run.losses)} of {run.steps} steps")
        self.run = run


@dataclass
class QuantizeResult:
    """One quantization job done: the job (for its report), what it measured, and where the artifact went.

    ``outcome`` is None when quantization-aware fine-tuning stopped by its minutes budget (``qat_stopped``)."""

    job: QuantizeJob
    outcome: QuantizeOutcome | None
    output: Path
    qat_stopped: QATRun | None = None

    @property
    def ok(self) -> bool:
        """Whether the chosen artifact met the budget (and so was written)."""
        return self.outcome is not None and self.outcome.ok


def quantize_file(settings: QuantizeSettings) -> QuantizeResult:
    """Check ``settings``, build and measure the artifact, write the JSON report, and the artifact when in budget.

    The only writer of quantized artifacts. Nothing is written at ``settings.output_path`` when the chosen
    candidate misses the budget (``result.ok`` is False and ``outcome.failure`` says by how much).
    """
    settings.check()
    pinned = settings.pinned()
    job = QuantizeJob(settings.model, settings.int8_config(), settings.calib, settings.val, settings.calib_crop,
                      settings.max_calib_images, settings.budget_db, target=settings.target_name(),
                      search_scheme=not pinned, qat=settings.qat_settings())
    try:
        outcome = job.run(settings.precision, settings.threads, settings.latency_hw)
    except QATStopped as stop:
        return QuantizeResult(job, None, settings.output_path, qat_stopped=stop.run)
    if settings.report is not None:
        write_bytes_atomic(settings.report, json.dumps(outcome.as_json(), indent=2).encode())
    if outcome.ok:
        job.write(outcome, settings.output_path)
        if settings.qat_data is not None:  # the fine-tuning is in the artifact now: its state is stale
            settings.qat_state_path.unlink(missing_ok=True)
    return QuantizeResult(job, outcome, settings.output_path)
