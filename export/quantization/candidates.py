"""The candidate artifacts a quantization job measures: FP16, and INT8 with the scheme it chose.

INT8 is made one of three ways: plain PTQ; within a PSNR-Y budget (``budget``: the fewest sensitive layers
kept in FP32); or PTQ then quantization-aware fine-tuning (``qat``). Each INT8 candidate is checked against
its target's rules and for collapse (``reference.COLLAPSE_DB``), and scored on the validation images with
the kernels its target computes. Where OpenVINO runs the target and refuses the chosen scheme, the next
most accurate measured scheme is tried (``loadable_int8``). Nothing here writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import onnx

from edgeconv.export.quantization.artifact_checks import OpenVinoProbe, check_target_rules
from edgeconv.export.quantization.budget import BudgetResult, quantize_within_budget
from edgeconv.export.quantization.calibration import Feed
from edgeconv.export.quantization.precision import Candidate
from edgeconv.export.quantization.progress import JobProgress
from edgeconv.export.quantization.ptq import Int8Config, convert_fp16, quantize_int8
from edgeconv.export.quantization.qat import QATRun, QATSettings, qat_finetune, trainable_weights
from edgeconv.export.quantization.reference import COLLAPSE_CROPS, COLLAPSE_DB, Fp32Reference
from edgeconv.export.quantization.schemes import SchemeChoice, ort_runner
from edgeconv.export.quantization.sensitivity import LayerSensitivity, layer_sensitivity
from edgeconv.runtime.backends.openvino import openvino_installed
from edgeconv.runtime.cpu.int8_targets import Int8Plan
from edgeconv.runtime.validation.sr_eval import SRValidationPair


@dataclass(frozen=True)
class Int8Build:
    """One INT8 quantization and what was measured making it (``candidate`` once scored).

    ``model`` and ``candidate`` are None when quantization-aware fine-tuning stopped (``qat_stopped``).
    """

    model: onnx.ModelProto | None
    sensitivity: list[LayerSensitivity] = field(default_factory=list)
    budget: BudgetResult | None = None
    qat_losses: list[float] = field(default_factory=list)
    qat_stopped: QATRun | None = None
    candidate: Candidate | None = None
    openvino: OpenVinoProbe | None = None  # OpenVINO's answer, when the scheme fallback asked it


@dataclass(frozen=True)
class CandidateBuilder:
    """Makes and scores candidates from one FP32 model, against one set of validation images and a budget."""

    reference: Fp32Reference
    val: list[SRValidationPair]
    fp32_psnr: float
    budget_db: float | None
    progress: JobProgress
    qat: QATSettings | None = None
    crops: str = "calibration crops"  # how the output-vs-FP32 figures name their inputs (``calib_crops``)

    def _within_budget(self, psnr: float) -> bool:
        return self.budget_db is None or not self.val or self.fp32_psnr - psnr <= self.budget_db

    def fp16(self) -> Candidate:
        """FP16 weights and arithmetic (``convert_fp16``), scored on the validation images."""
        half = convert_fp16(self.reference.model)
        psnr = self.reference.psnr_y(half, self.val)
        return Candidate("fp16", half, psnr, within_budget=self._within_budget(psnr))

    def fp32(self) -> Candidate:
        """The FP32 model itself (``--precision auto`` times it beside the others)."""
        return Candidate("fp32", self.reference.model, self.fp32_psnr)

    def int8(self, feeds: list[Feed], config: Int8Config, target: str) -> Int8Build:
        """Quantize with ``config``'s scheme (within the budget when there is one), check and score it.

        Args:
            feeds: calibration inputs.
            config: the INT8 knobs, the scheme already chosen.
            target: the INT8 target (its rules are checked: ``check_target_rules``).

        Returns:
            The build with its scored ``candidate``; or, when fine-tuning stopped, with ``qat_stopped`` only.
        """
        with self.progress.status(f"quantizing to INT8 ({config.scheme.name}) ..."):
            built = self._quantize(feeds, config)
            if built.model is None:
                return built
            check_target_rules(built.model, target)
            collapse = self.reference.collapse_db(built.model, feeds, config.scheme)
        psnr = self.reference.psnr_y(built.model, self.val, config.scheme)
        n = min(COLLAPSE_CROPS, len(feeds))
        note = f"output PSNR vs FP32 {collapse:.1f} dB (worst of the first {n} {self.crops})"
        within = self._within_budget(psnr) and collapse >= COLLAPSE_DB
        if collapse < COLLAPSE_DB:
            note += " - COLLAPSED (integer-kernel saturation? try --reduce-range on)"
        return replace(built, candidate=Candidate("int8", built.model, psnr, within_budget=within, note=note))

    def _quantize(self, feeds: list[Feed], config: Int8Config) -> Int8Build:
        """Budgeted PTQ when there is a budget and images, else PTQ (then fine-tuning with ``qat``)."""
        fp32 = self.reference.model
        if self.budget_db is not None and self.val:
            result = quantize_within_budget(fp32, feeds, self.val, self.reference.facts, config, self.budget_db)
            return Int8Build(result.model, result.sensitivity, budget=result)
        int8, losses = quantize_int8(fp32, feeds, config), []
        if self.qat is not None:
            run = self._finetune(int8, config, self.qat)
            if not run.finished:
                return Int8Build(None, qat_stopped=run)
            int8, losses = run.model, run.losses
        return Int8Build(int8, layer_sensitivity(fp32, int8, feeds[:COLLAPSE_CROPS]), qat_losses=losses)

    def _finetune(self, int8: onnx.ModelProto, config: Int8Config, qat: QATSettings) -> QATRun:
        """Quantization-aware fine-tuning of ``int8`` with progress, on the degradation the model was trained on."""
        fp32, degradation = self.reference.model, self.reference.train_degradation
        with self.progress.bar(f"QAT ({config.scheme.name}, {degradation} LR)", total=qat.steps, loss=True) as update:
            if qat.resume is not None:
                self.progress.note(f"resuming QAT from {qat.resume}")
            return qat_finetune(
                int8, trainable_weights(fp32), config.resolved_reduce_range()[0], self.reference.facts.scale or 1,
                qat, degradation, on_step=lambda step, total, loss: update(step, loss=loss),
                teacher=ort_runner(fp32),
            )

    def loadable_int8(
        self, feeds: list[Feed], config: Int8Config, choice: SchemeChoice | None, plan: Int8Plan
    ) -> tuple[Int8Build, SchemeChoice | None, Int8Config]:
        """INT8 with the chosen scheme; where OpenVINO runs the target and refuses it, the next most accurate.

        Args:
            feeds: calibration inputs.
            config: the INT8 knobs with the chosen scheme.
            choice: the scheme choice (None: no measurement behind it, nothing to fall back to).
            plan: the target's plan (``openvino_runs_it``: probe each candidate in OpenVINO).

        Returns:
            ``(build, choice, config)``: the last build, the choice with the refused schemes recorded, and the
            knobs of the scheme kept. A refused scheme with nothing left to try is kept, its refusal reported.
        """
        probe = plan.openvino_runs_it and openvino_installed()
        for fallback in choice.fallbacks() if choice is not None else [None]:
            built = self.int8(feeds, config, plan.target)
            if built.model is None:
                break
            answer = OpenVinoProbe.of(built.model) if probe else None
            built = replace(built, openvino=answer)
            if answer is None or answer.refusal is None or fallback is None or choice is None:
                break
            choice = choice.refusing(f"{config.scheme.name}: OpenVINO cannot run it ({answer.refusal})", fallback)
            config = config.with_scheme(fallback)
        return built, choice, config
