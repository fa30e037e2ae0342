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
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "opset": _opset(path)}
    rows |= {f"input {i.name}": f"{i.shape} {i.type}" for i in session.get_inputs()}
    rows |= {f"output {o.name}": f"{o.shape} {o.type}" for o in session.get_outputs()}
    rows |= {"task": facts.task, "scale": str(facts.scale), "model": facts.model, "precision": facts.precision,
             "input": f"{facts.color}, {facts.input_channels} channel(s), range {facts.value_range}"}
    quantization = facts.extra.get("quantization")
    scheme = scheme_from_metadata(quantization)
    if scheme is not None:
        target = json.loads(quantization or "{}").get("target", "?")
        rows["INT8"] = f"{scheme.name} for {target}"
    for key in ("source_checkpoint", "source_checkpoint_sha256", "edgeconv_version", "form"):
        if key in facts.extra:
            rows[key.replace("_", " ")] = facts.extra[key]
    return rows
