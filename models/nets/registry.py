"""Model registry: ``@register_model`` on a factory, ``create_model(name, **kwargs)`` to build.

An unknown name fails listing the known ones (as timm's ``_registry.py`` does).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from edgeconv.errors import UsageError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a factory under its function name."""
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build a registered model; raises ``UsageError`` naming the known models otherwise."""
    if name not in _REGISTRY:
        raise UsageError(
            f"model {name!r}", "is not a registered model", f"known models: {', '.join(list_models())}"
        )
    return _REGISTRY[name](**kwargs)
