"""The ``edgeconv`` command: a root that only wires the command groups.

Known errors print one line (``Subject | problem. Note: ...``) and exit 2 (a usage error: a bad option or
input) or 1 (the command ran and failed), as ``edgeconv.errors`` says; set ``EDGECONV_DEBUG=1`` to see the
traceback. Command modules import torch only inside their bodies, so ``edgeconv --help`` works on a device
without torch.
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
from edgeconv.cli.help_text import PlainHelpGroup
from edgeconv.cli.ray_options import bare_ray_means_local
from edgeconv.errors import EdgeConvError

app = typer.Typer(
    name="edgeconv",
    cls=PlainHelpGroup,  # every command's --help as prose, with plain metavars (PATH, N, HxW)
    help="Shift-based dynamic convolutions, rewritten to static graphs for edge runtimes.\n\n"
    "Example: edgeconv pipeline -o out/demo",
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
# cls=module.Command: a command that still takes its options' old names (docs/CLI_OPTIONS.md)
app.command("info", cls=info.Command)(info.info)
app.command("export", cls=export.Command)(export.export)
app.command("erf", cls=erf.Command)(erf.erf)
app.command("compare")(compare.compare)
app.command("quantize", cls=quantize.Command)(quantize.quantize)
app.command("tune")(tune.tune)
app.command("validate", cls=validate.Command)(validate.validate)
app.command("doctor")(doctor.doctor)
app.command("upscale", cls=upscale.Command)(upscale.upscale)
app.command("pipeline", cls=pipeline.Command)(pipeline.pipeline)
app.add_typer(profile.app, name="profile")
app.add_typer(train.app, name="train")


@app.command("version")
def version() -> None:
    """Print the edgeconv version."""
    typer.echo(__version__)


def main() -> None:
    """Console entry point: run the app, turning known errors into one line."""
    try:
        app(args=bare_ray_means_local(sys.argv[1:]))  # --ray alone: a local cluster
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
