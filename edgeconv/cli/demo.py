"""``edgeconv demo``: the longest end-to-end path that exists so far, on a real image.

Builds the default shift SR model (``shift_sr`` x2), rewrites it to its deploy form with both
lowerings, exports and simplifies each to ONNX, audits the graph, runs it in ONNX Runtime on a
Set5 image (or scikit-image's astronaut when Set5 is not beside the checkout) and prints how
each step matched PyTorch. Weights are seeded, not trained: the trained default model arrives
with the training issue.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from edgeconv.errors import UsageError

SET5_CANDIDATES = [
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sr" / "Set5" / "butterfly.png",
]


def load_demo_image(max_side: int = 128) -> tuple[np.ndarray, str]:
    """A real RGB image (H, W, 3) float32 in [0, 1], cropped to ``max_side``, and its source."""
    from PIL import Image

    for path in SET5_CANDIDATES:
        if path.is_file():
            with Image.open(path) as img:
                rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
            return rgb[:max_side, :max_side], str(path)
    try:
        from skimage import data
    except ImportError as exc:
        raise UsageError(
            "demo image", "no Set5 image beside the checkout and scikit-image is not installed",
            "install the dev extra: pip install 'edgeconv[dev]'",
        ) from exc
    return data.astronaut()[:max_side, :max_side].astype(np.float32) / 255.0, "skimage.data.astronaut"


def demo(
    out: Annotated[Path, typer.Option(help="Folder for the exported ONNX files.")] = Path("out/demo"),
    size: Annotated[int, typer.Option(help="Side of the LR crop fed to the model.")] = 128,
    force: Annotated[bool, typer.Option(help="Overwrite files already in --out.")] = False,
) -> None:
    """Rewrite, export, simplify, audit and run the default shift SR model on a real image.

    Example: edgeconv demo --out out/demo --size 96
    """
    import onnxruntime as ort
    import torch
    from rich.console import Console
    from rich.table import Table

    from edgeconv.export import to_deploy
    from edgeconv.export.atomic import write_bytes_atomic
    from edgeconv.export.audit import audit_graph
    from edgeconv.export.onnx_export import export_onnx
    from edgeconv.export.simplify import simplify_onnx
    from edgeconv.models import create_model

    console = Console()
    if size < 1:
        raise UsageError("--size", f"must be >= 1, got {size}")
    targets = {low: out / f"shift_sr_x2.{low}.onnx" for low in ("slice", "conv")}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not force:
        raise UsageError(existing[0], "already exists", "pass --force to overwrite")
    out.mkdir(parents=True, exist_ok=True)

    image, source = load_demo_image(size)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()
    torch.manual_seed(0)
    model = create_model("shift_sr", scale=2).eval()
    with torch.no_grad():
        reference = model(x)

    table = Table(title=f"shift_sr x2 on {source} ({x.shape[2]}x{x.shape[3]})")
    for col in ("lowering", "deploy vs eval", "simplify", "graph ops", "audit", "ORT vs PyTorch", "ORT ms"):
        table.add_column(col)
    for lowering, path in targets.items():
        deployed = to_deploy(model, lowering)
        with torch.no_grad():
            deploy_err = float((deployed(x) - reference).abs().max())
        proto, tool = simplify_onnx(export_onnx(deployed, x))
        audit = audit_graph(proto)
        write_bytes_atomic(path, proto.SerializeToString())
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": x.numpy()})[0]
        start = time.perf_counter()
        for _ in range(5):
            session.run(None, {"input": x.numpy()})
        ms = (time.perf_counter() - start) / 5 * 1e3
        ort_err = float(np.abs(got - reference.numpy()).max())
        ops = ", ".join(f"{op}:{n}" for op, n in audit.histogram.most_common(4))
        table.add_row(
            lowering, f"{deploy_err:.1e}", tool, ops,
            "clean" if audit else "; ".join(audit.violations), f"{ort_err:.1e}", f"{ms:.1f}",
        )
        if deploy_err > 1e-5 or ort_err > 1e-4 or not audit:
            console.print(table)
            raise UsageError(str(path), "the exported model does not match PyTorch")
    console.print(table)
    console.print(f"wrote {', '.join(str(p) for p in targets.values())}")
