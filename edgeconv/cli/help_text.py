"""``--help`` that reads as prose, applied to every command at once by the root group (``PlainHelpGroup``).

Docstrings break lines where the source does, not where sentences end: each paragraph becomes one line that the
terminal wraps (a line starting ``Example`` keeps a line of its own, so an example may still be wrapped in the
source). Typer prints types as ``<list[Path]>`` and ``<bool>``: every option and argument gets a plain metavar
instead - PATH, N, NUMBER, TEXT, ``a|b|c`` for a closed set, nothing for a flag, an argument's own name (MODEL...);
the shared options name theirs where it says more (FILE, DIR, HxW: ``arguments.py``).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from typer.core import TyperArgument, TyperGroup

if TYPE_CHECKING:
    import click

EXAMPLE = "Example"
PLAIN = {Path: "PATH", int: "N", float: "NUMBER", str: "TEXT"}


def prose(text: str | None) -> str | None:
    """``text`` with each paragraph's lines joined (lines starting ``Example`` stay their own); paragraphs kept."""
    if not text:
        return text
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.splitlines():
            if lines and not line.lstrip().startswith(EXAMPLE) and not paragraph.startswith("\b"):
                lines[-1] = f"{lines[-1]} {line.strip()}"
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def plain_metavar(param: click.Parameter) -> str | None:
    """The metavar ``--help`` shows for ``param`` (None: leave typer's; an older typer shows click's plain ones)."""
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return None
    if isinstance(param, TyperArgument):
        name = param.name.upper()
        return f"{name.removesuffix('S')}..." if param.nargs != 1 else name
    if getattr(param, "is_flag", False):
        return ""
    if desc.is_choice:  # as typer lists them: lower case where the option takes any case
        values = [str(getattr(c, "value", c)) for c in desc.choices or ()]
        return "|".join(values if desc.case_sensitive else [v.lower() for v in values])
    kind = (get_args(desc.annotation) or (desc.annotation,))[0] if desc.is_list else desc.annotation
    return PLAIN.get(kind, "PATH" if desc.is_path else "VALUE")


class PlainArgument(TyperArgument):
    """An argument shown by its metavar alone: no type column, no braces in the usage line."""

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        return self.display_name_raw if self.required else f"[{self.display_name_raw}]"


def plain_help(command: click.Command, help_names: list[str]) -> None:
    """``command`` and every command under it: prose help, plain metavars (``help_names``: the -h/--help option's
    names, which click adds to each command's options when first asked; typer's cached one gets its metavar too)."""
    command.help = prose(command.help)
    help_option = command.get_help_option(command.context_class(command, help_option_names=help_names))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if param.metavar is None:
            param.metavar = plain_metavar(param)
        if isinstance(param, TyperArgument) and hasattr(param, "_usage_display_name"):
            param.__class__ = PlainArgument
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub, help_names)


class PlainHelpGroup(TyperGroup):
    """The root group: once typer has built every command under it, their help reads as prose (``plain_help``)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        plain_help(self, self.context_settings.get("help_option_names", ["--help"]))
