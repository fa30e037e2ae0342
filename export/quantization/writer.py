"""The one place a quantized artifact (and the job's JSON report) is written.

The chosen candidate is compacted (short tensor names, no shapes, no stale simplifier metadata), given the
FP32 model's facts plus its own (``edgeconv.precision``; for INT8 ``edgeconv.quantization``: calibration,
scheme and target, layers kept in FP32), checked by ``onnx.checker`` and written atomically. The same
outcome always gives the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx

from edgeconv.export.graph.compact import STALE_METADATA_PREFIXES, compact_artifact
from edgeconv.export.graph.from_checkpoint import set_metadata
from edgeconv.export.quantization.outcome import QuantizeOutcome
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.model_facts import PREFIX


def quantization_facts(outcome: QuantizeOutcome) -> dict[str, str]:
    """The metadata the artifact adds to the FP32 model's: its precision and, for INT8, how it was quantized.

    Args:
        outcome: the job's outcome (its ``chosen`` candidate is the artifact).

    Returns:
        ``metadata_props`` entries (``edgeconv.precision``, ``edgeconv.quantization`` as JSON for INT8).
    """
    facts = {f"{PREFIX}precision": outcome.chosen.precision}
    if outcome.chosen.precision != "int8":
        return facts
    config = outcome.config
    facts[f"{PREFIX}quantization"] = json.dumps({
        "method": config.method, "format": config.quant_format,
        "per_channel": config.per_channel, "reduce_range": outcome.reduce_range,
        "activation_type": config.activation_type, "weight_type": config.weight_type,
        "calibration_images": outcome.calib_images,
        "kept_float": outcome.kept_float,
        "symmetric_activations": config.symmetric_activations, "float_bias": config.float_bias,
        "qat_steps": len(outcome.qat_losses) if outcome.qat_losses else 0,
        **(outcome.scheme.as_json() if outcome.scheme else {}),
    })
    return facts


def artifact_bytes(outcome: QuantizeOutcome, fp32_metadata: dict[str, str]) -> bytes:
    """The artifact as it is written: the chosen model compacted, with the FP32 facts and its own.

    Args:
        outcome: the job's outcome; its chosen model is not changed.
        fp32_metadata: the FP32 model's ``metadata_props`` (stale simplifier entries are dropped).

    Returns:
        The serialized, checked ONNX model.
    """
    model = compact_artifact(outcome.chosen.model)
    kept = {k: v for k, v in fp32_metadata.items() if not k.startswith(STALE_METADATA_PREFIXES)}
    set_metadata(model, {**kept, **quantization_facts(outcome)})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_artifact(outcome: QuantizeOutcome, fp32_metadata: dict[str, str], output: Path) -> None:
    """Write the chosen artifact atomically (``artifact_bytes``).

    Args:
        outcome: the job's outcome, within budget.
        fp32_metadata: the FP32 model's ``metadata_props``.
        output: where the artifact goes (replaced when it exists: the CLI refuses that without ``--force``).
    """
    write_bytes_atomic(output, artifact_bytes(outcome, fp32_metadata))


def write_report(outcome: QuantizeOutcome, path: Path) -> None:
    """Write the JSON report atomically, whether or not the artifact is written.

    Args:
        outcome: the job's outcome (``QuantizeOutcome.as_json``).
        path: where the report goes.
    """
    write_bytes_atomic(path, json.dumps(outcome.as_json(), indent=2).encode())
