"""From a module or checkpoint to a checked, simplified, audited ONNX graph."""
