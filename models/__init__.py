"""Models, their checkpoints, data and training (``edgeconv.models``).

``nets/`` holds the definitions and the registry, ``checkpoints/`` the self-describing file format and the
shipped weights' names, ``data/`` the SR and classification data, ``training/`` the training runs. The
registry is re-exported here, and importing this package registers every model.
"""

from edgeconv.models.nets import luma_sr, resnet_cifar, sr_nets  # noqa: F401  (registers models)
from edgeconv.models.nets.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
