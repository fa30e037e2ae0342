"""What ``edgeconv quantize`` does, step by step: load safely, plan, calibrate, quantize, score, choose, write.

``quantize_file(settings)`` is the one path that writes a quantized artifact: ``edgeconv quantize`` and the
pipeline's INT8 step both call it, so the same settings give the same bytes - and nothing it calls changes
its inputs, so running it twice gives the same bytes twice.

The steps, each in its own module: the plan (``edgeconv.runtime.cpu.int8_targets.plan_int8``: the schemes
to try for the target), calibration (``calibration``), the scheme choice (``schemes``), the candidates
(``candidates``, scored against the FP32 model by ``reference``), the checks every artifact passes
(``artifact_checks``: ``onnx.checker``, ONNX Runtime, OpenVINO when installed, TensorRT's rules, collapse),
and the writer (``writer``). The result (``outcome``) is plain data; the CLI prints it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx

from edgeconv.export.quantization.artifact_checks import loads_in
from edgeconv.export.quantization.budget import BudgetResult
from edgeconv.export.quantization.calibration import Feed, calibration_feeds
from edgeconv.export.quantization.candidates import CandidateBuilder, Int8Build
from edgeconv.export.quantization.outcome import QuantizeOutcome, QuantizeResult
from edgeconv.export.quantization.precision import Candidate, pick_fastest, timed
from edgeconv.export.quantization.progress import JobProgress
from edgeconv.export.quantization.ptq import Int8Config
from edgeconv.export.quantization.reference import COLLAPSE_CROPS, Fp32Reference
from edgeconv.export.quantization.schemes import SchemeChoice, choose_scheme
from edgeconv.export.quantization.settings import QuantizeSettings
from edgeconv.export.quantization.writer import write_artifact, write_report
from edgeconv.runtime.choices import Precision
from edgeconv.runtime.cpu.int8_targets import Int8Plan

LATENCY_RUNS = 20  # timed runs per precision of --precision auto


def quantize_file(settings: QuantizeSettings, progress: JobProgress | None = None) -> QuantizeResult:
    """Check ``settings``, build and measure the artifact, write the JSON report, and the artifact when in budget.

    The only writer of quantized artifacts. Nothing is written at ``settings.output_path`` when the chosen
    candidate misses the budget (``result.ok`` is False and ``outcome.failure`` says by how much), nor when
    quantization-aware fine-tuning stops by its minutes budget (``result.qat_stopped``: its state is saved).

    Args:
        settings: the request; not changed.
        progress: where bars and spinners go (default: a stderr console).

    Returns:
        The result: settings, outcome (None when fine-tuning stopped) and the artifact's path.
    """
    settings.check()
    reference = Fp32Reference.load(settings.model)
    result = measure(settings, reference, settings.int8_plan(), progress or JobProgress())
    if result.outcome is None:
        return result
    if settings.report is not None:
        write_report(result.outcome, settings.report)
    if result.ok:
        write_artifact(result.outcome, reference.metadata, settings.output_path)
        if settings.qat_data is not None:  # the fine-tuning is in the artifact now: its state is stale
            settings.qat_state_path.unlink(missing_ok=True)
    return result


def measure(settings: QuantizeSettings, reference: Fp32Reference, plan: Int8Plan,
            progress: JobProgress) -> QuantizeResult:
    """Build the candidates ``settings.precision`` asks for, measure them and choose; nothing is written.

    Args:
        settings: the request (checked).
        reference: the FP32 model.
        plan: the INT8 schemes to try (``settings.int8_plan()``).
        progress: where bars and spinners go.

    Returns:
        The result, its outcome None when fine-tuning stopped.
    """
    config = replace(settings.int8_config(), float_bias=plan.float_bias, image_output=reference.image_output)
    val = reference.validation_pairs(settings.val)
    builder = CandidateBuilder(reference, val, reference.psnr_y(reference.model, val), settings.budget_db, progress,
                               settings.qat_settings(), crops=settings.calib_crops)
    int8_asked = settings.precision in (Precision.INT8, Precision.AUTO)
    feeds = _calibrate(settings, reference, progress) if int8_asked else []
    choice, config = _choose_scheme(reference, feeds, config, plan, progress) if feeds else (None, config)
    candidates = [builder.fp16()] if settings.precision in (Precision.FP16, Precision.AUTO) else []
    build = None
    if int8_asked:
        build, choice, config = builder.loadable_int8(feeds, config, choice, plan)
        if build.candidate is None:
            return QuantizeResult(settings, None, settings.output_path, qat_stopped=build.qat_stopped)
        candidates.append(build.candidate)
    chosen, candidates = _choose_precision(settings, builder, candidates, progress)
    return QuantizeResult(settings, _outcome(settings, builder, chosen, candidates, build, len(feeds), choice, config),
                          settings.output_path)


def _calibrate(settings: QuantizeSettings, reference: Fp32Reference, progress: JobProgress) -> list[Feed]:
    """The calibration inputs (``calibration_feeds``), with a bar."""
    with progress.bar("calibration images") as update:
        return calibration_feeds(settings.calib, reference.facts, reference.input_name, settings.calib_crop,
                                 settings.max_calib_images, on_image=update)


def _choose_scheme(reference: Fp32Reference, feeds: list[Feed], config: Int8Config, plan: Int8Plan,
                   progress: JobProgress) -> tuple[SchemeChoice, Int8Config]:
    """The plan's scheme: measured (``choose_scheme``, with a bar) or the pinned one; and ``config`` with it."""
    if not plan.measured:
        scheme = plan.schemes[0]
        return SchemeChoice(plan.target, plan.target_why, scheme, chosen_by=plan.chosen_by), config.with_scheme(scheme)
    with progress.bar(f"INT8 schemes for {plan.target}") as update:
        choice = choose_scheme(reference.model, feeds, config, plan.target, reference.peak, on_trial=update)
    return choice, config.with_scheme(choice.scheme)


def _choose_precision(settings: QuantizeSettings, builder: CandidateBuilder, candidates: list[Candidate],
                      progress: JobProgress) -> tuple[Candidate, list[Candidate]]:
    """``(chosen, candidates)``: the one asked for, or for ``auto`` the fastest in budget with FP32 timed too."""
    if settings.precision != Precision.AUTO:
        return candidates[0], candidates
    h, w = settings.latency_hw
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    everything = [builder.fp32(), *candidates]
    with progress.status(f"timing {len(everything)} precisions at {h}x{w} ..."):
        everything = timed(everything, x, settings.threads, runs=LATENCY_RUNS)
    return pick_fastest(everything), everything


def _outcome(settings: QuantizeSettings, builder: CandidateBuilder, chosen: Candidate, candidates: list[Candidate],
             build: Int8Build | None, calib_images: int, choice: SchemeChoice | None,
             config: Int8Config) -> QuantizeOutcome:
    """The outcome: the choice, its failure (if any), and the back ends that load it (OpenVINO asked once)."""
    onnx.checker.check_model(chosen.model)
    reduce_range, why = config.resolved_reduce_range()
    budget = build.budget if build is not None else None
    probe = build.openvino if build is not None and chosen.model is build.model else None
    return QuantizeOutcome(
        chosen, candidates, config, reduce_range, why, calib_images, settings.budget_db, builder.fp32_psnr,
        sensitivity=build.sensitivity if build is not None else [], budget=budget,
        loads_in=loads_in(chosen.model, probe), failure=_failure(chosen, builder, budget), scheme=choice,
        qat_losses=build.qat_losses if build is not None else [],
        val_images=builder.reference.describe_val(settings.val, builder.val), calib_crops=settings.calib_crops,
        sensitivity_crops=min(COLLAPSE_CROPS, calib_images),
    )


def _failure(chosen: Candidate, builder: CandidateBuilder, budget: BudgetResult | None) -> str:
    """Why ``chosen`` cannot be written (empty when it is in budget): the budget it misses, or its note."""
    if chosen.within_budget:
        return ""
    drop = builder.fp32_psnr - chosen.psnr_db
    limit = builder.budget_db
    failure = (
        f"{chosen.precision} misses the budget: PSNR-Y drop {drop:.3f} dB > {limit} dB "
        f"(short by {drop - limit:.3f} dB)"
        if builder.val and limit is not None
        else f"{chosen.precision} {chosen.note}"
    )
    if budget is not None:
        failure += f", even with {len(budget.kept_float)} layer(s) kept in FP32"
    return failure
