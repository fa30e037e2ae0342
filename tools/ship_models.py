"""Write the shipped FP32 ONNX models (``runtime/shipped``) from the shipped checkpoints (``models/weights``).

Run after a shipped checkpoint changes: ``.venv/bin/python tools/ship_models.py``. Each file is what
``edgeconv export CKPT`` writes (checked against PyTorch); ``tests/runtime/test_shipped_models.py``
fails when a file and its checkpoint disagree.
"""

from __future__ import annotations

from edgeconv.export.graph.byte_output import write_uint8_output_form
from edgeconv.export.graph.from_checkpoint import export_checkpoint
from edgeconv.export.graph.luma_plane import export_luma_plane
from edgeconv.models.checkpoints.shipped import SCALED_CHECKPOINTS, SHIPPED_CHECKPOINTS
from edgeconv.runtime.shipped_models import (
    SHIPPED_MODELS,
    byte_output_form,
    for_onnxruntime,
    luma_plane_form,
    shipped_path,
)


def main() -> None:
    models = [(name, SHIPPED_CHECKPOINTS[name], generic) for name, generic in SHIPPED_MODELS.items()]
    models += [(f"{name} x{scale}", checkpoint, shipped_path(name, scale))
               for (scale, name), checkpoint in SCALED_CHECKPOINTS.items()]
    for name, checkpoint, generic in models:
        # PReLU kept (OpenVINO, TensorRT fuse it); the ONNX Runtime form writes it as Mul + Max
        for onnx_path, target in ((generic, "openvino"), (for_onnxruntime(generic), "onnxruntime")):
            onnx_path.unlink(missing_ok=True)
            done = export_checkpoint(checkpoint, onnx_path, target_backend=target)
            print(f"{name}: {checkpoint.name} -> {onnx_path} "
                  f"({onnx_path.stat().st_size / 1024:.1f} KiB, max abs vs PyTorch {done.max_abs_error:.1e})")
            # the 8-bit output form `upscale` runs on 8-bit images (checked against this file's pixels)
            flips = write_uint8_output_form(onnx_path, byte_output_form(onnx_path))
            print(f"{name}: 8-bit output form -> {byte_output_form(onnx_path)} ({flips} values a level apart)")
        # the Y-plane forms video runs on the decoder's luma plane (checked against the RGB model's luma)
        plane = luma_plane_form(generic)
        for onnx_path, target in ((plane, "openvino"), (for_onnxruntime(plane), "onnxruntime")):
            onnx_path.unlink(missing_ok=True)
            done = export_luma_plane(checkpoint, onnx_path, target_backend=target)
            print(f"{name}: Y-plane form -> {onnx_path} (max abs vs the RGB model's luma {done.max_abs_error:.1e})")


if __name__ == "__main__":
    main()
