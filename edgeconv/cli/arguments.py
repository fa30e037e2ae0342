"""The CLI's shared vocabulary: option types declared once (``Annotated`` aliases) and the argument checks
several commands share (``HxW`` sizes, outputs that must not be clobbered).

A command declares ``force: Force = False`` instead of repeating the option's flag and help text, so
every command spells, documents and defaults an option the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeconv.errors import UsageError
from edgeconv.runtime.choices import BackendChoice, BackendName, Choice, InferenceDevice, InferencePrecision
from edgeconv.runtime.sizes import parse_hw  # noqa: F401 - re-exported: the library parses sizes too

Force = Annotated[bool, typer.Option(help="Overwrite existing output files.")]
# 0 is every inference command's default: the back end's own choice (every core), as a device runs it
Threads = Annotated[int, typer.Option(help="Inference threads (0: the back end's own choice, every core).")]
Runs = Annotated[int, typer.Option(help="Timed runs per model and back end, after warm-up.")]
# closed sets are enums (runtime/choices.py): --help lists them and typer refuses a typo naming them
Backends = Annotated[list[BackendChoice], typer.Option(
    "--backend", help="Back ends to run (repeat the option; each runs once); all: every one usable here.")]
OneBackend = Annotated[BackendName, typer.Option("--backend", help="The back end that runs the model.")]
Device = Annotated[InferenceDevice, typer.Option(
    case_sensitive=False,
    help="Back-end device: CPU; GPU, NPU or AUTO for OpenVINO; GPU (= CUDA) or TENSORRT providers for ONNX Runtime.")]
InferencePrecisionHint = Annotated[InferencePrecision | None, typer.Option(
    "--precision", case_sensitive=False,
    help="Compute precision: OpenVINO's hint (default fp32; no int8), TensorRT's engine (default: the model's own; "
         "no bf16). ONNX Runtime runs the model as it is.")]
OutFile = Annotated[Path | None, typer.Option("-o", "--output", help="Output file (default: beside the input).")]
OutDir = Annotated[Path, typer.Option("--out", help="Output folder.")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Also write the result as JSON.")]
Images = Annotated[Path | None, typer.Option(help="Folder of real images (default: Set5 from shared/data/sr).")]
Checkpoint = Annotated[Path, typer.Argument(help="An edgeconv checkpoint (.pt).")]
Size = Annotated[str, typer.Option(help="HxW input size, e.g. 360x640.")]


def plain(choice: Choice | None) -> str | None:
    """An enum option's value as the plain string the model and export settings take (None stays None)."""
    return None if choice is None else str(choice.value)


def refuse_overwrite(path: Path | None, force: bool) -> None:
    """Refuse to replace an existing file without ``--force``, and a target whose folder is missing."""
    if path is None:
        return
    if path.exists() and not force:
        raise UsageError(str(path), "already exists", "pass --force to overwrite it")
    if not path.parent.is_dir():
        raise UsageError(str(path), f"its folder {path.parent} does not exist", "create it first")
