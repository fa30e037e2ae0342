"""``edgeconv export CKPT -o model.onnx``: checkpoint -> static deploy form -> checked, simplified ONNX."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from edgeconv.cli.arguments import Checkpoint, Force, Images, OutFile, plain, refuse_overwrite
from edgeconv.runtime.choices import BackendName, Lowering

if TYPE_CHECKING:
    from edgeconv.export.graph.from_checkpoint import CheckpointExport, ExportSettings

TargetBackend = Annotated[
    BackendName, typer.Option(help="The back end that will run the model: picks the measured fastest shift lowering.")
]
LoweringOverride = Annotated[Lowering | None, typer.Option(help="Override the lowering: slices or depthwise convs.")]
Opset = Annotated[int, typer.Option(help="ONNX opset (17 runs on ORT, OpenVINO and TensorRT 8.6+).")]
Simplify = Annotated[bool, typer.Option(help="Simplify with onnxsim (else onnxslim).")]


def export(
    checkpoint: Checkpoint,
    output: OutFile = None,
    target_backend: TargetBackend = BackendName.ONNXRUNTIME,
    lowering: LoweringOverride = None,
    opset: Opset = 17,
    check_images: Images = None,
    simplify: Simplify = True,
    force: Force = False,
) -> None:
    """Export a checkpoint to ONNX with every shift as a static op, checked against PyTorch.

    The graph is simplified, audited (no GridSample, ScatterND, ATen or custom ops), run in ONNX
    Runtime on real images and compared with PyTorch (max abs error <= 1e-4), and carries the
    model's task, scale, normalisation and source hash in its metadata.

    Example: edgeconv export runs/edge_sr_x2.pt -o out/edge_sr_x2.onnx --target-backend openvino
    """
    from rich.console import Console

    from edgeconv.export.graph.from_checkpoint import ExportSettings, run_export

    settings = ExportSettings(checkpoint=checkpoint, output=output, target_backend=plain(target_backend),
                              lowering=plain(lowering), opset=opset, check_images=check_images, simplify=simplify)
    settings.check()
    refuse_overwrite(settings.output_path, force)
    with Console(stderr=True).status(f"exporting {checkpoint.name} ..."):
        done = run_export(settings)
    _print_export(settings, done)


def _print_export(settings: ExportSettings, done: CheckpointExport) -> None:
    """One table: lowering, simplifier, audit, op histogram, the check against PyTorch, the metadata."""
    from rich.console import Console
    from rich.table import Table

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
    for key, value in rows.items():
        table.add_row(key, value)
    Console().print(table)
