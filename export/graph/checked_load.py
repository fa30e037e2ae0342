"""Load an ONNX file the safe way: it must parse, pass ``onnx.checker``, and keep its data beside it.

External-data tensors name a file relative to the model; a location that resolves outside the
model's folder (``../../etc/passwd``, an absolute path, a symlink out) is refused before anything
is read, so a model file cannot make us read arbitrary files.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from edgeconv.errors import UsageError, first_line


class OnnxFileError(UsageError):
    """An ONNX file that is missing, not ONNX, invalid, or reaches outside its folder: a bad input (exit code 2)."""


def _external_locations(model: onnx.ModelProto) -> list[str]:
    """The ``location`` of every initializer stored as external data (subgraphs included)."""
    locations = []
    for tensor in onnx.external_data_helper._get_all_tensors(model):  # noqa: SLF001 - onnx's own walker
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            entries = {e.key: e.value for e in tensor.external_data}
            locations.append(entries.get("location", ""))
    return locations


def load_onnx_checked(path: str | Path) -> onnx.ModelProto:
    """Parse ``path``, confine its external data to its folder, load that data, run ``onnx.checker``."""
    path = Path(path)
    if not path.is_file():
        raise OnnxFileError(str(path), "no such file" if not path.exists() else "is not a file")
    if path.stat().st_size == 0:
        raise OnnxFileError(str(path), "is empty")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, UnicodeDecodeError) as exc:
        raise OnnxFileError(
            str(path), "is not an ONNX model (the protobuf does not parse)", "export one with: edgeconv export CKPT"
        ) from exc
    if not model.graph.node and not model.graph.output:
        raise OnnxFileError(str(path), "is not an ONNX model (it parses, but holds no graph)")
    folder = path.resolve().parent
    for location in _external_locations(model):
        target = (folder / location).resolve()
        if not location or Path(location).is_absolute() or not target.is_relative_to(folder):
            raise OnnxFileError(
                str(path), f"refers to external data {location!r} outside its folder",
                "external data must sit in the model's own folder",
            )
        if not target.is_file():
            raise OnnxFileError(str(path), f"refers to external data {location!r}, which does not exist")
    if model.graph.initializer and _external_locations(model):
        onnx.load_external_data_for_model(model, str(folder))
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise OnnxFileError(str(path), f"fails onnx.checker: {first_line(exc)}") from exc
    return model
