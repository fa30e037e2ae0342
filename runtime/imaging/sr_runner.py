"""An SR model loaded once on its back end for many files: a folder run here, or one Ray actor's share of one."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.tiling import Run
from edgeconv.runtime.model_facts import ModelFacts

if TYPE_CHECKING:
    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.choices import BackendName


@dataclass
class LoadedModel:
    """A loaded SR model and what running it on files needs: back-end options, run, facts, tile overlap."""

    options: BackendOptions
    run: Run
    facts: ModelFacts
    label: str  # the back end's label
    overlap: int  # tile overlap: the model's receptive radius + 1 (0 when untiled)
    run_bytes: Run | None = None  # the model's 8-bit output form (``NAME.u8.onnx`` beside it), for 8-bit images


BYTE_FORM_BACKENDS = ("onnxruntime", "openvino")  # TensorRT keeps the float model (its uint8 I/O rules differ)


def load_model(backend: BackendName, model_file: Path, options: BackendOptions, tiled: bool) -> LoadedModel:
    """Load ``model_file`` on ``backend``, check it is an SR model, and measure its tile overlap (when ``tiled``)."""
    from edgeconv.runtime.backends.registry import create_backend
    from edgeconv.runtime.imaging.tiling import receptive_radius

    runner = create_backend(backend, model_file, options)
    facts = runner.facts
    if facts.task != "sr" or not facts.scale:
        raise UsageError(str(model_file), f"is not a super-resolution model (task {facts.task!r})",
                         "export an SR checkpoint with edgeconv export")
    overlap = receptive_radius(runner.run, facts.scale) + 1 if tiled else 0
    return LoadedModel(options, runner.run, facts, runner.label, overlap, load_byte_form(backend, model_file, options))


def load_byte_form(backend: BackendName, model_file: Path, options: BackendOptions) -> Run | None:
    """The 8-bit output form's run when ``NAME.u8.onnx`` lies beside the model (``edgeconv export`` writes it),
    else None: the same pixels with the output conversion inside the graph (``export.graph.byte_output``)."""
    from edgeconv.runtime.backends.registry import create_backend
    from edgeconv.runtime.shipped_models import byte_output_form

    path = byte_output_form(Path(model_file))
    if str(backend) not in BYTE_FORM_BACKENDS or not path.is_file():
        return None
    return create_backend(backend, path, replace(options, byte_output=True)).run
