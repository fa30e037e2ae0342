"""What an exported model is, for ``edgeconv info model.onnx``: its inputs and outputs, facts, INT8 scheme, identity.

Polygraphy's ``inspect model`` for our files, torch-free: ONNX Runtime reads the graph's inputs and outputs,
``model_facts`` the metadata; the opset comes from ``onnx`` when it is installed (the export extra).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from edgeconv.errors import UsageError, first_line
from edgeconv.runtime.cpu.int8_targets import scheme_from_metadata
from edgeconv.runtime.model_facts import read_model_facts


def file_sha256(path: str | Path) -> str:
    """A file's identity, as reports record it: the hex SHA-256 of its bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plain_text(value: object) -> str:
    """A value as a report prints it, never a Python repr: a mapping as ``key=value, ...``, a list as ``a, b``, a
    float to 6 significant digits, anything else as ``str``.

    Args:
        value: a config, a metric, a name ...

    Returns:
        The text.
    """
    if isinstance(value, dict):
        return ", ".join(f"{k}={plain_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _shape(shape: list) -> str:
    """An input's or output's shape as a person writes it: ``batch x 3 x height x width``."""
    return " x ".join(str(d) if d not in (None, "") else "?" for d in shape)


def _opset(path: Path) -> str:
    try:
        import onnx
    except ImportError:
        return "(install edgeconv[export] to read it)"
    model = onnx.load(str(path), load_external_data=False)
    return ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)


def describe_onnx(path: Path) -> dict[str, str]:
    """Rows describing an ONNX model file.

    Args:
        path: an ``.onnx`` file (ours or any other).

    Returns:
        Ordered rows: size, sha256, opset, every input and output (name, shape, type), the edgeconv facts
        (task, scale, model, precision, input colour and channels) and, for INT8, its target and scheme.

    Raises:
        UsageError: the file is missing or ONNX Runtime cannot read it.
    """
    import onnxruntime as ort

    if not path.is_file():
        raise UsageError(str(path), "does not exist")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT's own error, as one line naming the file
        raise UsageError(str(path), f"is not a readable ONNX model: {first_line(exc)}") from exc
    facts = read_model_facts(path)
    rows = {"file size": f"{path.stat().st_size / 1024:.1f} KiB",
            "sha256": file_sha256(path), "opset": _opset(path)}
    rows |= {f"input {i.name}": f"{_shape(i.shape)}, {i.type}" for i in session.get_inputs()}
    rows |= {f"output {o.name}": f"{_shape(o.shape)}, {o.type}" for o in session.get_outputs()}
    rows |= {"task": facts.task, "scale": str(facts.scale), "model": facts.model, "precision": facts.precision,
             "input": f"{facts.color}, {facts.input_channels} channel(s), values {facts.value_range[0]:g} to "
                      f"{facts.value_range[1]:g}"}
    quantization = facts.extra.get("quantization")
    scheme = scheme_from_metadata(quantization)
    if scheme is not None:
        target = json.loads(quantization or "{}").get("target", "?")
        rows["INT8"] = f"{scheme.name} for {target}"
    for key in ("source_checkpoint", "source_checkpoint_sha256", "edgeconv_version", "form"):
        if key in facts.extra:
            rows[key.replace("_", " ")] = facts.extra[key]
    return rows
