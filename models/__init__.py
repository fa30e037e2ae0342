"""Model definitions and the registry (``edgeconv.models``)."""

from edgeconv.models import luma_sr, sr_nets  # noqa: F401  (registers the SR nets)
from edgeconv.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
