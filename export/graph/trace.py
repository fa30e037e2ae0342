"""ONNX export of a deploy-form model, with dynamic batch and spatial axes.

Uses the TorchScript exporter (``dynamo=False``): it honours the opset we ask for and keeps the
PyTorch module path in node names (``/body/0/conv/Conv``), which later reports use to name
layers the way the user wrote them. Opset 17 is accepted by ONNX Runtime, OpenVINO 2024+ and
TensorRT 8.6+.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

DEFAULT_OPSET = 17


def export_onnx(
    model: nn.Module,
    example: torch.Tensor,
    path: str | Path | None = None,
    opset: int = DEFAULT_OPSET,
    input_name: str = "input",
    output_name: str = "output",
    dynamic_hw: bool = True,
) -> onnx.ModelProto:
    """Export ``model`` (eval mode, NCHW float input like ``example``) and return the proto.

    When ``path`` is given the file is written atomically (temp file + rename).
    """
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic_hw else {0: "batch"}
    buffer = io.BytesIO()
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            buffer,
            opset_version=opset,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes={input_name: axes, output_name: axes},
            dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    if path is not None:
        from edgeconv.runtime.atomic_write import write_bytes_atomic

        write_bytes_atomic(Path(path), proto.SerializeToString())
    return proto
