"""The shipped SR models as FP32 ONNX files, so the device can upscale without torch or an export step.

``photo`` is the default of ``edgeconv upscale``: trained on mixed degradations (aliased, blurred, JPEG,
noisy downscales), never worse than a bicubic resize on any of them. ``bicubic`` is the benchmark
model (PIL bicubic downscales). Each file is ``edgeconv export`` of the checkpoint of the same name in
``models/weights`` (``tools/ship_models.py`` writes them; a test keeps them equal), twice:
``NAME.onnx`` keeps PReLU (OpenVINO and TensorRT fuse it into the conv) and ``NAME.ort.onnx`` writes it as
``Mul`` + ``Max``, which ONNX Runtime ran faster on the AMD EPYC it was measured on (30 % on one thread, 5 % end
to end on two; ``edgeconv.export.graph.activations``) - not on an Intel Xeon with ONNX Runtime 1.32, where the
PReLU file was 5-7 % faster (README, speed table), so ``upscale`` measures which one ONNX Runtime loads
(``backends.ort_form``) - and OpenVINO slower (it cannot fuse the pair: 18.4 vs 21.4 ms).
``NAME.y.onnx`` / ``NAME.y.ort.onnx`` are the Y-plane forms (``edgeconv.export.graph.luma_plane``) that
video runs on the decoder's luma plane; ``NAME.u8.onnx`` / ``NAME.u8.ort.onnx`` the 8-bit output forms
(``edgeconv.export.graph.byte_output``) that ``upscale`` runs on 8-bit images. Every form ships at x2, x3 and x4.
"""

from __future__ import annotations

from pathlib import Path

from edgeconv.errors import UsageError

SHIPPED_DIR = Path(__file__).with_name("shipped")
SHIPPED_MODELS = {"photo": SHIPPED_DIR / "sr_x2_photo.onnx", "bicubic": SHIPPED_DIR / "sr_x2_bicubic.onnx"}
DEFAULT_MODEL = "photo"
SCALES = (2, 3, 4)


def shipped_path(name: str, scale: int = 2) -> Path:
    """Where the shipped model ``name`` of ``scale`` lies (``sr_x3_photo.onnx``); it may not be shipped yet.

    Args:
        name: a shipped model's name (``photo``, ``bicubic``).
        scale: 2, 3 or 4.

    Returns:
        The generic (OpenVINO/TensorRT) form's path.
    """
    return SHIPPED_DIR / f"sr_x{scale}_{name}.onnx"


def for_onnxruntime(path: Path) -> Path:
    """The ONNX Runtime form of a shipped file.

    Args:
        path: ``NAME.onnx``.

    Returns:
        ``NAME.ort.onnx`` beside it (PReLU written as Mul + Max).
    """
    return path.with_suffix(".ort.onnx")


def byte_output_form(path: Path) -> Path:
    """The 8-bit output form of a model file (uint8 pixels out; ``upscale`` runs it on 8-bit images).

    Args:
        path: ``NAME.onnx`` or ``NAME.ort.onnx``.

    Returns:
        ``NAME.u8.onnx`` / ``NAME.u8.ort.onnx`` beside it.
    """
    ort = path.name.endswith(".ort.onnx")
    stem = path.name.removesuffix(".ort.onnx").removesuffix(".onnx")
    return path.with_name(f"{stem}.u8{'.ort' if ort else ''}.onnx")


def float_form_of_byte_output(path: Path) -> Path:
    """The float model an 8-bit output form was made from: ``NAME.u8.onnx`` -> ``NAME.onnx``,
    ``NAME.u8.ort.onnx`` -> ``NAME.ort.onnx`` (the inverse of ``byte_output_form``)."""
    return path.with_name(path.name.replace(".u8.ort.onnx", ".ort.onnx").replace(".u8.onnx", ".onnx"))


def luma_plane_form(path: Path) -> Path:
    """The Y-plane form of a model file (one channel in and out; video runs it on the Y plane).

    Args:
        path: ``NAME.onnx``.

    Returns:
        ``NAME.y.onnx`` beside it.
    """
    return path.with_suffix(".y.onnx")


def resolve_video_model(spec: str | Path, backend: str = "onnxruntime", scale: int = 2) -> Path:
    """Like ``resolve_model``, but the Y-plane form when there is one.

    Args:
        spec: a shipped model's name or an .onnx path (its ``NAME.y.onnx`` is looked for beside it).
        backend: the back end that will load it (ONNX Runtime gets the ``.ort.onnx`` form when shipped).

    Returns:
        The Y-plane file, or else the RGB model itself (which video then runs on RGB frames).

    Raises:
        UsageError: as ``resolve_model``.
    """
    path = resolve_model(spec, "openvino", scale)
    plane = luma_plane_form(path)
    if plane.is_file():
        return plane if backend != "onnxruntime" or not for_onnxruntime(plane).is_file() else for_onnxruntime(plane)
    return resolve_model(spec, backend, scale)


def resolve_model(spec: str | Path, backend: str = "onnxruntime", scale: int = 2) -> Path:
    """The file ``backend`` should load for a shipped model's name or a path.

    Args:
        spec: ``photo``, ``bicubic``, or a path to an .onnx file.
        backend: the back end that will load it; ONNX Runtime gets a shipped model's ``.ort.onnx`` form.
        scale: the shipped model's scale (a path is taken as it is; its scale is in its metadata).

    Returns:
        The model file.

    Raises:
        UsageError: a shipped file missing from the installation, or a name that is neither shipped nor a file
            (listing both choices).
    """
    text = str(spec)
    if text in SHIPPED_MODELS:
        generic = shipped_path(text, scale)
        path = generic if backend != "onnxruntime" else for_onnxruntime(generic)
        if not path.is_file():
            raise UsageError(str(path), "is missing from this installation", "reinstall edgeconv")
        return path
    path = Path(spec)
    if not path.exists():
        raise UsageError(text, "does not exist",
                         f"give an .onnx file or a shipped model: {', '.join(SHIPPED_MODELS)}")
    return path
