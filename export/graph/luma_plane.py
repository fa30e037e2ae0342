"""The Y-plane form of a luma-residual SR model: one channel in, one out, the same weights.

A ``LumaSR`` adds one luma residual to the bicubic upsample of R, G and B; that adds the residual to Y
(``Y = 0.257 R + 0.504 G + 0.098 B + 16/255``) and leaves Cb and Cr alone (their rows sum to 0). So on a
video decoder's planes the network can run on Y alone: ``y_hr = bicubic(y) + residual(y)`` with ``y``
in the model's luma unit (``(Y - 16) / 255`` for 8-bit limited-range luma), and the chroma planes take the
same bicubic upsample. No colour conversion, a third of the skip's work. The export is checked against
the RGB model: its luma must equal the Y-plane graph's output on real images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import Tensor, nn

from edgeconv.errors import EdgeConvError, UsageError
from edgeconv.export.graph.from_checkpoint import check_images, checkpoint_facts, set_metadata
from edgeconv.export.graph.from_module import export_deployed
from edgeconv.export.graph.trace import DEFAULT_OPSET
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.nets.luma_sr import BicubicPhases, LumaSR
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.imaging.luma import rgb_to_model_luma
from edgeconv.runtime.model_facts import ModelFacts

LUMA_PLANE_ATOL = 1e-4
LUMA_INPUT = "luma601"  # the ``input_color`` fact: one plane, (Y - 16) / 255 of BT.601-style limited luma


class LumaPlaneSR(nn.Module):
    """(N, 1, H, W) luma in the model's unit -> (N, 1, s*H, s*W): bicubic upsample plus the net's residual."""

    def __init__(self, model: LumaSR) -> None:
        super().__init__()
        self.scale = model.scale
        self.body = model.body
        self.bicubic = BicubicPhases(model.scale, channels=1)
        self.shuffle = nn.PixelShuffle(model.scale)

    def forward(self, y: Tensor) -> Tensor:
        return self.shuffle(self.bicubic(y) + self.body(y))


@dataclass
class LumaPlaneExport:
    """What ``export_luma_plane`` wrote and how far its output was from the RGB model's luma."""

    path: Path | None
    facts: ModelFacts
    max_abs_error: float
    images: int


def has_luma_plane_form(checkpoint: str | Path) -> bool:
    """Whether the checkpoint's model is a ``LumaSR`` (a luma residual on a bicubic skip): only those have a
    Y-plane form, the one video runs on the decoder's luma plane."""
    source = Path(checkpoint)
    return isinstance(load_checkpoint(source).build_model(source), LumaSR)


def export_luma_plane(
    checkpoint: str | Path,
    output: str | Path | None,
    target_backend: str | None = "onnxruntime",
    opset: int = DEFAULT_OPSET,
    max_side: int = 256,
    atol: float = LUMA_PLANE_ATOL,
) -> LumaPlaneExport:
    """Export the Y-plane form of a ``LumaSR`` checkpoint; write ``output`` only if it matches the RGB model.

    Args:
        checkpoint: an SR checkpoint whose model is a ``LumaSR`` (every shipped SR model).
        output: the ``.onnx`` to write atomically (None: check only).
        target_backend: ``onnxruntime`` (PReLU as Mul + Max) or ``openvino`` (PReLU kept).
        opset, max_side, atol: ONNX opset, side of the check crops, largest allowed luma difference.

    Returns:
        The written path, the facts in its metadata (``input_color`` = ``luma601``, one channel) and the
        largest |Y-plane output - luma of the RGB model's output| over the check images (Set5 crops).

    Raises:
        UsageError: the checkpoint's model is not a luma-residual SR net.
        EdgeConvError: the graph differs from the RGB model's luma by more than ``atol``.
    """
    import onnxruntime as ort

    source = Path(checkpoint)
    ckpt = load_checkpoint(source)
    model = ckpt.build_model(source)
    if not isinstance(model, LumaSR):
        raise UsageError(str(source), f"{ckpt.model_name} is not a luma-residual SR model",
                         "only LumaSR models (the shipped ones) have a Y-plane form")
    plane = LumaPlaneSR(model).eval()
    rgb_facts = checkpoint_facts(ckpt, source, "slice", opset)
    images, _ = check_images(rgb_facts, None, max_side)
    example = torch.from_numpy(rgb_to_model_luma(rgb_facts.to_input(images[0])))
    result = export_deployed(plane, example, None, target_backend=target_backend, opset=opset,
                             model_name=ckpt.model_name)
    facts = replace(checkpoint_facts(ckpt, source, result.lowering, opset, result.prelu),
                    mean=(0.0,), std=(1.0,), color=LUMA_INPUT)
    facts = replace(facts, extra={**facts.extra, "input_channels": "1", "form": "luma-plane"})
    set_metadata(result.model, facts.to_props())
    serialized = result.model.SerializeToString()
    session = ort.InferenceSession(serialized, providers=["CPUExecutionProvider"])
    worst = 0.0
    with torch.no_grad():
        for image in images:
            rgb = rgb_facts.to_input(image)
            reference = rgb_to_model_luma(model(torch.from_numpy(rgb)).numpy())
            got = session.run(None, {session.get_inputs()[0].name: rgb_to_model_luma(rgb)})[0]
            worst = max(worst, float(np.abs(got - reference).max()))
    if not math.isfinite(worst) or worst > atol:
        raise EdgeConvError(str(output or source), f"the Y-plane graph differs from the RGB model's luma by "
                            f"{worst:.2e} (limit {atol:.0e})", "nothing was written")
    path = Path(output) if output is not None else None
    if path is not None:
        onnx.checker.check_model(result.model)
        write_bytes_atomic(path, serialized)
    return LumaPlaneExport(path, facts, worst, len(images))
