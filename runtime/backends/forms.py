"""Which graph form of a model each back end runs fastest, and the one line said when it gets the other.

``edgeconv export --backend`` writes PReLU two ways (``edgeconv.prelu`` in the metadata): ``prelu``
(kept: OpenVINO and TensorRT fuse it into the convolution) or ``max`` (``Mul`` + ``Max``: ONNX Runtime has no
fused PReLU kernel and runs the pair faster). A model loaded in the back end of the other form still runs, and
gives the same output, only slower (the shipped photo model at 640x360, 2 cores, one busy: ONNX Runtime 103 ms on
its form, 160 ms on OpenVINO's; OpenVINO 60 ms on its own, 93 ms on ONNX Runtime's). The shipped models come in
both forms and ``upscale`` loads the right one; for any other file this says so once, naming the file to load
instead when it lies beside (``NAME.onnx`` / ``NAME.ort.onnx``) or the export that writes it.

A back end records the line when it loads such a file; the command prints the lines once it has done its work
(``print_form_notes``), so a bad input still gets exactly one line. The fastest-back-end measurement loads files
quietly (``quiet_form_notes``): only the back end that then runs the model speaks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRELU_FORMS = {
    "prelu": "the OpenVINO/TensorRT form (PReLU kept)",
    "max": "the ONNX Runtime form (PReLU as Mul + Max)",
}
ORT_SUFFIX = ".ort.onnx"
_PENDING: dict[tuple[str, str], str] = {}  # (file, back end) -> its line, until printed
_QUIET = [0]  # > 0 inside ``quiet_form_notes``


def sibling_form(path: Path, wanted: str) -> Path | None:
    """The file beside ``path`` that holds the ``wanted`` form, by the shipped models' naming, if it exists.

    Args:
        path: a model file (``NAME.onnx`` or ``NAME.ort.onnx``).
        wanted: ``prelu`` or ``max``.

    Returns:
        ``NAME.ort.onnx`` for ``max``, ``NAME.onnx`` for ``prelu``, when that file exists and is not ``path``.
    """
    stem = path.name.removesuffix(ORT_SUFFIX).removesuffix(".onnx")
    other = path.with_name(stem + (ORT_SUFFIX if wanted == "max" else ".onnx"))
    return other if other != path and other.is_file() else None


def form_note(path: Path, backend: str, written: str | None, wanted: str) -> str | None:
    """The line that says ``backend`` runs ``path`` in the other back end's form, or None when it is its own.

    Args:
        path: the model file.
        backend: the back end's name.
        written: the file's ``edgeconv.prelu`` fact (None: not an edgeconv export, or a model without PReLU).
        wanted: the form ``backend`` runs fastest.

    Returns:
        ``note: PATH | is FORM; BACKEND runs FORM faster: load X instead`` or None.
    """
    if written is None or written == wanted or written not in PRELU_FORMS:
        return None
    beside = sibling_form(path, wanted)
    fix = f"give {beside} (beside it) instead" if beside is not None else \
        f"export the checkpoint with --backend {backend} for that form"
    return f"note: {path} | is {PRELU_FORMS[written]}; {backend} runs {PRELU_FORMS[wanted]} faster: {fix}"


def note_form(path: Path, backend: str, written: str | None, wanted: str) -> None:
    """Record ``form_note`` for ``print_form_notes``, once per file and back end (a validator loads a model
    several times); nothing inside ``quiet_form_notes``."""
    line = form_note(path, backend, written, wanted)
    if line is not None and not _QUIET[0]:
        _PENDING.setdefault((str(path), backend), line)


@contextmanager
def quiet_form_notes() -> Iterator[None]:
    """Load models without recording form notes (the fastest-back-end measurement)."""
    _QUIET[0] += 1
    try:
        yield
    finally:
        _QUIET[0] -= 1


def take_form_notes() -> list[str]:
    """The lines recorded since the last call, in load order (and forget them)."""
    lines = list(_PENDING.values())
    _PENDING.clear()
    return lines


def print_form_notes() -> None:
    """Print the recorded lines on stderr (a command, once its work is done)."""
    for line in take_form_notes():
        print(line, file=sys.stderr)
