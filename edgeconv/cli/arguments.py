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
from edgeconv.runtime.sizes import parse_hw  # noqa: F401 - re-exported: the library parses sizes too

Force = Annotated[bool, typer.Option(help="Overwrite existing output files.")]
# 0 is every inference command's default: the back end's own choice (every core), as a device runs it
Threads = Annotated[int, typer.Option(help="Inference threads (0: the back end's own choice, every core).")]
Runs = Annotated[int, typer.Option(help="Timed runs per model and back end, after warm-up.")]
Backends = Annotated[
    list[str], typer.Option("--backend", help="Back ends to run: onnxruntime, openvino, tensorrt, or all usable.")
]
OneBackend = Annotated[str, typer.Option("--backend", help="onnxruntime, openvino or tensorrt.")]
OutFile = Annotated[Path | None, typer.Option("-o", "--output", help="Output file (default: beside the input).")]
OutDir = Annotated[Path, typer.Option("--out", help="Output folder.")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Also write the result as JSON.")]
Images = Annotated[Path | None, typer.Option(help="Folder of real images (default: Set5 from shared/data/sr).")]
Checkpoint = Annotated[Path, typer.Argument(help="An edgeconv checkpoint (.pt).")]
OnnxModel = Annotated[Path, typer.Argument(help="An ONNX model written by edgeconv export or quantize.")]
Size = Annotated[str, typer.Option(help="HxW input size, e.g. 360x640.")]


def refuse_overwrite(path: Path | None, force: bool) -> None:
    """Refuse to replace an existing file without ``--force``, and a target whose folder is missing."""
    if path is None:
        return
    if path.exists() and not force:
        raise UsageError(str(path), "already exists", "pass --force to overwrite it")
    if not path.parent.is_dir():
        raise UsageError(str(path), f"its folder {path.parent} does not exist", "create it first")
