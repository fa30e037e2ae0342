"""Write the shipped FP32 ONNX models (``runtime/shipped``) from the shipped checkpoints (``models/weights``).

Run after a shipped checkpoint changes: ``.venv/bin/python tools/ship_models.py``. Each file is what
``edgeconv export CKPT`` writes (checked against PyTorch); ``tests/runtime/test_shipped_models.py``
fails when a file and its checkpoint disagree.
"""

from __future__ import annotations

from edgeconv.export.graph.from_checkpoint import export_checkpoint
from edgeconv.export.graph.luma_plane import export_luma_plane
from edgeconv.models.checkpoints.shipped import SHIPPED_CHECKPOINTS
from edgeconv.runtime.shipped_models import SHIPPED_MODELS, for_onnxruntime, luma_plane_form


def main() -> None:
    for name, generic in SHIPPED_MODELS.items():
        # PReLU kept (OpenVINO, TensorRT fuse it); the ONNX Runtime form writes it as Mul + Max
        for onnx_path, target in ((generic, "openvino"), (for_onnxruntime(generic), "onnxruntime")):
            onnx_path.unlink(missing_ok=True)
            done = export_checkpoint(SHIPPED_CHECKPOINTS[name], onnx_path, target_backend=target)
            print(f"{name}: {SHIPPED_CHECKPOINTS[name].name} -> {onnx_path} "
                  f"({onnx_path.stat().st_size / 1024:.1f} KiB, max abs vs PyTorch {done.max_abs_error:.1e})")
        # the Y-plane forms video runs on the decoder's luma plane (checked against the RGB model's luma)
        plane = luma_plane_form(generic)
        for onnx_path, target in ((plane, "openvino"), (for_onnxruntime(plane), "onnxruntime")):
            onnx_path.unlink(missing_ok=True)
            done = export_luma_plane(SHIPPED_CHECKPOINTS[name], onnx_path, target_backend=target)
            print(f"{name}: Y-plane form -> {onnx_path} (max abs vs the RGB model's luma {done.max_abs_error:.1e})")


if __name__ == "__main__":
    main()
