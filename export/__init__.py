"""Deploy rewrite, ONNX export and graph audit (needs the ``export`` extra: torch, onnx)."""

from edgeconv.export.deploy.rewrite import dynamic_modules_left, max_deploy_error, to_deploy

__all__ = ["dynamic_modules_left", "max_deploy_error", "to_deploy"]
