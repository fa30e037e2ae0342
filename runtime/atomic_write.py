"""Atomic file writes: a temp file in the target folder, fsync, then rename over the target."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from edgeconv.errors import EdgeConvError


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either the old file or the whole new one.

    Args:
        path: the target file (its folder must exist).
        data: the whole content.

    Raises:
        EdgeConvError: the folder is missing, not writable or full.
    """
    write_atomic(path, lambda f: f.write(data))


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Let ``write`` stream into a temp file beside ``path``, fsync, then rename it over ``path``.

    Streaming (an image encoder writing straight into the file) avoids holding the encoded bytes
    in memory; on any error or interrupt the temp file is removed and ``path`` is untouched.

    Args:
        path: the target file (its folder must exist).
        write: called once with the open binary temp file.

    Raises:
        EdgeConvError: the folder is missing, not writable or full; whatever ``write`` raises passes through.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _unwritable(path, exc) from exc
        raise


def _unwritable(path: Path, exc: OSError) -> EdgeConvError:
    return EdgeConvError(str(path), f"cannot be written: {exc.strerror or exc}",
                         f"check that {path.parent} exists, is writable and has space")
