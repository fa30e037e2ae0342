"""A QDQ ONNX graph run in PyTorch, with its weights trainable: the ground quantization-aware training stands on.

Fake quantization placed by hand in a PyTorch model can drift from the graph the quantizer writes (which
tensors get a Quantize/Dequantize pair, which scale a bias gets). Here the quantizer's own QDQ graph is
the model: every ``QuantizeLinear`` -> ``DequantizeLinear`` pair on an activation becomes a fake quantizer
with the pair's scale and zero point (straight-through gradient), and every quantized weight becomes a
float parameter that is fake-quantized on each forward pass by the rule ONNX Runtime's quantizer applies
when it writes the file (range widened to include 0; symmetric for signed weights; per tensor or per
output channel), its int32 bias with scale ``input scale x weight scale``. ``quantized_model()`` writes the
trained weights back into the same graph, so what was trained is what runs.

Ops: the ones edgeconv's SR and classification exports use (Conv, Pad, Mul, Max, Add, Concat,
DepthToSpace, PRelu, Relu, Slice, Identity, Q/DQ); anything else raises ``UsageError`` naming it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import Tensor, nn

from edgeconv.errors import UsageError

SIGNED = {onnx.TensorProto.INT8: (-128, 127), onnx.TensorProto.UINT8: (0, 255), onnx.TensorProto.INT32: None}


def weight_range(kind: int, reduce_range: bool) -> tuple[int, int, bool]:
    """(qmin, qmax, symmetric) ONNX Runtime's quantizer uses for a weight of type ``kind``: signed weights are
    symmetric on [-127, 127] (7-bit: [-64, 64]), unsigned ones asymmetric on [0, 255] (7-bit: [0, 127])."""
    from onnxruntime.quantization.quant_utils import get_qmin_qmax_for_qType

    symmetric = kind == onnx.TensorProto.INT8
    qmin, qmax = get_qmin_qmax_for_qType(kind, reduce_range=reduce_range, symmetric=symmetric)
    return int(qmin), int(qmax), symmetric


def round_ste(x: Tensor) -> Tensor:
    """Round half to even forward (as ``QuantizeLinear``), identity gradient."""
    return x + (torch.round(x) - x).detach()


def fake_quant(x: Tensor, scale: Tensor, zero_point: Tensor, qmin: int, qmax: int) -> Tensor:
    """``DequantizeLinear(QuantizeLinear(x))`` with a straight-through gradient inside the clamp range."""
    q = torch.clamp(round_ste(x / scale) + zero_point, qmin, qmax)
    return (q - zero_point) * scale


def weight_scale(w: Tensor, qmin: int, qmax: int, symmetric: bool, axis: int | None) -> tuple[Tensor, Tensor]:
    """(scale, zero point) ONNX Runtime's quantizer computes for weight ``w`` (``compute_scale_zp``)."""
    dims = [d for d in range(w.dim()) if d != axis] if axis is not None else list(range(w.dim()))
    rmin = torch.clamp(w.detach().amin(dim=dims, keepdim=axis is not None), max=0.0)
    rmax = torch.clamp(w.detach().amax(dim=dims, keepdim=axis is not None), min=0.0)
    if symmetric:
        absmax = torch.maximum(rmin.abs(), rmax.abs())
        rmin, rmax = -absmax, absmax
    scale = ((rmax.double() - rmin.double()) / (qmax - qmin)).float()
    scale = torch.where(scale < torch.finfo(torch.float32).tiny, torch.ones_like(scale), scale)
    if symmetric:
        zero = torch.full_like(scale, float(round((qmin + qmax) / 2.0)))
    else:
        zero = torch.round(qmin - rmin / scale)
    return scale, zero


class QDQGraph(nn.Module):
    """``model`` (a QDQ graph from ``quantize_int8``, before compaction) as a PyTorch module.

    ``trainable``: base names of the float weights to train (``body.1.weight``, ``body.1.bias``); the
    rest (fixed kernels such as the luma and bicubic convs) keep their quantized values. ``reduce_range``:
    the quantizer wrote 7-bit weights. ``learn_scales``: activation scales become parameters too (LSQ:
    the gradient through rounding and clamping moves each range), except exact 8-bit image grids (scale
    1/255: the input, and an output already on the image grid), which are right as they are.
    """

    def __init__(self, model: onnx.ModelProto, trainable: Iterable[str] = (), reduce_range: bool = False,
                 learn_scales: bool = False) -> None:
        super().__init__()
        self.proto, self.reduce_range = model, reduce_range
        graph = model.graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.types = {t.name: t.data_type for t in graph.initializer}
        self.producer = {o: n for n in graph.node for o in n.output}
        # activation scales, by the name of their initializer (pairs may share one): a bias's scale reads its
        # conv's input scale
        self.act_scale_name = {n.output[0]: n.input[1] for n in graph.node
                               if n.op_type == "DequantizeLinear" and n.input[0] not in self.inits}
        self.scales = nn.ParameterDict()
        for name in dict.fromkeys(self.act_scale_name.values()):
            self._add_scale(name, learn_scales)
        self.nodes = list(graph.node)
        self.input_name, self.output_name = graph.input[0].name, graph.output[0].name
        self._add_weights(set(trainable))
        for node in self.nodes:
            if node.op_type not in OPS:
                raise UsageError(node.name or node.op_type, f"op {node.op_type} is not supported by QAT")

    def _add_scale(self, name: str, learn_scales: bool) -> None:
        """Activation scale ``name``: learned as a log factor on the calibrated scale (positive whatever step the
        optimiser takes, exactly the calibrated value until it moves: exp(0) = 1); image grids stay fixed."""
        value = torch.from_numpy(self.inits[name].astype(np.float32))
        grid = abs(float(value) * 255.0 - 1.0) < 1e-6 if value.numel() == 1 else False
        self.register_buffer(f"calibrated_{self._key(name)}", value, persistent=False)
        self.scales[self._key(name)] = nn.Parameter(torch.zeros_like(value), requires_grad=learn_scales and not grid)

    def _add_weights(self, wanted: set[str]) -> None:
        """The ``wanted`` weights as parameters: quantized ones (fake-quantized each pass) and float ones."""
        self.weights = nn.ParameterDict()
        self.weight_nodes: dict[str, onnx.NodeProto] = {}  # base name -> its DequantizeLinear node
        for node in self.nodes:
            if node.op_type != "DequantizeLinear" or node.input[0] not in self.inits:
                continue
            base = node.input[0].removesuffix("_quantized")
            if base in wanted:
                self.weight_nodes[base] = node
                self.weights[self._key(base)] = nn.Parameter(torch.from_numpy(_dequantized(node, self.inits)).float())
        # the conv each bias belongs to (its scale reads that conv's input and weight scales)
        self.bias_conv = {base: conv for conv in self.nodes if conv.op_type == "Conv" and len(conv.input) > 2
                          for base, node in self.weight_nodes.items() if self.producer.get(conv.input[2]) is node}
        # trainable weights the graph keeps in float (a TensorRT graph's biases): trained as they are
        self.floats = nn.ParameterDict({
            self._key(base): nn.Parameter(torch.from_numpy(self.inits[base].astype(np.float32)))
            for base in sorted(wanted - set(self.weight_nodes))
            if self.types.get(base) == onnx.TensorProto.FLOAT})
        self.float_names = {self._key(b): b for b in wanted if self._key(b) in self.floats}
        missing = wanted - set(self.weight_nodes) - set(self.float_names.values())
        if missing:
            raise UsageError(", ".join(sorted(missing)), "is not a quantized weight of this graph")

    @staticmethod
    def _key(base: str) -> str:
        return base.replace(".", "__")

    def act_scale(self, tensor: str) -> Tensor:
        """The (possibly learned) scale of the activation pair whose DequantizeLinear writes ``tensor``."""
        return self._scale(self.act_scale_name[tensor])

    def _scale(self, name: str) -> Tensor:
        key = self._key(name)
        return getattr(self, f"calibrated_{key}") * torch.exp(self.scales[key])

    def weight_value(self, base: str) -> Tensor:
        """The fake-quantized value of trainable weight ``base`` (bias: int32 at input x weight scale)."""
        node = self.weight_nodes[base]
        w = self.weights[self._key(base)]
        kind = self.types[node.input[0]]
        if kind == onnx.TensorProto.INT32:  # a bias: its scale follows the conv's input and weight scales
            scale = self._bias_scale(base)
            return round_ste(w / scale) * scale
        qmin, qmax, symmetric = weight_range(kind, self.reduce_range)
        axis = _attr(node, "axis", 1) if self.inits[node.input[1]].size > 1 else None
        scale, zero = weight_scale(w, qmin, qmax, symmetric, axis)
        return fake_quant(w, scale, zero, qmin, qmax)

    def _bias_scale(self, base: str) -> Tensor:
        conv = self.bias_conv[base]
        in_scale = self.act_scale(conv.input[0])
        w_base = self.producer[conv.input[1]].input[0].removesuffix("_quantized")
        if w_base in self.weight_nodes:
            node = self.weight_nodes[w_base]
            qmin, qmax, symmetric = weight_range(self.types[node.input[0]], self.reduce_range)
            axis = 0 if self.inits[node.input[1]].size > 1 else None
            w_scale, _ = weight_scale(self.weights[self._key(w_base)], qmin, qmax, symmetric, axis)
            w_scale = w_scale.reshape(-1)
        else:
            w_scale = torch.from_numpy(self.inits[self.producer[conv.input[1]].input[1]].astype(np.float32)).reshape(-1)
        return in_scale * w_scale

    def forward(self, x: Tensor) -> Tensor:
        env: dict[str, Tensor] = {self.input_name: x}
        for node in self.nodes:
            OPS[node.op_type](self, node, env)
        return env[self.output_name]

    def constant(self, name: str) -> Tensor:
        return torch.from_numpy(np.array(self.inits[name]))  # a writable copy

    def quantized_model(self) -> onnx.ModelProto:
        """The graph with every trained weight re-quantized by the rule it was trained under."""
        out = onnx.ModelProto()
        out.CopyFrom(self.proto)
        replace: dict[str, np.ndarray] = {}
        with torch.no_grad():
            for base, node in self.weight_nodes.items():
                w = self.weights[self._key(base)]
                kind = self.types[node.input[0]]
                if kind == onnx.TensorProto.INT32:
                    scale = self._bias_scale(base)
                    replace[node.input[0]] = torch.round(w / scale).numpy().astype(np.int32)
                    replace[node.input[1]] = scale.numpy().astype(np.float32).reshape(self.inits[node.input[1]].shape)
                    continue
                qmin, qmax, symmetric = weight_range(kind, self.reduce_range)
                axis = _attr(node, "axis", 1) if self.inits[node.input[1]].size > 1 else None
                scale, zero = weight_scale(w, qmin, qmax, symmetric, axis)
                q = torch.clamp(torch.round(w / scale) + zero, qmin, qmax)
                dtype = np.int8 if kind == onnx.TensorProto.INT8 else np.uint8
                replace[node.input[0]] = q.numpy().astype(dtype)
                replace[node.input[1]] = scale.numpy().astype(np.float32).reshape(self.inits[node.input[1]].shape)
                replace[node.input[2]] = zero.numpy().astype(dtype).reshape(self.inits[node.input[2]].shape)
            for key, value in self.floats.items():
                replace[self.float_names[key]] = value.detach().numpy().astype(np.float32)
            for name in dict.fromkeys(self.act_scale_name.values()):
                learned = self.scales[self._key(name)]
                if learned.requires_grad:
                    replace[name] = self._scale(name).numpy().astype(np.float32).reshape(self.inits[name].shape)
        for tensor in out.graph.initializer:
            if tensor.name in replace:
                tensor.CopyFrom(numpy_helper.from_array(replace[tensor.name], tensor.name))
        return out


def _dequantized(node: onnx.NodeProto, inits: dict[str, np.ndarray]) -> np.ndarray:
    """The float value of a constant that ``node`` (a DequantizeLinear) dequantizes, per tensor or per channel."""
    q = inits[node.input[0]].astype(np.float64)
    scale = inits[node.input[1]].astype(np.float64)
    zero = inits[node.input[2]].astype(np.float64) if len(node.input) > 2 else 0.0
    axis = _attr(node, "axis", 1)
    if scale.ndim == 1 and scale.size > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), np.reshape(zero, shape)
    return ((q - zero) * scale).astype(np.float32)


def _attr(node: onnx.NodeProto, name: str, default: object) -> object:
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _value(g: QDQGraph, name: str, env: dict[str, Tensor]) -> Tensor:
    if name in env:
        return env[name]
    key = g._key(name)
    return g.floats[key] if key in g.floats else g.constant(name)


def _dequantize(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
    source = node.input[0]
    if source in g.inits:  # a weight or bias
        base = source.removesuffix("_quantized")
        env[node.output[0]] = (g.weight_value(base) if base in g.weight_nodes
                               else torch.from_numpy(_dequantized(node, g.inits)))
        return
    quantize = g.producer[source]
    x = env[quantize.input[0]]
    scale, zero = g.act_scale(node.output[0]), g.constant(node.input[2]).float()
    qmin, qmax = SIGNED[g.types[node.input[2]]]
    env[node.output[0]] = fake_quant(x, scale, zero, qmin, qmax)


def _conv(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
    x, w = env[node.input[0]], _value(g, node.input[1], env)
    b = _value(g, node.input[2], env) if len(node.input) > 2 else None
    pads = _attr(node, "pads", [0, 0, 0, 0])
    if pads[0] != pads[2] or pads[1] != pads[3]:
        x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
        pads = [0, 0]
    env[node.output[0]] = F.conv2d(x, w, b, stride=_attr(node, "strides", [1, 1]), padding=pads[:2],
                                   dilation=_attr(node, "dilations", [1, 1]), groups=_attr(node, "group", 1))


def _pad(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
    pads = [int(v) for v in _value(g, node.input[1], env)]
    rank = len(pads) // 2
    torch_pads = []
    for axis in reversed(range(rank)):
        torch_pads += [pads[axis], pads[axis + rank]]
    mode = {b"constant": "constant", b"edge": "replicate", b"reflect": "reflect"}[_attr(node, "mode", b"constant")]
    x = env[node.input[0]]
    trimmed = torch_pads[: 2 * (x.dim() - 2)] if mode != "constant" else torch_pads
    env[node.output[0]] = F.pad(x, trimmed, mode=mode)


def _binary(op):  # noqa: ANN001, ANN202
    def run(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
        env[node.output[0]] = op(_value(g, node.input[0], env), _value(g, node.input[1], env))
    return run


def _unary(op):  # noqa: ANN001, ANN202
    def run(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
        env[node.output[0]] = op(env[node.input[0]])
    return run


def _concat(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
    env[node.output[0]] = torch.cat([_value(g, n, env) for n in node.input], dim=_attr(node, "axis", 1))


def _depth_to_space(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
    x, block = env[node.input[0]], _attr(node, "blocksize", 2)
    if _attr(node, "mode", b"DCR") == b"CRD":
        env[node.output[0]] = F.pixel_shuffle(x, block)
        return
    n, c, h, w = x.shape
    y = x.reshape(n, block, block, c // block**2, h, w).permute(0, 3, 4, 1, 5, 2)
    env[node.output[0]] = y.reshape(n, c // block**2, h * block, w * block)


def _quantize(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
    """Nothing: the DequantizeLinear that reads it does the fake quantization."""


def _slice(g: QDQGraph, node: onnx.NodeProto, env: dict[str, Tensor]) -> None:
    x = env[node.input[0]]
    starts, ends = (list(_value(g, n, env).tolist()) for n in node.input[1:3])
    axes = list(_value(g, node.input[3], env).tolist()) if len(node.input) > 3 else list(range(len(starts)))
    steps = list(_value(g, node.input[4], env).tolist()) if len(node.input) > 4 else [1] * len(starts)
    index = [slice(None)] * x.dim()
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[axis] = slice(start, min(end, x.shape[axis]), step)
    env[node.output[0]] = x[tuple(index)]


OPS = {
    "QuantizeLinear": _quantize, "DequantizeLinear": _dequantize, "Conv": _conv, "Pad": _pad,
    "Mul": _binary(torch.mul), "Add": _binary(torch.add), "Max": _binary(torch.maximum),
    "PRelu": _binary(lambda x, a: torch.where(x >= 0, x, x * a)), "Relu": _unary(torch.relu),
    "Identity": _unary(lambda x: x), "Concat": _concat, "DepthToSpace": _depth_to_space, "Slice": _slice,
}
