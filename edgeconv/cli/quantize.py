"""``edgeconv quantize model.onnx --calib DIR -o model.int8.onnx``: INT8 (QDQ) or FP16, within a budget."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import Force, parse_hw, refuse_overwrite, renamed, size_option
from edgeconv.runtime.choices import CalibrationMethod, Int8Target, Precision, QuantFormat, QuantType, Switch

if TYPE_CHECKING:
    from edgeconv.export.quantization.settings import QuantizeSettings

Fp32Model = Annotated[Path, typer.Argument(help="An FP32 ONNX model written by edgeconv export.")]
Calib = Annotated[Path | None, typer.Option(metavar="DIR", help="Folder of calibration images (any size or mode).")]
QuantOut = Annotated[Path | None, typer.Option(
    "-o", "--out", metavar="FILE", help="Output .onnx (default: MODEL.int8.onnx / .fp16.onnx).")]
PrecisionOption = Annotated[
    Precision, typer.Option(help="What to write; auto measures all here and keeps the fastest in budget.")
]
Fp16 = Annotated[bool, typer.Option("--fp16", help="Shorthand for --precision fp16.")]
Method = Annotated[CalibrationMethod, typer.Option(help="How calibration ranges are chosen.")]
Target = Annotated[Int8Target, typer.Option(help="Where the INT8 artifact will run (auto: this CPU).")]
PerChannel = Annotated[bool | None, typer.Option(help="Per-channel weight scales (default: measured with the scheme).")]
ReduceRange = Annotated[Switch, typer.Option(help="7-bit weights (auto: as the target's kernels need).")]
ActivationType = Annotated[
    QuantType | None, typer.Option(help="Pin the activation type (default: measured for the target).")
]
WeightType = Annotated[QuantType | None, typer.Option(help="Pin the weight type (u8 with u8 activations = U8U8).")]
FormatOption = Annotated[
    QuantFormat, typer.Option("--format", help="qdq (one artifact for every back end) or qoperator.")
]
CalibCrop = Annotated[int, typer.Option(help="Side of the centre crop taken from each calibration image.")]
MaxCalibImages = Annotated[int, typer.Option(help="Use at most this many calibration images.")]
MaxPsnrDrop = Annotated[
    float | None, typer.Option(help="Budget (dB of PSNR-Y on --images): keep sensitive layers FP32 to meet it.")
]
Val = Annotated[Path | None, typer.Option(
    "--images", metavar="DIR",
    help="Folder of HR images the budget is measured on: never the images you report (not Set5).")]
LatencyThreads = Annotated[int, typer.Option(help="Threads for the latency measurement of --precision auto (0: all).")]
LatencySize = Annotated[str, size_option("Input of the latency measurement of --precision auto")]
Report = Annotated[Path | None, typer.Option(
    "--json", metavar="FILE", help="Also write the report (sensitivity, attempts) as JSON.")]
QatData = Annotated[Path | None, typer.Option(
    help="Quantization-aware fine-tuning on these HR training images: every layer INT8, weights trained for it.")]
QatSteps = Annotated[int, typer.Option(help="Fine-tuning steps of --qat-data (16 patches of 48 px each).")]
QatMinutes = Annotated[float | None, typer.Option(
    help="Stop --qat-data fine-tuning after this many minutes; its state goes to OUT.qat.pt (nothing else).")]
QatResume = Annotated[Path | None, typer.Option(help="Continue a stopped --qat-data run from its .qat.pt state.")]
Command = renamed({"--output": "--out", "--val": "--images", "--latency-size": "--size", "--report": "--json"})


def quantize(
    model: Fp32Model, calib: Calib = None, output: QuantOut = None, precision: PrecisionOption = Precision.INT8,
    fp16: Fp16 = False, method: Method = CalibrationMethod.PERCENTILE, target: Target = Int8Target.AUTO,
    per_channel: PerChannel = None, reduce_range: ReduceRange = Switch.AUTO, activation_type: ActivationType = None,
    weight_type: WeightType = None, quant_format: FormatOption = QuantFormat.QDQ, calib_crop: CalibCrop = 128,
    max_calib_images: MaxCalibImages = 64, max_psnr_drop: MaxPsnrDrop = None, val: Val = None,
    threads: LatencyThreads = 0, latency_size: LatencySize = "360x640", report: Report = None,
    qat_data: QatData = None, qat_steps: QatSteps = 12000, max_minutes: QatMinutes = None,
    resume: QatResume = None, force: Force = False,
) -> None:
    """Quantize an exported model to INT8 (static PTQ, QDQ; or fine-tuned: --qat-data) or convert it to FP16.

    --max-psnr-drop with --images keeps the fewest sensitive layers FP32 (or writes nothing); --precision auto
    keeps the fastest in budget; the INT8 scheme is measured for --target (default: here). --qat-data stops after
    --max-minutes with its state in OUT.qat.pt: the same command with --resume OUT.qat.pt continues.

    Example: edgeconv quantize out/sr.onnx --calib ../shared/data/sr/T91 --images ../shared/data/sr/BSD200
    --max-psnr-drop 0.1 -o out/sr.int8.onnx
    Example: edgeconv quantize out/sr.onnx --calib ../shared/data/sr/T91 --target arm -o out/sr.arm.int8.onnx
    Example: edgeconv quantize out/sr.onnx --calib ../shared/data/sr/T91 --qat-data ../shared/data/sr/BSD200
    -o out/sr.qat.int8.onnx
    """
    from edgeconv.cli.quantize_report import print_quantize_result
    from edgeconv.export.quantization.job import quantize_file
    from edgeconv.export.quantization.settings import QuantizeSettings

    settings = QuantizeSettings(
        model=model, calib=calib, val=val, output=output, precision=Precision.FP16 if fp16 else precision,
        method=method, target=target, per_channel=per_channel, reduce_range=reduce_range,
        activation_type=activation_type, weight_type=weight_type, quant_format=quant_format, calib_crop=calib_crop,
        max_calib_images=max_calib_images, max_psnr_drop=max_psnr_drop, threads=threads,
        latency_hw=parse_hw(latency_size, "--size"), report=report, qat_data=qat_data, qat_steps=qat_steps,
        max_minutes=max_minutes, resume=resume,
    )
    print_quantize_result(quantize_file(_checked(settings, force)))


def _checked(settings: QuantizeSettings, force: bool) -> QuantizeSettings:
    """``settings`` checked: the job's own checks first, then the refusal to overwrite without --force."""
    settings.check()
    refuse_overwrite(settings.output_path, force)
    refuse_overwrite(settings.report, force)
    return settings
