"""``edgeconv demo``: the longest end-to-end path that exists so far, on real images.

Loads the shipped default checkpoint (a trained shift-family x2 model, see
``models/weights/TRAINING.md``; a seeded untrained ``edge_sr`` only if the checkpoint is
absent), rewrites it to its deploy form with both lowerings, exports and simplifies each to
ONNX, audits the graph, runs it in ONNX Runtime on Set5 (or scikit-image's astronaut when Set5
is not beside the checkout) and prints, per lowering, how it matched PyTorch and what PSNR-Y it
scores against the HR images.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from edgeconv.errors import UsageError


def demo_images(scale: int, max_side: int) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], str]:
    """[(name, lr uint8 HWC, hr uint8 HWC)] cropped to ``max_side`` HR pixels, and their source."""
    from edgeconv.models.sr_data import (
        SRPair,
        bicubic_downscale,
        crop_to_multiple,
        load_hr_folder,
        shared_sr_data,
    )

    shared = shared_sr_data()
    if shared is not None and (shared / "Set5").is_dir():
        pairs, source = load_hr_folder(shared / "Set5", scale), str(shared / "Set5")
    else:
        try:
            from skimage import data
        except ImportError as exc:
            raise UsageError(
                "demo images", "no Set5 beside the checkout and scikit-image is not installed",
                "install the dev extra: pip install 'edgeconv[dev]'",
            ) from exc
        hr = crop_to_multiple(data.astronaut(), scale)
        pairs, source = [SRPair("astronaut", hr, bicubic_downscale(hr, scale))], "skimage.data.astronaut"
    out = []
    for p in pairs:
        hr = crop_to_multiple(p.hr[:max_side, :max_side], scale)
        out.append((p.name, bicubic_downscale(hr, scale), hr))
    return out, source


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the exported ONNX files.")] = Path("out/demo"),
    max_side: Annotated[int, typer.Option(help="Crop HR images to at most this side (speed).")] = 512,
    force: Annotated[bool, typer.Option(help="Overwrite files already in --out.")] = False,
) -> None:
    """Export the default SR model both ways, audit it and score it in ONNX Runtime on Set5.

    Example: edgeconv demo --out out/demo --max-side 256
    """
    import onnxruntime as ort
    import torch
    from rich.console import Console
    from rich.table import Table

    from edgeconv.export import to_deploy
    from edgeconv.export.audit import audit_graph
    from edgeconv.export.onnx_export import export_onnx
    from edgeconv.export.simplify import simplify_onnx
    from edgeconv.models import create_model
    from edgeconv.models.checkpoint import load_checkpoint
    from edgeconv.models.default_model import DEFAULT_CHECKPOINT
    from edgeconv.models.sr_data import to_tensor
    from edgeconv.runtime.atomic_write import write_bytes_atomic
    from edgeconv.runtime.sr_metrics import psnr_y

    console = Console()
    if max_side < 8:
        raise UsageError("--max-side", f"must be >= 8, got {max_side}")
    targets = {low: out / f"default_sr_x2.{low}.onnx" for low in ("slice", "conv")}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not force:
        raise UsageError(existing[0], "already exists", "pass --force to overwrite")
    if DEFAULT_CHECKPOINT.is_file():
        ckpt = load_checkpoint(DEFAULT_CHECKPOINT)
        model, name, origin = ckpt.build_model(DEFAULT_CHECKPOINT), ckpt.model_name, "trained"
    else:
        torch.manual_seed(0)
        model, name, origin = create_model("edge_sr", scale=2).eval(), "edge_sr", "untrained (no checkpoint)"
    images, source = demo_images(2, max_side)
    out.mkdir(parents=True, exist_ok=True)

    table = Table(title=f"{name} x2, {origin}, on {source}")
    for col in ("lowering", "deploy err", "simplify", "audit", "ORT err", "PSNR-Y", "ORT ms"):
        table.add_column(col)
    op_lines = []
    for lowering, path in targets.items():
        deployed = to_deploy(model, lowering)
        example = to_tensor(images[0][1])[None]
        proto, tool = simplify_onnx(export_onnx(deployed, example))
        audit = audit_graph(proto)
        write_bytes_atomic(path, proto.SerializeToString())
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        deploy_err = ort_err = seconds = 0.0
        scores = []
        for _, lr, hr in images:
            x = to_tensor(lr)[None]
            with torch.no_grad():
                reference = model(x)
                deploy_err = max(deploy_err, float((deployed(x) - reference).abs().max()))
            start = time.perf_counter()
            got = session.run(None, {"input": x.numpy()})[0]
            seconds += time.perf_counter() - start
            ort_err = max(ort_err, float(np.abs(got - reference.numpy()).max()))
            sr = np.round(np.clip(got[0].transpose(1, 2, 0), 0, 1) * 255) / 255
            scores.append(psnr_y(sr, hr / 255.0, crop_border=2))
        op_lines.append(f"{lowering}: " + ", ".join(f"{op} {n}" for op, n in audit.histogram.most_common()))
        table.add_row(
            lowering, f"{deploy_err:.1e}", tool, "clean" if audit else "; ".join(audit.violations),
            f"{ort_err:.1e}", f"{np.mean(scores):.2f} dB", f"{seconds / len(images) * 1e3:.1f}",
        )
        if deploy_err > 1e-5 or ort_err > 1e-4 or not audit:
            console.print(table)
            raise UsageError(str(path), "the exported model does not match PyTorch")
    console.print(table)
    console.print("graph ops (after onnxsim)\n  " + "\n  ".join(op_lines))
    console.print(f"wrote {', '.join(str(p) for p in targets.values())}")
