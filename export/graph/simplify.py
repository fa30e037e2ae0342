"""Graph simplification: onnxsim, else onnxslim, else the graph as exported (and say which).

onnxsim folds the shape arithmetic the TorchScript exporter emits around Pad and Slice into
constants, keeping the batch, height and width axes dynamic.
"""

from __future__ import annotations

import onnx


def simplify_onnx(model: onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    """Return ``(simplified model, tool)`` where tool is ``onnxsim``, ``onnxslim`` or ``none``."""
    try:
        import onnxsim

        simplified, ok = onnxsim.simplify(model)
        if ok:
            return simplified, "onnxsim"
    except Exception:  # noqa: BLE001 - any onnxsim failure falls through to the next tool
        pass
    try:
        import onnxslim

        return onnxslim.slim(model), "onnxslim"
    except Exception:  # noqa: BLE001
        return model, "none"
