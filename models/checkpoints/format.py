"""The self-describing checkpoint: one file with everything export needs, loaded without pickle code.

Layout (a plain dict of str / int / float / list / dict / tensors, so ``torch.load(...,
weights_only=True)`` can read it):

    format: "edgeconv-checkpoint", format_version: 1, edgeconv_version
    model: registry name, config: its keyword arguments
    task: "sr" | "cls", scale: int | None
    normalization: {"mean": [...], "std": [...]} applied to RGB in [0, 1]
    input: {"layout": "NCHW", "color": "rgb", "range": [0, 1]}
    train_args: {...}, metrics: {...}
    state_dict: {name: tensor}
"""

from __future__ import annotations

import io
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgeconv import __version__
from edgeconv.errors import EdgeConvError, LayerArgumentError, UsageError, first_line
from edgeconv.models.nets.registry import create_model
from edgeconv.runtime.atomic_write import write_bytes_atomic

FORMAT = "edgeconv-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("format", "format_version", "model", "config", "task", "state_dict")


class CheckpointError(UsageError):
    """A checkpoint file that cannot be loaded safely or does not fit its model: a bad input (exit code 2)."""


@dataclass
class Checkpoint:
    """What a checkpoint file holds, with the model rebuilt from it."""

    model_name: str
    config: dict[str, Any]
    task: str
    state_dict: dict[str, torch.Tensor]
    scale: int | None = None
    normalization: dict[str, list[float]] = field(default_factory=lambda: {"mean": [0.0] * 3, "std": [1.0] * 3})
    train_args: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def build_model(self, path: str | Path = "checkpoint") -> nn.Module:
        """Rebuild the registered model from the stored config and load the weights strictly."""
        try:
            model = create_model(self.model_name, **self.config)
        except LayerArgumentError as exc:  # a value the model refuses (conv variant)
            raise CheckpointError(
                str(path), f"config does not fit model {self.model_name!r}: {exc.problem}", exc.note
            ) from exc
        except EdgeConvError as exc:
            raise CheckpointError(str(path), f"names model {self.model_name!r}: {exc.problem}", exc.note) from exc
        except (TypeError, ValueError) as exc:  # an unknown keyword, or a value a torch layer refuses
            raise CheckpointError(
                str(path), f"config does not fit model {self.model_name!r}: {first_line(exc)}"
            ) from exc
        check_state_dict(model, self.state_dict, path)
        model.load_state_dict(self.state_dict, strict=True)
        return model.eval()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "edgeconv_version": __version__,
            "model": self.model_name,
            "config": self.config,
            "task": self.task,
            "scale": self.scale,
            "normalization": self.normalization,
            "input": {"layout": "NCHW", "color": "rgb", "range": [0, 1]},
            "train_args": self.train_args,
            "metrics": self.metrics,
            "extra": self.extra,
            "state_dict": {k: v.detach().cpu().contiguous() for k, v in self.state_dict.items()},
        }


def check_state_dict(model: nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Raise one clear error for missing keys, unexpected keys or a wrong tensor shape."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing:
        raise CheckpointError(
            str(path), f"missing {len(missing)} weight(s), first {missing[0]!r}",
            "the checkpoint was saved from a different architecture or config",
        )
    if extra:
        raise CheckpointError(
            str(path), f"has {len(extra)} unexpected weight(s), first {extra[0]!r}",
            "the checkpoint was saved from a different architecture or config",
        )
    for name, tensor in expected.items():
        got = state[name]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(tensor.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise CheckpointError(
                str(path), f"weight {name!r} has shape {shape}, the model expects {tuple(tensor.shape)}"
            )


def save_checkpoint(checkpoint: Checkpoint, path: str | Path) -> Path:
    """Write ``checkpoint`` atomically (temp file + rename); returns the path."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(checkpoint.to_dict(), buffer)
    write_bytes_atomic(path, buffer.getvalue())
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint with ``weights_only=True``; every failure is one ``CheckpointError``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(str(path), "no such file" if not path.exists() else "is not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(str(path), "is empty")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols; we judge the file
            warnings.simplefilter("ignore")
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = _loader_reason(str(exc))
        if "global" in reason.lower():
            raise CheckpointError(
                str(path), "refused: it holds pickled objects that could run code",
                f"only tensors and plain data load (weights_only=True); loader said: {reason}",
            ) from exc
        raise CheckpointError(
            str(path), "refused by the weights-only loader: not a plain tensor checkpoint",
            f"loader said: {reason}",
        ) from exc
    except Exception as exc:  # noqa: BLE001 - zip, EOF, decode and index errors all mean a broken file
        raise CheckpointError(
            str(path), "is not a readable PyTorch checkpoint (truncated or corrupt)",
            f"re-export or re-download it; loader said: {type(exc).__name__}: {first_line(exc, 120)}",
        ) from exc
    return _from_dict(raw, path)


def _loader_reason(message: str) -> str:
    """The one informative line of torch's weights-only refusal."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        if "WeightsUnpickler error" in line:
            rest = line.split("WeightsUnpickler error:", 1)[1].strip() or (lines[i + 1] if i + 1 < len(lines) else "")
            return rest[:160]
    return (lines[0] if lines else "refused")[:160]


def _from_dict(raw: Any, path: Path) -> Checkpoint:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(
            str(path), "is a PyTorch file but not an edgeconv checkpoint",
            "save it with edgeconv.models.checkpoints.format.save_checkpoint or `edgeconv train`",
        )
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise CheckpointError(str(path), f"lacks the field {missing[0]!r}")
    if raw["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            str(path), f"has format version {raw['format_version']}, this edgeconv reads <= {FORMAT_VERSION}",
            "upgrade edgeconv",
        )
    if not isinstance(raw["state_dict"], dict):
        raise CheckpointError(str(path), "state_dict is not a mapping of tensors")
    return Checkpoint(
        model_name=raw["model"],
        config=dict(raw["config"]),
        task=raw["task"],
        state_dict=raw["state_dict"],
        scale=raw.get("scale"),
        normalization=raw.get("normalization") or {"mean": [0.0] * 3, "std": [1.0] * 3},
        train_args=raw.get("train_args") or {},
        metrics=raw.get("metrics") or {},
        extra=raw.get("extra") or {},
    )


def numpy_runner(model: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """``model`` as a numpy function (NCHW float32 in and out, no autograd): the PyTorch reference for ONNX runs."""

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(x))).numpy()

    return run


def checkpoint_runner(path: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """The model of a checkpoint file as a numpy function (see ``numpy_runner``)."""
    return numpy_runner(load_checkpoint(path).build_model(path))
