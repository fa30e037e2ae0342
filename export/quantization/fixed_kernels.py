"""Quantize an SR model's fixed kernels (the RGB-to-luma weights, the bicubic skip) so each keeps its sum exactly.

Rounding each tap of a bicubic phase kernel to the nearest 8-bit step leaves the phase summing to 1 +- a few
steps: a flat grey area then comes out a little brighter or darker, everywhere - on the shipped x2 models that
alone cost 0.02 dB PSNR-Y on Set5. A kernel whose taps sum to S gets a scale that makes S a whole number of
steps (``S / M`` with ``M`` as large as the 8-bit range allows) and taps rounded so their integers sum to ``M``
(the ones nearest a rounding boundary go the other way): flat areas pass through exactly, no tap moves by a full
step. Kernels the model trains are left to quantization-aware training; this is only for the fixed ones.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import numpy_helper

from edgeconv.runtime.model_facts import PREFIX

DTYPES = {onnx.TensorProto.INT8: np.int8, onnx.TensorProto.UINT8: np.uint8}


def round_to_sum(x: np.ndarray, total: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Integers near ``x`` (each within one step) that sum to ``total`` and stay in [low, high] where possible."""
    q = np.clip(np.round(x), low, high)
    residual = (x - q).ravel()
    flat = q.ravel()
    diff = int(total - flat.sum())
    order = np.argsort(-residual if diff > 0 else residual)
    for k in order:
        if diff == 0:
            break
        step = 1 if diff > 0 else -1
        if low.ravel()[k] <= flat[k] + step <= high.ravel()[k]:
            flat[k] += step
            diff -= step
    return flat.reshape(x.shape)


def fixed_kernel_names(fp32: onnx.ModelProto) -> list[str]:
    """Conv weights the model does not train (everything but ``edgeconv.trainable``); [] when it does not say."""
    props = {p.key: p.value for p in fp32.metadata_props}
    if PREFIX + "trainable" not in props:
        return []
    trainable = set(json.loads(props[PREFIX + "trainable"]))
    weights = {n.input[1] for n in fp32.graph.node if n.op_type == "Conv" and len(n.input) > 1}
    return sorted(w for w in weights if w not in trainable and any(t.name == w for t in fp32.graph.initializer))


def quantize_fixed_kernels_sum_exact(quantized: onnx.ModelProto, fp32: onnx.ModelProto) -> list[str]:
    """Re-quantize, in place, the fixed conv kernels of ``quantized`` so every output channel keeps its sum.

    Symmetric weights (zero point 0) also get the scale that makes each sum exact.

    Args:
        quantized: the QDQ model (changed in place).
        fp32: the FP32 model it was quantized from (its float kernels and ``edgeconv.trainable``).

    Returns:
        The names of the kernels changed.
    """
    floats = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in fp32.graph.initializer}
    inits = {t.name: t for t in quantized.graph.initializer}
    changed = []
    for name in fixed_kernel_names(fp32):
        node = next((n for n in quantized.graph.node if n.op_type == "DequantizeLinear"
                     and n.input[0] == f"{name}_quantized"), None)
        if node is None or len(node.input) < 3 or inits[node.input[0]].data_type not in DTYPES:
            continue
        _requantize_sum_exact(quantized, node, floats[name], inits)
        changed.append(name)
    return changed


def _requantize_sum_exact(
    quantized: onnx.ModelProto, node: onnx.NodeProto, kernel: np.ndarray, inits: dict[str, onnx.TensorProto]
) -> None:
    """Overwrite the weight (and, when symmetric per channel, the scale) that ``node`` dequantizes: each output
    channel of float ``kernel`` rounded to integers that keep its sum."""
    dtype = DTYPES[inits[node.input[0]].data_type]
    w = kernel.reshape(kernel.shape[0], -1)
    # the integer range ONNX Runtime's quantizer used (7-bit weights where the CPU's kernels need them): kept
    written = numpy_helper.to_array(inits[node.input[0]]).astype(np.int64)
    qmin, qmax = int(written.min()), int(written.max())
    scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float64)
    zero = numpy_helper.to_array(inits[node.input[2]]).astype(np.int64)
    per_channel = scale.size == w.shape[0]  # one scale per output channel (a 1-channel kernel too)
    scales = np.broadcast_to(scale.reshape(-1, 1), (w.shape[0], 1)).copy()
    zeros = np.broadcast_to(zero.reshape(-1, 1), (w.shape[0], 1))
    sums = w.sum(axis=1, keepdims=True)
    consumers = [n for n in quantized.graph.node if n.op_type == "Conv" and n.input[1] == node.output[0]]
    biased = any(len(c.input) > 2 and c.input[2] for c in consumers)  # an int32 bias is tied to this scale
    if per_channel and not zeros.any() and not biased:  # symmetric: a scale per channel makes each sum whole
        peak = np.abs(w).max(axis=1, keepdims=True)
        bound = max(-qmin, qmax)
        qmin, qmax = -bound, bound
        steps = np.floor(bound * np.abs(sums) / np.maximum(peak, 1e-12))
        usable = (np.abs(sums) > 1e-6) & (steps >= 1)
        scales = np.where(usable, np.abs(sums) / np.maximum(steps, 1), scales)
    q = np.stack([round_to_sum(w[c] / scales[c], int(np.round(sums[c, 0] / scales[c, 0])),
                               np.full(w.shape[1], qmin - zeros[c, 0]), np.full(w.shape[1], qmax - zeros[c, 0]))
                  for c in range(w.shape[0])]) + zeros
    inits[node.input[0]].CopyFrom(numpy_helper.from_array(q.reshape(kernel.shape).astype(dtype), node.input[0]))
    inits[node.input[1]].CopyFrom(numpy_helper.from_array(
        scales.reshape(scale.shape).astype(np.float32) if per_channel else scale.astype(np.float32), node.input[1]))
