"""Fold eval-mode BatchNorm2d into the convolution that feeds it.

The model is traced with ``torch.fx`` (edgeconv's static shift modules are leaves); a BatchNorm
whose only input is a Conv2d used nowhere else is folded into that conv's weight and bias and
dropped. Models that FX cannot trace fall back to folding adjacent pairs inside
``nn.Sequential`` containers.
"""

from __future__ import annotations

import torch
from torch import fx, nn

from edgeconv.shift import ShiftBlend
from edgeconv.shiftwise_conv import StripConvs, StripSlices

STATIC_LEAVES = (ShiftBlend, StripSlices, StripConvs)


def fold_into_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Rewrite ``conv`` in place so that ``conv(x) == bn(conv_before(x))`` in eval mode."""
    with torch.no_grad():
        std = torch.sqrt(bn.running_var + bn.eps)
        gamma = bn.weight if bn.weight is not None else torch.ones_like(std)
        beta = bn.bias if bn.bias is not None else torch.zeros_like(std)
        scale = gamma / std
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        new_bias = (bias - bn.running_mean) * scale + beta
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
        if conv.bias is None:
            conv.bias = nn.Parameter(new_bias.clone(), requires_grad=False)
        else:
            conv.bias.copy_(new_bias)


class _StaticLeafTracer(fx.Tracer):
    """Treat edgeconv's static shift modules as opaque calls."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, STATIC_LEAVES) or super().is_leaf_module(m, qualname)


def _fold_traced(model: nn.Module) -> nn.Module:
    graph = _StaticLeafTracer().trace(model)
    traced = fx.GraphModule(model, graph, class_name=type(model).__name__)
    modules = dict(traced.named_modules())
    changed = False
    for node in list(traced.graph.nodes):
        if node.op != "call_module" or not isinstance(modules.get(node.target), nn.BatchNorm2d):
            continue
        source = node.args[0]
        if not isinstance(source, fx.Node) or source.op != "call_module":
            continue
        conv = modules.get(source.target)
        if not isinstance(conv, nn.Conv2d) or len(source.users) != 1:
            continue
        fold_into_conv(conv, modules[node.target])
        node.replace_all_uses_with(source)
        traced.graph.erase_node(node)
        changed = True
    if not changed:
        return model
    traced.graph.lint()
    traced.delete_all_unused_submodules()
    traced.recompile()
    return traced


def _fold_sequential(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for prev, name in zip(names, names[1:], strict=False):
            conv, bn = module._modules[prev], module._modules[name]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                fold_into_conv(conv, bn)
                module._modules[name] = nn.Identity()
    return model


def fold_batchnorms(model: nn.Module) -> nn.Module:
    """Return ``model`` (eval mode) with every foldable BatchNorm2d folded away."""
    model.eval()
    try:
        return _fold_traced(model)
    except (fx.proxy.TraceError, TypeError, NotImplementedError):
        return _fold_sequential(model)
