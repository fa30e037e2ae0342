"""``edgeconv pipeline [CKPT]``: the main job, from checkpoint to a validated INT8 model in one command.

checkpoint -> deploy rewrite -> ONNX (checked vs PyTorch) -> INT8 within a PSNR budget -> the
shared validator on every usable back end against Set5 (reference: PyTorch) -> Markdown report
with plots + an upscaled sample image; the validator's table is printed last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeconv.errors import UsageError


def pipeline(
    checkpoint: Annotated[Path | None, typer.Argument(help="An SR checkpoint (default: the shipped x2 model).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for every artifact and the report.")] = Path("out/pipeline"),
    calib: Annotated[Path | None, typer.Option(help="Calibration images (default: T91, else Set5).")] = None,
    val: Annotated[Path | None, typer.Option(help="HR validation images (default: Set5).")] = None,
    max_psnr_drop: Annotated[float, typer.Option(help="INT8 budget in dB of PSNR-Y.")] = 0.1,
    threads: Annotated[int, typer.Option(help="Inference threads.")] = 2,
    runs: Annotated[int, typer.Option(help="Timed runs per model and back end.")] = 20,
    force: Annotated[bool, typer.Option(help="Overwrite the artifacts of an earlier run in --out.")] = False,
) -> None:
    """Export, quantize, validate on every back end, report and upscale a sample - in one go.

    Example: edgeconv pipeline --out out/demo
    """
    from rich.console import Console

    from edgeconv.cli.validate import torch_reference
    from edgeconv.errors import EdgeConvError
    from edgeconv.export.graph.from_checkpoint import export_checkpoint
    from edgeconv.export.quantization.job import QuantizeJob
    from edgeconv.export.quantization.ptq import Int8Config
    from edgeconv.models.default_model import DEFAULT_CHECKPOINT
    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.backends.registry import backend_status, create_backend
    from edgeconv.runtime.imaging.tiling import receptive_radius
    from edgeconv.runtime.imaging.upscale import upscale_file
    from edgeconv.runtime.validation.report import rich_table, write_json, write_markdown
    from edgeconv.runtime.validation.sr_eval import shared_sr_data
    from edgeconv.runtime.validation.validator import Gates, validate, validation_inputs

    checkpoint = checkpoint or DEFAULT_CHECKPOINT
    fp32_path, int8_path = out / "model.fp32.onnx", out / "model.int8.onnx"
    existing = [p for p in (fp32_path, int8_path, out / "report.md") if p.exists()]
    if existing and not force:
        raise UsageError(str(existing[0]), "already exists", "pass --force to overwrite the earlier run")
    out.mkdir(parents=True, exist_ok=True)
    status = Console(stderr=True)
    shared = shared_sr_data()
    if val is None and shared is not None and (shared / "Set5").is_dir():
        val = shared / "Set5"
    if val is None:
        val = photo_folder(out / "photos")
        status.print(f"no Set5 beside the checkout: validating on scikit-image photos in {val}"
                     + ("" if calib else " (and calibrating on them: a demo, not a measurement)"))
    if not val.is_dir():
        raise UsageError(str(val), "is not a folder of HR images")
    calib = calib or (shared / "T91" if shared is not None and (shared / "T91").is_dir() else val)

    with status.status("1/4 export: rewrite, ONNX, onnxsim, audit, check vs PyTorch ..."):
        exported = export_checkpoint(checkpoint, fp32_path, target_backend="onnxruntime", check_folder=val)
    status.print(f"1/4 exported {fp32_path}: max abs error vs PyTorch {exported.max_abs_error:.1e} "
                 f"({exported.export.simplifier}, lowering {exported.export.lowering})")
    facts = exported.facts
    if facts.task != "sr":
        raise UsageError(str(checkpoint), f"is a {facts.task!r} model; the pipeline validates SR models")
    # the one writer of INT8 artifacts: the same job as `edgeconv quantize --method percentile --max-psnr-drop`
    job = QuantizeJob(fp32_path, Int8Config(method="percentile"), calib, val, 128, 64, max_psnr_drop)
    outcome = job.run("int8", threads, (360, 640))
    kept = ", ".join(k.module for k in outcome.budget.kept_float) if outcome.budget else "none"
    drop = outcome.fp32_psnr_db - outcome.chosen.psnr_db
    status.print(f"2/4 INT8 ({outcome.scheme.why if outcome.scheme else 'scheme as set'}): PSNR-Y drop "
                 f"{drop:.3f} dB (budget {max_psnr_drop}), FP32 kept: {kept or 'none'}", highlight=False)
    if not outcome.ok:
        raise EdgeConvError(str(int8_path), outcome.failure, "nothing was written")
    job.write(outcome, int8_path)

    names = [name for name, usable, _ in backend_status() if usable]
    with status.status(f"3/4 validating FP32 and INT8 on {', '.join(names)} ..."):
        options = BackendOptions(threads=threads)
        runners = [create_backend(name, path, options) for path in (fp32_path, int8_path) for name in names]
        reference, ref_name = torch_reference(checkpoint), f"PyTorch {checkpoint.name}"
        if reference is None:
            reference, ref_name = create_backend("onnxruntime", fp32_path, options).run, f"{fp32_path.name} (ORT)"
        result = validate(runners, validation_inputs(val, facts), reference, ref_name,
                          Gates(max_psnr_drop=max_psnr_drop), runs=runs)
    status.print(f"3/4 validated {len(result.rows)} model x back-end pairs: {'pass' if result else 'FAIL'}")
    write_json(result, out / "validation.json")
    report = write_markdown(result, out)

    # validate() returns one row per runner, in order: the fastest FP32 row names the runner for the sample
    fastest = min((pair for pair in zip(runners, result.rows, strict=True) if pair[1].precision == "fp32"),
                  key=lambda pair: pair[1].latency.p50)[0]
    source = sorted(p for p in val.iterdir() if p.suffix.lower() in (".png", ".jpg", ".bmp"))[0]
    sample = out / f"{source.stem}_x{facts.scale}.png"
    upscale_file(fastest.run, facts, source, sample, 128, receptive_radius(fastest.run, facts.scale or 1) + 1)
    status.print(f"4/4 report {report}, sample {sample} ({fastest.label})")
    Console(width=max(130, Console().width)).print(rich_table(result))  # a 12-column table: wide even in pipes
    if not result:
        failed = next(r for r in result.rows if r.failures)
        raise EdgeConvError(f"{failed.model} on {failed.backend}", failed.failures[0], f"see {report}")


def photo_folder(folder: Path) -> Path:
    """Real photographs bundled with scikit-image, saved as PNG: the fallback validation set."""
    try:
        from skimage import data
    except ImportError as exc:
        raise UsageError("--val", "no Set5 beside the checkout and scikit-image is not installed",
                         "pass --val DIR with HR images, or pip install 'edgeconv[dev]'") from exc
    from PIL import Image

    from edgeconv.runtime.atomic_write import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry"):
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        write_atomic(folder / f"{name}.png", lambda f, im=image: im.save(f, "PNG"))
    return folder
