"""``edgeconv export CKPT -o model.onnx``: checkpoint -> static deploy form -> checked, simplified ONNX."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import Checkpoint, Force, OutFile, plain, refuse_overwrite, renamed
from edgeconv.runtime.choices import BackendName, Lowering
from edgeconv.runtime.shipped_models import byte_output_form

if TYPE_CHECKING:
    from edgeconv.export.graph.from_checkpoint import CheckpointExport, ExportSettings

TargetBackend = Annotated[BackendName | None, typer.Option(
    "--backend", show_default=False,
    help="The back end that will run the model: its form (PReLU kept, or as Mul + Max for ONNX Runtime) and its "
         "measured fastest shift lowering. Default: the back end that runs this checkpoint fastest here (each "
         "installed one's form timed once, about 3 s, and cached).")]
LoweringOverride = Annotated[Lowering | None, typer.Option(help="Override the lowering: slices or depthwise convs.")]
Opset = Annotated[int, typer.Option(help="ONNX opset (17 runs on ORT, OpenVINO and TensorRT 8.6+).")]
Simplify = Annotated[bool, typer.Option(help="Simplify with onnxsim (else onnxslim).")]
CheckImages = Annotated[Path | None, typer.Option(
    "--images", metavar="DIR", help="Images the ONNX model is checked on against PyTorch (default: Set5 from "
                                    "shared/data/sr, else scikit-image photos).")]
LumaPlane = Annotated[bool, typer.Option(
    help="Also write NAME.y.onnx beside the model: its Y-plane form (one channel in and out, checked against the "
         "model's luma), which `upscale` runs on a video decoder's luma plane. Luma-residual SR models only.")]
ByteOutput = Annotated[bool, typer.Option(
    help="Also write NAME.u8.onnx beside an SR model: the output conversion (to 8-bit pixels) inside the graph, "
         "checked against the model's own pixels, which `upscale` runs on 8-bit images (faster at x3 and x4).")]
Command = renamed({"--output": "--out", "--target-backend": "--backend", "--check-images": "--images"})  # old names


def export(
    checkpoint: Checkpoint,
    output: OutFile = None,
    target_backend: TargetBackend = None,
    lowering: LoweringOverride = None,
    opset: Opset = 17,
    check_images: CheckImages = None,
    simplify: Simplify = True,
    luma_plane: LumaPlane = True,
    byte_output: ByteOutput = True,
    force: Force = False,
) -> None:
    """Export a checkpoint to ONNX with every shift as a static op, checked against PyTorch.

    The graph is simplified, audited (no GridSample, ScatterND, ATen or custom ops), run in ONNX
    Runtime on real images and compared with PyTorch (max abs error <= 1e-4), and carries the
    model's task, scale, normalisation and source hash in its metadata.

    Example: edgeconv export models/weights/jitter_sr_x2.pt -o out/jitter_sr_x2.onnx --backend openvino
    """
    from rich.console import Console

    from edgeconv.export.graph.from_checkpoint import ExportSettings, run_export

    settings = ExportSettings(checkpoint=checkpoint, output=output, target_backend=plain(target_backend),
                              lowering=plain(lowering), opset=opset, check_images=check_images, simplify=simplify)
    settings.check()
    refuse_overwrite(settings.output_path, force)
    plane_path = _luma_plane_path(settings, luma_plane)
    byte_path = byte_output_form(settings.output_path) if byte_output else None
    for beside in (plane_path, byte_path):
        refuse_overwrite(beside, force)
    why = "" if settings.target_backend else _fastest_target(settings)
    with Console(stderr=True).status(f"exporting {checkpoint.name} ..."):
        done = run_export(settings)
    _print_export(settings, done, why, _forms_beside(settings, done, plane_path, byte_path))


def _forms_beside(settings: ExportSettings, done: CheckpointExport, plane_path: Path | None,
                  byte_path: Path | None) -> dict[str, str]:
    """Write the Y-plane and 8-bit output forms asked for (SR models); their table rows."""
    rows = {}
    if plane_path is not None:
        rows["Y-plane form"] = _export_plane(settings, plane_path)
    if byte_path is not None and done.facts.task == "sr":
        rows["8-bit output form"] = _export_byte_form(settings, byte_path, plane_path)
    return rows


def _luma_plane_path(settings: ExportSettings, wanted: bool) -> Path | None:
    """Where the Y-plane form goes (``NAME.y.onnx`` beside the output), or None: not asked, or not a
    luma-residual SR model."""
    from edgeconv.export.graph.luma_plane import has_luma_plane_form
    from edgeconv.runtime.shipped_models import luma_plane_form

    if not wanted or not has_luma_plane_form(settings.checkpoint):
        return None
    return luma_plane_form(settings.output_path)


def _export_plane(settings: ExportSettings, path: Path) -> str:
    """Write the Y-plane form in the same back end's form; if it fails, the model file goes too (no half
    export). Returns the table row's text."""
    from edgeconv.export.graph.luma_plane import export_luma_plane

    try:
        plane = export_luma_plane(settings.checkpoint, path, target_backend=settings.target_backend,
                                  opset=settings.opset)
    except BaseException:
        settings.output_path.unlink(missing_ok=True)
        raise
    return f"{path} (max abs vs the model's luma {plane.max_abs_error:.1e} on {plane.images} image(s))"


def _fastest_target(settings: ExportSettings) -> str:
    """Set ``settings.target_backend`` to the back end whose form runs this checkpoint fastest here (measured once,
    then cached); the line that says so (printed after the export, so a failure stays one line)."""
    from rich.console import Console

    from edgeconv.export.tuning.backend_pick import fastest_export_target

    with Console(stderr=True).status(f"choosing the target back end for {settings.checkpoint.name} ...") as status:
        pick = fastest_export_target(settings, status.update)
    settings.target_backend = str(pick.backend)
    return pick.line()


def _export_byte_form(settings: ExportSettings, path: Path, plane_path: Path | None) -> str:
    """Write the 8-bit output form; if it fails, the files written before it go too. The table row's text."""
    from edgeconv.export.graph.byte_output import write_uint8_output_form

    try:
        flips = write_uint8_output_form(settings.output_path, path)
    except BaseException:
        for written in (settings.output_path, plane_path):
            if written is not None:
                written.unlink(missing_ok=True)
        raise
    return f"{path} (the model's pixels: {flips} values a level apart)"


def _print_export(settings: ExportSettings, done: CheckpointExport, why: str = "",
                  extra: dict[str, str] | None = None) -> None:
    """One table: lowering, simplifier, audit, op histogram, the check against PyTorch, the metadata (after the line
    saying why this target back end, when it was measured)."""
    from rich.console import Console
    from rich.table import Table

    if why:
        typer.echo(why, err=True)
    facts, simplifier = done.facts, done.export.simplifier
    table = Table(title=f"{settings.checkpoint} -> {settings.output_path}", show_header=False)
    rows = {
        "model": f"{facts.model} ({facts.task}, x{facts.scale})" if facts.scale else f"{facts.model} ({facts.task})",
        "lowering": f"{done.export.lowering} for {settings.target_backend}: {done.export.lowering_source}"
        if settings.lowering is None else settings.lowering,
        "simplified by": {"none": "nothing (onnxsim and onnxslim failed)"}.get(simplifier, simplifier),
        "audit": "clean: no GridSample / ScatterND / ATen / custom ops",
        "ops": ", ".join(f"{op} {n}" for op, n in done.export.audit.histogram.most_common()),
        "vs PyTorch": f"max abs error {done.max_abs_error:.2e}, output PSNR {done.output_psnr_db:.1f} dB "
        f"on {done.images} image(s) from {done.checked_on}",
        "metadata": ", ".join(f"{k}={v}" for k, v in facts.to_props().items() if not k.endswith(("sha256", "config"))),
        "source sha256": facts.extra["source_checkpoint_sha256"][:16] + "...",
    }
    rows |= extra or {}
    for key, value in rows.items():
        table.add_row(key, value)
    Console().print(table)
