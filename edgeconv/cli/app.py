"""The ``edgeconv`` command: a root that only wires the command groups.

Known errors print one line (``Subject | problem. Note: ...``) and exit 1 or 2; set
``EDGECONV_DEBUG=1`` to see the traceback. Command modules import torch only inside their
bodies, so ``edgeconv --help`` works on a device without torch.
"""

from __future__ import annotations

import os
import sys

import typer

from edgeconv import __version__
from edgeconv.cli import (
    compare,
    doctor,
    erf,
    export,
    info,
    pipeline,
    profile,
    quantize,
    train,
    tune,
    upscale,
    validate,
)
from edgeconv.errors import EdgeConvError

app = typer.Typer(
    name="edgeconv",
    help="Shift-based dynamic convolutions, rewritten to static graphs for edge runtimes.\n\n"
    "Example: edgeconv pipeline --out out/demo",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the edgeconv version and exit."),
) -> None:
    """Shift-based dynamic convolutions, rewritten to static graphs for edge runtimes."""
app.command("info")(info.info)
app.command("export")(export.export)
app.command("erf")(erf.erf)
app.command("compare")(compare.compare)
app.command("quantize")(quantize.quantize)
app.command("tune")(tune.tune)
app.command("validate")(validate.validate)
app.command("doctor")(doctor.doctor)
app.command("upscale")(upscale.upscale)
app.command("pipeline")(pipeline.pipeline)
app.add_typer(profile.app, name="profile")
app.add_typer(train.app, name="train")


@app.command("version")
def version() -> None:
    """Print the edgeconv version."""
    typer.echo(__version__)


def main() -> None:
    """Console entry point: run the app, turning known errors into one line."""
    try:
        app()
    except EdgeConvError as exc:
        if os.environ.get("EDGECONV_DEBUG") == "1":
            raise
        typer.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
