"""Per-layer quantization error, named by PyTorch module path.

For every activation the QDQ model quantizes, two signal-to-quantization-noise ratios (dB,
``10 log10(sum x^2 / sum (x - y)^2)``) from ONNX Runtime's ``qdq_loss_debug`` matching:

* ``sqnr_db``: the tensor before vs after its own QuantizeLinear/DequantizeLinear pair in the
  QDQ model - the error this layer's quantization adds by itself;
* ``sqnr_vs_fp32_db``: the FP32 model's tensor vs the QDQ model's dequantized tensor - the error
  accumulated up to this point.

The ONNX node producing the tensor keeps its PyTorch scope in its name (``/body/body.1/conv/Conv``),
which ``edgeconv.runtime.backends.layer_names.module_path`` turns back into ``body.1.conv``.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from edgeconv.export.quantization.calibration import Feed, FeedReader
from edgeconv.export.quantization.ptq import constants_to_initializers, quiet_quantizer
from edgeconv.runtime.backends.layer_names import module_path


@dataclass
class LayerSensitivity:
    """The quantization error at one layer's output."""

    node: str
    module: str
    op_type: str
    tensor: str
    sqnr_db: float
    sqnr_vs_fp32_db: float
    drop_alone_db: float = math.nan  # PSNR-Y drop with only this layer quantized (budget search)


def sqnr_db(reference: list[np.ndarray], noisy: list[np.ndarray]) -> float:
    """Signal-to-quantization-noise ratio (dB) over all samples; inf when identical."""
    signal = sum(float(np.sum(np.square(r.astype(np.float64)))) for r in reference)
    noise = sum(float(np.sum(np.square(r.astype(np.float64) - n))) for r, n in zip(reference, noisy, strict=True))
    if noise == 0:
        return math.inf
    return 10 * math.log10(max(signal, 1e-30) / noise)


def _activations(model: onnx.ModelProto, feeds: list[Feed], folder: Path, name: str) -> dict[str, list[np.ndarray]]:
    from onnxruntime.quantization.qdq_loss_debug import collect_activations, modify_model_output_intermediate_tensors

    src, augmented = folder / f"{name}.onnx", folder / f"{name}.augmented.onnx"
    onnx.save(model, src)
    modify_model_output_intermediate_tensors(src, augmented)
    return collect_activations(str(augmented), FeedReader(feeds))


def layer_sensitivity(fp32: onnx.ModelProto, qdq: onnx.ModelProto, feeds: list[Feed]) -> list[LayerSensitivity]:
    """The error at each quantized activation, most sensitive (lowest ``sqnr_db``) first."""
    from onnxruntime.quantization.qdq_loss_debug import create_activation_matching

    float_model = constants_to_initializers(fp32)
    producers = {out: node for node in float_model.graph.node for out in node.output}
    with quiet_quantizer(), tempfile.TemporaryDirectory(prefix="edgeconv-sqnr-") as tmp:
        float_acts = _activations(float_model, feeds, Path(tmp), "fp32")
        qdq_acts = _activations(qdq, feeds, Path(tmp), "qdq")
    matching = create_activation_matching(qdq_acts, float_acts)
    layers = []
    for tensor, match in matching.items():
        node = producers.get(tensor)
        if node is None or "pre_qdq" not in match or "post_qdq" not in match:
            continue  # graph inputs and weights: no layer to keep in float
        accumulated = sqnr_db(match["float"], match["post_qdq"]) if "float" in match else math.nan
        layers.append(
            LayerSensitivity(
                node=node.name, module=module_path(node.name), op_type=node.op_type, tensor=tensor,
                sqnr_db=sqnr_db(match["pre_qdq"], match["post_qdq"]), sqnr_vs_fp32_db=accumulated,
            )
        )
    return sorted(layers, key=lambda layer: layer.sqnr_db)
