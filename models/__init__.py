"""Model definitions and the registry (``edgeconv.models``)."""

from edgeconv.models import luma_sr, resnet_cifar, sr_nets  # noqa: F401  (registers models)
from edgeconv.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
