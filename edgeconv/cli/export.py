"""``edgeconv export CKPT -o model.onnx``: checkpoint -> static deploy form -> checked, simplified ONNX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeconv.cli.arguments import refuse_overwrite
from edgeconv.errors import UsageError


def export(
    checkpoint: Annotated[Path, typer.Argument(help="An edgeconv checkpoint (.pt).")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write the .onnx (default: beside the checkpoint).")
    ] = None,
    target_backend: Annotated[
        str, typer.Option(help="onnxruntime, openvino or tensorrt: picks the measured fastest shift lowering.")
    ] = "onnxruntime",
    lowering: Annotated[str | None, typer.Option(help="Override the lowering: slice or conv.")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset (17 runs on ORT, OpenVINO and TensorRT 8.6+).")] = 17,
    check_images: Annotated[
        Path | None, typer.Option(help="Folder of real images to check ONNX against PyTorch (default: Set5).")
    ] = None,
    simplify: Annotated[bool, typer.Option(help="Simplify with onnxsim (else onnxslim).")] = True,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
) -> None:
    """Export a checkpoint to ONNX with every shift as a static op, checked against PyTorch.

    The graph is simplified, audited (no GridSample, ScatterND, ATen or custom ops), run in ONNX
    Runtime on real images and compared with PyTorch (max abs error <= 1e-4), and carries the
    model's task, scale, normalisation and source hash in its metadata.

    Example: edgeconv export runs/edge_sr_x2.pt -o out/edge_sr_x2.onnx --target-backend openvino
    """
    from rich.console import Console
    from rich.table import Table

    from edgeconv.export.graph.from_checkpoint import export_checkpoint

    if lowering not in (None, "slice", "conv"):
        raise UsageError("--lowering", f"unknown lowering {lowering!r}", "expected slice or conv")
    output = output or checkpoint.with_suffix(".onnx")
    refuse_overwrite(output, force)
    with Console(stderr=True).status(f"exporting {checkpoint.name} ..."):
        done = export_checkpoint(checkpoint, output, target_backend, lowering, simplify, opset, check_images)
    console = Console()
    facts, simplifier = done.facts, done.export.simplifier
    table = Table(title=f"{checkpoint} -> {output}", show_header=False)
    rows = {
        "model": f"{facts.model} ({facts.task}, x{facts.scale})" if facts.scale else f"{facts.model} ({facts.task})",
        "lowering": f"{done.export.lowering} for {target_backend}: {done.export.lowering_source}"
        if lowering is None else lowering,
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
    console.print(table)
