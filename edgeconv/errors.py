"""The one exception tree of edgeconv; the CLI turns these into one-line messages.

Messages follow the Polygraphy shape: ``Subject | problem.`` plus an optional ``Note:`` that
says what was expected or how to fix it.

Exit codes, the same in every command: 2 for a usage error - an option value the command cannot take, or an
input (file, folder, checkpoint, model) that is missing, unreadable or not what the command takes (``UsageError``
and its kinds; typer's own refusals exit 2 too); 1 for a command that ran and failed - a gate or a budget missed,
a back end failing at run time, a missing extra (``EdgeConvError``); 130 when interrupted (``Interrupted``).
"""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first non-empty line of an exception's text (its type name when it has none), cut to ``limit``."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:limit]


class EdgeConvError(Exception):
    """Root of every error edgeconv raises on purpose (bad input, missing extra, failed gate)."""

    exit_code = 1

    def __init__(self, subject: str, problem: str, note: str | None = None) -> None:
        self.subject = subject
        self.problem = problem
        self.note = note
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.subject} | {self.problem.rstrip('.')}."
        if self.note:
            text += f" Note: {self.note}"
        return text


class UsageError(EdgeConvError):
    """The user asked for something that cannot be done as stated (exit code 2)."""

    exit_code = 2


class Interrupted(EdgeConvError):
    """Ctrl-C stopped a resumable job; what was finished is kept, and the message says how to continue."""

    exit_code = 130


class LayerArgumentError(UsageError, ValueError):
    """A layer or model was given an argument it cannot take: a constructor keyword, or an input's channel count.

    Also a ``ValueError``, as PyTorch's own layers raise for the same mistakes, so code that catches those
    (a checkpoint whose config a model refuses) catches these.
    """


class DynamicOpLeftError(EdgeConvError):
    """A module still computes shifts at run time after the deploy rewrite."""


class MissingExtraError(EdgeConvError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            package,
            f"not installed, needed for {purpose}",
            f"install it with: pip install 'edgeconv[{extra}]'",
        )


class BackendRefusal(EdgeConvError):
    """A back end is known to compute this kind of model wrong on this machine, so it does not load it.

    ``validate --backend all`` skips such pairs with the reason; asking for the back end by name fails.
    """
