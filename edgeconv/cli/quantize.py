"""``edgeconv quantize model.onnx --calib DIR -o model.int8.onnx``: INT8 (QDQ) or FP16, within a budget."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgeconv.cli.arguments import Force, parse_hw, refuse_overwrite
from edgeconv.errors import EdgeConvError

if TYPE_CHECKING:
    from edgeconv.export.quantization.job import QuantizeResult
    from edgeconv.export.quantization.settings import QuantizeSettings

Fp32Model = Annotated[Path, typer.Argument(help="An FP32 ONNX model written by edgeconv export.")]
Calib = Annotated[Path | None, typer.Option(help="Folder of calibration images (any size or mode).")]
QuantOut = Annotated[
    Path | None, typer.Option("-o", "--output", help="Output .onnx (default: MODEL.int8.onnx / .fp16.onnx).")
]
Precision = Annotated[str, typer.Option(help="int8, fp16, or auto (measure all here, keep the fastest in budget).")]
Fp16 = Annotated[bool, typer.Option("--fp16", help="Shorthand for --precision fp16.")]
Method = Annotated[str, typer.Option(help="Calibration: minmax, entropy or percentile.")]
Target = Annotated[str, typer.Option(help="INT8 target: auto (this CPU), x86-vnni, x86-avx2, arm or tensorrt.")]
PerChannel = Annotated[bool | None, typer.Option(help="Per-channel weight scales (default: measured with the scheme).")]
ReduceRange = Annotated[str, typer.Option(help="7-bit weights: auto (measured with the scheme), on, off.")]
ActivationType = Annotated[
    str | None, typer.Option(help="Pin the activation type, u8 or s8 (default: measured for the target).")
]
WeightType = Annotated[str | None, typer.Option(help="Pin the weight type, s8 or u8 (u8 with u8 activations = U8U8).")]
QuantFormat = Annotated[str, typer.Option("--format", help="qdq (one artifact for every back end) or qoperator.")]
CalibCrop = Annotated[int, typer.Option(help="Side of the centre crop taken from each calibration image.")]
MaxCalibImages = Annotated[int, typer.Option(help="Use at most this many calibration images.")]
MaxPsnrDrop = Annotated[
    float | None, typer.Option(help="Budget (dB of PSNR-Y on --val): keep sensitive layers FP32 to meet it.")
]
Val = Annotated[Path | None, typer.Option(help="Folder of HR validation images (e.g. Set5) for the budget.")]
LatencyThreads = Annotated[int, typer.Option(help="Threads for the latency measurement of --precision auto (0: all).")]
LatencySize = Annotated[str, typer.Option(help="HxW input for the latency measurement of --precision auto.")]
Report = Annotated[Path | None, typer.Option(help="Also write the report (sensitivity, attempts) as JSON.")]
QatData = Annotated[Path | None, typer.Option(
    help="Quantization-aware fine-tuning on these HR training images: every layer INT8, weights trained for it.")]
QatSteps = Annotated[int, typer.Option(help="Fine-tuning steps of --qat-data (16 patches of 48 px each).")]
QatMinutes = Annotated[float | None, typer.Option(
    help="Stop --qat-data fine-tuning after this many minutes; its state goes to OUTPUT.qat.pt (nothing else).")]
QatResume = Annotated[Path | None, typer.Option(help="Continue a stopped --qat-data run from its .qat.pt state.")]


def quantize(
    model: Fp32Model,
    calib: Calib = None,
    output: QuantOut = None,
    precision: Precision = "int8",
    fp16: Fp16 = False,
    method: Method = "percentile",
    target: Target = "auto",
    per_channel: PerChannel = None,
    reduce_range: ReduceRange = "auto",
    activation_type: ActivationType = None,
    weight_type: WeightType = None,
    quant_format: QuantFormat = "qdq",
    calib_crop: CalibCrop = 128,
    max_calib_images: MaxCalibImages = 64,
    max_psnr_drop: MaxPsnrDrop = None,
    val: Val = None,
    threads: LatencyThreads = 0,
    latency_size: LatencySize = "360x640",
    report: Report = None,
    qat_data: QatData = None,
    qat_steps: QatSteps = 12000,
    max_minutes: QatMinutes = None,
    resume: QatResume = None,
    force: Force = False,
) -> None:
    """Quantize an exported model to INT8 (static PTQ, QDQ; or fine-tuned: --qat-data) or convert it to FP16.

    --max-psnr-drop with --val keeps the fewest sensitive layers FP32 (or writes nothing); --precision auto keeps
    the fastest in budget; the INT8 scheme is measured for --target (default: here). --qat-data stops after
    --max-minutes with its state in OUTPUT.qat.pt: the same command with --resume OUTPUT.qat.pt continues.

    Example: edgeconv quantize out/sr.onnx --calib data/T91 --val data/Set5 --max-psnr-drop 0.1 -o out/sr.int8.onnx
    Example: edgeconv quantize out/sr.onnx --calib data/T91 --target arm -o out/sr.arm.int8.onnx
    Example: edgeconv quantize out/sr.onnx --calib data/T91 --qat-data data/train -o out/sr.qat.int8.onnx
    """
    from edgeconv.export.quantization.job import quantize_file

    _print_result(quantize_file(_checked_settings(locals())))


def _checked_settings(options: dict[str, Any]) -> QuantizeSettings:
    """The command's options as the job's settings (--fp16 folded into the precision, --latency-size parsed),
    checked: the job's own checks first, then the refusal to overwrite without --force."""
    from dataclasses import fields

    from edgeconv.export.quantization.settings import QuantizeSettings

    names = {f.name for f in fields(QuantizeSettings)} - {"precision", "latency_hw"}
    settings = QuantizeSettings(
        **{name: value for name, value in options.items() if name in names},
        precision="fp16" if options["fp16"] else options["precision"],
        latency_hw=parse_hw(options["latency_size"], "--latency-size"),
    )
    settings.check()
    refuse_overwrite(settings.output_path, options["force"])
    refuse_overwrite(options["report"], options["force"])
    return settings


def _print_result(done: QuantizeResult) -> None:
    """The report tables, then one line naming the written file - or the budget failure (nothing written)."""
    if done.qat_stopped is not None:
        run = done.qat_stopped
        typer.echo(f"QAT stopped by --max-minutes after {len(run.losses)} of {run.steps} steps; state saved to "
                   f"{run.state} (no artifact written). Continue: the same command with --resume {run.state}")
        return
    done.job.print_report(done.outcome)
    if not done.ok:
        raise EdgeConvError(str(done.output), done.outcome.failure,
                            "nothing was written; raise --max-psnr-drop or calibrate on more images")
    typer.echo(f"wrote {done.output} ({done.outcome.chosen.precision}, {done.output.stat().st_size / 1024:.1f} KiB)")
