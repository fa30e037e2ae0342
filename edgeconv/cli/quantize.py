"""``edgeconv quantize model.onnx --calib DIR -o model.int8.onnx``: INT8 (QDQ) or FP16, within a budget."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from edgeconv.cli.arguments import parse_hw, refuse_overwrite
from edgeconv.errors import EdgeConvError, UsageError

PRECISIONS = ("int8", "fp16", "auto")


def _parse_reduce_range(value: str) -> bool | None:
    choices = {"auto": None, "on": True, "off": False}
    if value not in choices:
        raise UsageError("--reduce-range", f"unknown value {value!r}", "expected auto, on or off")
    return choices[value]


def quantize(
    model: Annotated[Path, typer.Argument(help="An FP32 ONNX model written by edgeconv export.")],
    calib: Annotated[Path | None, typer.Option(help="Folder of calibration images (any size or mode).")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output .onnx (default: MODEL.int8.onnx / .fp16.onnx).")
    ] = None,
    precision: Annotated[
        str, typer.Option(help="int8, fp16, or auto (measure all here, keep the fastest in budget).")
    ] = "int8",
    fp16: Annotated[bool, typer.Option("--fp16", help="Shorthand for --precision fp16.")] = False,
    method: Annotated[str, typer.Option(help="Calibration: minmax, entropy or percentile.")] = "percentile",
    target: Annotated[
        str, typer.Option(help="INT8 target: auto (this CPU), x86-vnni, x86-avx2, arm or tensorrt.")
    ] = "auto",
    per_channel: Annotated[
        bool | None, typer.Option(help="Per-channel weight scales (default: measured with the scheme).")
    ] = None,
    reduce_range: Annotated[
        str, typer.Option(help="7-bit weights: auto (measured with the scheme), on, off.")
    ] = "auto",
    activation_type: Annotated[
        str | None, typer.Option(help="Pin the activation type, u8 or s8 (default: measured for the target).")
    ] = None,
    weight_type: Annotated[
        str | None, typer.Option(help="Pin the weight type, s8 or u8 (u8 with u8 activations = U8U8).")
    ] = None,
    quant_format: Annotated[
        str, typer.Option("--format", help="qdq (one artifact for every back end) or qoperator.")
    ] = "qdq",
    calib_crop: Annotated[int, typer.Option(help="Side of the centre crop taken from each calibration image.")] = 128,
    max_calib_images: Annotated[int, typer.Option(help="Use at most this many calibration images.")] = 64,
    max_psnr_drop: Annotated[
        float | None, typer.Option(help="Budget (dB of PSNR-Y on --val): keep sensitive layers FP32 to meet it.")
    ] = None,
    val: Annotated[Path | None, typer.Option(help="Folder of HR validation images (e.g. Set5) for the budget.")] = None,
    threads: Annotated[int, typer.Option(help="Threads for the latency measurement of --precision auto.")] = 2,
    latency_size: Annotated[
        str, typer.Option(help="HxW input for the latency measurement of --precision auto.")
    ] = "360x640",
    report: Annotated[Path | None, typer.Option(help="Also write the report (sensitivity, attempts) as JSON.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing output files.")] = False,
) -> None:
    """Quantize an exported model to INT8 (static PTQ, QDQ) or convert it to FP16.

    With --max-psnr-drop and --val, layers are measured (SQNR and PSNR drop when quantized alone,
    named by PyTorch module) and the fewest most sensitive stay FP32 until the PSNR-Y drop on the
    validation images is within budget - or the command says it cannot, by how much, and writes
    nothing. --precision auto times FP32, FP16 and INT8 here and keeps the fastest within budget.

    The INT8 scheme is made for a target (default: this CPU): every scheme whose integer kernels are
    exact there (x86 without VNNI: U8U8 or 7-bit weights; VNNI and ARM: U8S8, S8S8, U8U8; TensorRT:
    symmetric S8S8) is tried on held-out calibration crops and the most accurate is kept, printed
    and stored in the file. --activation-type / --weight-type / --reduce-range / --per-channel pin it.

    Example: edgeconv quantize out/sr.onnx --calib data/T91 --val data/Set5 --max-psnr-drop 0.1 -o out/sr.int8.onnx
    Example: edgeconv quantize out/sr.onnx --calib data/T91 --target arm -o out/sr.arm.int8.onnx
    """
    from edgeconv.export.quantization.job import QuantizeJob
    from edgeconv.export.quantization.ptq import Int8Config

    precision = "fp16" if fp16 else precision
    if precision not in PRECISIONS:
        raise UsageError("--precision", f"unknown precision {precision!r}", f"expected {', '.join(PRECISIONS)}")
    if precision in ("int8", "auto") and calib is None:
        raise UsageError("--calib", f"{precision} needs calibration images", "pass --calib DIR (e.g. training images)")
    if max_psnr_drop is not None and (math.isnan(max_psnr_drop) or max_psnr_drop < 0):
        raise UsageError("--max-psnr-drop", f"must be >= 0 dB, got {max_psnr_drop}")
    if (max_psnr_drop is not None or precision == "auto") and val is None:
        raise UsageError("--val", "the accuracy budget needs validation images", "pass --val DIR with HR images (Set5)")
    if max_calib_images < 1:
        raise UsageError("--max-calib-images", f"must be >= 1, got {max_calib_images}")
    from edgeconv.runtime.cpu.int8_targets import check_target

    pinned = {"per_channel": per_channel, "reduce_range": _parse_reduce_range(reduce_range),
              "activation_type": activation_type, "weight_type": weight_type}
    pinned = {k: v for k, v in pinned.items() if v is not None}
    config = Int8Config(method=method, quant_format=quant_format, **pinned)
    config.check()
    output = output or model.with_name(f"{model.stem}.{precision if precision != 'auto' else 'auto'}.onnx")
    refuse_overwrite(output, force)
    refuse_overwrite(report, force)
    job = QuantizeJob(model, config, calib, val, calib_crop, max_calib_images,
                      0.1 if max_psnr_drop is None and precision == "auto" else max_psnr_drop,
                      target=None if target == "auto" else check_target(target), search_scheme=not pinned)
    outcome = job.run(precision, threads, parse_hw(latency_size, "--latency-size"))
    job.print_report(outcome)
    if report is not None:
        from edgeconv.runtime.atomic_write import write_bytes_atomic

        write_bytes_atomic(report, json.dumps(outcome.as_json(), indent=2).encode())
    if not outcome.ok:
        raise EdgeConvError(
            str(output), outcome.failure, "nothing was written; raise --max-psnr-drop or calibrate on more images"
        )
    job.write(outcome, output)
    typer.echo(f"wrote {output} ({outcome.chosen.precision}, {output.stat().st_size / 1024:.1f} KiB)")
