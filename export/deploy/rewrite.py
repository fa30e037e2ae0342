"""The deploy rewrite: every dynamic op swapped for its static twin, BatchNorm folded.

``to_deploy(model)`` is what export runs before ``torch.onnx.export``: the result computes the
same function as ``model.eval()`` (checked to 1e-5 by the test suite) using only constant
slices, pads, concats, index ops and fixed convolutions, so the ONNX graph holds no GridSample,
ScatterND or ATen fallback.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from edgeconv.dynamic import DynamicModule, Lowering, check_lowering
from edgeconv.errors import DynamicOpLeftError
from edgeconv.export.deploy.batchnorm_fold import fold_batchnorms


def _static_twin(module: DynamicModule, name: str, lowering: Lowering) -> nn.Module:
    try:
        return module.to_static(lowering)
    except NotImplementedError as exc:
        raise DynamicOpLeftError(
            name or "<root>",
            f"{type(module).__name__} has no static twin",
            "give this module a to_static() (see edgeconv.dynamic.DynamicModule)",
        ) from exc


def _swap_dynamic(module: nn.Module, lowering: Lowering, prefix: str = "") -> None:
    for name, child in list(module.named_children()):
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(child, DynamicModule):
            setattr(module, name, _static_twin(child, path, lowering))
        else:
            _swap_dynamic(child, lowering, path)


def dynamic_modules_left(model: nn.Module) -> list[str]:
    """Qualified names of modules that still compute shifts at run time."""
    return [name or "<root>" for name, m in model.named_modules() if isinstance(m, DynamicModule)]


def to_deploy(model: nn.Module, lowering: Lowering = "slice", fold_bn: bool = True) -> nn.Module:
    """Return a static, eval-mode copy of ``model`` (the input is left untouched).

    Args:
        model: any ``nn.Module`` built from edgeconv ops and torch layers.
        lowering: ``"slice"`` (Pad/Slice/Concat) or ``"conv"`` (fixed depthwise kernels).
        fold_bn: fold every BatchNorm that directly follows a convolution into it.

    Raises:
        DynamicOpLeftError: a dynamic op survived the rewrite (its name is in the message).
    """
    check_lowering(lowering)
    deployed = copy.deepcopy(model)  # twins reuse their op's convs; BN folding edits them in place
    if isinstance(deployed, DynamicModule):
        deployed = _static_twin(deployed, "", lowering)
    else:
        _swap_dynamic(deployed, lowering)
    left = dynamic_modules_left(deployed)
    if left:
        raise DynamicOpLeftError(
            left[0],
            f"{type(deployed.get_submodule('' if left[0] == '<root>' else left[0])).__name__} "
            "is still dynamic after the deploy rewrite",
            "give this module a to_static() (see edgeconv.dynamic.DynamicModule)",
        )
    deployed.eval()
    if fold_bn:
        deployed = fold_batchnorms(deployed)
    for p in deployed.parameters():
        p.requires_grad_(False)
    return deployed


@torch.no_grad()
def max_deploy_error(model: nn.Module, deployed: nn.Module, x: torch.Tensor) -> float:
    """Largest absolute difference between ``model.eval()(x)`` and ``deployed(x)``."""
    was_training = model.training
    model.eval()
    try:
        return float((model(x) - deployed(x)).abs().max())
    finally:
        model.train(was_training)
