"""What an exported model is, read from its ONNX ``metadata_props``: task, scale, normalisation, layout.

``edgeconv export`` writes these facts (keys prefixed ``edgeconv.``) so the device needs nothing
but the ``.onnx`` file to turn an image into the model's input and its output back into an image.
numpy only; reading a file goes through ONNX Runtime, the one back end every install has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeconv.errors import UsageError, first_line

PREFIX = "edgeconv."


@dataclass(frozen=True)
class ModelFacts:
    """The pre- and post-processing contract of one exported model."""

    task: str = "unknown"  # "sr" | "cls" | "unknown"
    scale: int | None = None
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    layout: str = "NCHW"
    color: str = "rgb"
    value_range: tuple[float, float] = (0.0, 1.0)
    model: str = "unknown"
    precision: str = "fp32"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def input_channels(self) -> int:
        """Channels of the model's input: 3 (RGB), or 1 for a Y-plane form (``input_channels`` in the metadata)."""
        return int(self.extra.get("input_channels", "3"))

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` entries (all strings) that carry these facts."""
        props = {
            "task": self.task,
            "scale": "" if self.scale is None else str(self.scale),
            "normalization": json.dumps({"mean": list(self.mean), "std": list(self.std)}),
            "input_layout": self.layout,
            "input_color": self.color,
            "input_range": json.dumps(list(self.value_range)),
            "model": self.model,
            "precision": self.precision,
            **self.extra,
        }
        return {PREFIX + k: v for k, v in props.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], source: str = "model") -> ModelFacts:
        """Parse ``metadata_props``; a model without edgeconv facts gets the defaults (RGB in [0, 1]).

        Args:
            props: the model's ``metadata_props`` as a dict.
            source: what to name in the error (the file).

        Returns:
            The facts.

        Raises:
            UsageError: edgeconv keys whose values cannot be read.
        """
        ours = {k.removeprefix(PREFIX): v for k, v in props.items() if k.startswith(PREFIX)}
        known = {"task", "scale", "normalization", "input_layout", "input_color", "input_range", "model", "precision"}
        try:
            norm = json.loads(ours.get("normalization", '{"mean": [0, 0, 0], "std": [1, 1, 1]}'))
            value_range = json.loads(ours.get("input_range", "[0, 1]"))
            return cls(
                task=ours.get("task", "unknown"),
                scale=int(ours["scale"]) if ours.get("scale") else None,
                mean=tuple(float(v) for v in norm["mean"]),
                std=tuple(float(v) for v in norm["std"]),
                layout=ours.get("input_layout", "NCHW"),
                color=ours.get("input_color", "rgb"),
                value_range=(float(value_range[0]), float(value_range[1])),
                model=ours.get("model", "unknown"),
                precision=ours.get("precision", "fp32"),
                extra={k: v for k, v in ours.items() if k not in known},
            )
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise UsageError(
                source, f"has unreadable edgeconv metadata: {exc}", "re-export it with edgeconv export"
            ) from exc

    def from_unit(self, x: np.ndarray) -> np.ndarray:
        """Image units to model input: scaled to ``value_range`` and normalised by ``mean``/``std``.

        Args:
            x: float (N, C, H, W) in [0, 1].

        Returns:
            Contiguous float32 (N, C, H, W).
        """
        lo, hi = self.value_range
        mean = np.asarray(self.mean, np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(1, -1, 1, 1)
        return np.ascontiguousarray(((x * (hi - lo) + lo - mean) / std).astype(np.float32))

    def unit_step(self) -> float:
        """How far a change of 1 in [0, 1] image units moves the model input.

        Returns:
            ``(hi - lo) / std``, averaged over channels.
        """
        lo, hi = self.value_range
        return float(np.mean((hi - lo) / np.asarray(self.std, np.float64)))

    def to_input(self, image: np.ndarray) -> np.ndarray:
        """An image as the model's input.

        Args:
            image: uint8 (H, W, 3) RGB.

        Returns:
            float32 (1, 3, H, W), scaled to ``value_range`` and normalised.
        """
        return self.from_unit(image.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)

    def to_image(self, output: np.ndarray) -> np.ndarray:
        """An SR output back to an image, clipped and rounded.

        Args:
            output: float (1, C, H, W) in ``value_range`` (values outside it are clipped).

        Returns:
            uint8 (H, W, C) in [0, 255].
        """
        lo, hi = self.value_range
        x = output[0].astype(np.float32, copy=True)  # in place from here: 4 ms, not 10, for a 1280x720 frame
        if (lo, hi) != (0.0, 1.0):
            x -= lo
            x /= hi - lo
        np.clip(x, 0.0, 1.0, out=x)
        x *= 255.0
        np.rint(x, out=x)
        return np.ascontiguousarray(x.astype(np.uint8).transpose(1, 2, 0))


def read_model_facts(path: str | Path) -> ModelFacts:
    """The facts stored in an ONNX file's metadata (read through ONNX Runtime, no ``onnx`` needed).

    Args:
        path: an ONNX file.

    Returns:
        Its ``ModelFacts`` (the defaults for a model edgeconv did not write).

    Raises:
        UsageError: ONNX Runtime cannot load the file, or its edgeconv metadata is unreadable.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises several types for unreadable files
        raise UsageError(str(path), f"ONNX Runtime cannot load it: {first_line(exc, 160)}") from exc
    return ModelFacts.from_props(dict(session.get_modelmeta().custom_metadata_map), str(path))


def refuse_byte_output_form(path: str | Path, facts: ModelFacts) -> None:
    """A model whose output is 8-bit pixels (``NAME.u8.onnx``, for ``upscale`` only) is refused everywhere else in
    one line naming the float model beside it: scores, INT8 calibration and ERFs need the float output.

    Raises:
        UsageError: ``facts`` say the output is uint8.
    """
    from edgeconv.runtime.shipped_models import float_form_of_byte_output

    if facts.extra.get("output_dtype") != "uint8":
        return
    beside = float_form_of_byte_output(Path(path))
    raise UsageError(str(path), "is an 8-bit output form (uint8 pixels out; upscale loads it by itself for 8-bit "
                     "images)", f"give the float model {beside} instead")
