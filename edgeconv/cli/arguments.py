"""The CLI's shared vocabulary: option types declared once (``Annotated`` aliases) and the argument checks
several commands share (``HxW`` sizes, outputs that must not be clobbered).

A command declares ``force: Force = False`` instead of repeating the option's flag and help text, so
every command spells, documents and defaults an option the same way: ``-o/--out`` the main output,
``--json`` a JSON report, ``--report`` a report a person reads, ``--images`` the images a command scores or
checks on, ``--size HxW`` an input size, ``--backend`` (repeatable or comma-separated, ``all``) and ``--device``.
An option renamed to fit keeps its old name as a hidden alias (``renamed``; docs/CLI_OPTIONS.md lists them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

import typer
from typer.core import TyperCommand

from edgeconv.errors import UsageError
from edgeconv.runtime.choices import BackendChoice, BackendName, Choice, InferenceDevice, InferencePrecision
from edgeconv.runtime.sizes import parse_hw  # noqa: F401 - re-exported: the library parses sizes too

Force = Annotated[bool, typer.Option(help="Overwrite existing output files.")]
# 0 is every inference command's default: the back end's own choice (every core), as a device runs it
Threads = Annotated[int, typer.Option(help="Inference threads (0: the back end's own choice, every core).")]
Runs = Annotated[int, typer.Option(help="Timed runs per model and back end, after warm-up.")]
# closed sets are enums (runtime/choices.py): --help lists them and typer refuses a typo naming them


def backend_list(values: list[str]) -> list[BackendChoice]:
    """``--backend`` values, each one name or several joined by commas (``onnxruntime,openvino``), as choices in the
    order given, each once; typer's usage error (exit code 2) names a word that is none of them."""
    chosen: list[BackendChoice] = []
    for word in (w.strip().lower() for value in values for w in str(value).split(",")):
        if word and word not in BackendChoice.values():
            choices = ", ".join(f"'{c}'" for c in BackendChoice.values())
            raise typer.BadParameter(f"'{word}' is not one of {choices}.", param_hint="'--backend'")
        if word and BackendChoice(word) not in chosen:
            chosen.append(BackendChoice(word))
    return chosen or [BackendChoice.ALL]


Backends = Annotated[list[str], typer.Option(
    "--backend", metavar="|".join(BackendChoice.values()), callback=backend_list,
    help="Back ends to run: repeat the option or join names with commas (each runs once); all: every one usable "
         "here.")]
OneBackend = Annotated[BackendName, typer.Option("--backend", help="The back end that runs the model.")]
FastestBackend = Annotated[BackendName | None, typer.Option(
    "--backend", show_default=False,
    help="The back end that runs the model (default: the fastest one installed here for this model, measured once "
         "in about 2 s and cached; edgeconv doctor shows it).")]
Device = Annotated[InferenceDevice, typer.Option(
    case_sensitive=False,
    help="Back-end device: CPU; GPU, NPU or AUTO for OpenVINO; GPU (= CUDA) or TENSORRT providers for ONNX Runtime.")]
InferencePrecisionHint = Annotated[InferencePrecision | None, typer.Option(
    "--precision", case_sensitive=False,
    help="Compute precision: OpenVINO's hint (default fp32; no int8), TensorRT's engine (default: the model's own; "
         "no bf16). ONNX Runtime runs the model as it is.")]
OutFile = Annotated[Path | None, typer.Option(
    "-o", "--out", metavar="FILE", help="Output file (default: beside the input).")]
OutDir = Annotated[Path, typer.Option("-o", "--out", metavar="DIR", help="Output folder.")]
JsonOut = Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Also write the result as JSON.")]
Images = Annotated[Path | None, typer.Option(
    metavar="DIR", help="Folder of real images (default: Set5 from shared/data/sr).")]
Checkpoint = Annotated[Path, typer.Argument(help="An edgeconv checkpoint (.pt).")]
Size = Annotated[str, typer.Option(metavar="HxW", help="Input size, e.g. 360x640.")]


def size_option(what: str) -> object:
    """The ``--size HxW`` option of a command, saying what the size is of (``what``: "Input of the latency runs")."""
    return typer.Option("--size", metavar="HxW", help=f"{what}, HxW (e.g. 360x640).")


class Renamed(TyperCommand):
    """A command that still takes the old names of its renamed options: each old name on the command line becomes
    the new one, with one line on stderr (``--old is now --new``); ``--help`` shows only the new names."""

    renamed: ClassVar[dict[str, str]] = {}

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, [self._new_name(arg) for arg in args])

    def _new_name(self, arg: str) -> str:
        old, eq, value = arg.partition("=")
        if old not in self.renamed:
            return arg
        typer.echo(f"{old} is now {self.renamed[old]}", err=True)
        return self.renamed[old] + eq + value


def renamed(old_to_new: dict[str, str]) -> type[Renamed]:
    """The command class (typer's ``cls=``) that takes each old option name in ``old_to_new`` as its new one."""
    return type("Renamed", (Renamed,), {"renamed": dict(old_to_new)})


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
