"""The user cache: measurements made on this machine that later commands reuse (one JSON file per kind).

``edgeconv tune`` keeps its shift-lowering choices in ``lowering.json``; the fastest-back-end measurement of
``upscale`` / ``export`` keeps its picks in ``backends.json``. Both live in ``$EDGECONV_CACHE_DIR`` when set
(tests point it at a temporary folder), else ``$XDG_CACHE_HOME/edgeconv`` or ``~/.cache/edgeconv``. A cache
that cannot be read is treated as empty: it is only a cache, and the next measurement rewrites it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from edgeconv.runtime.atomic_write import write_bytes_atomic

CACHE_ENV = "EDGECONV_CACHE_DIR"


def cache_dir() -> Path:
    """Where edgeconv's measurements are cached.

    Returns:
        ``$EDGECONV_CACHE_DIR``, else ``$XDG_CACHE_HOME/edgeconv``, else ``~/.cache/edgeconv`` (maybe not created yet).
    """
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgeconv"
    return Path(root)


def read_cache_json(name: str) -> dict[str, dict]:
    """One cache file's entries.

    Args:
        name: the file in ``cache_dir()`` (``backends.json``).

    Returns:
        Its top-level object; empty when the file is missing, unreadable or not an object.
    """
    try:
        data = json.loads((cache_dir() / name).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_cache_json(name: str, key: str, entry: dict) -> Path:
    """Set one entry of a cache file (read, change, write atomically); the other entries stay.

    Args:
        name: the file in ``cache_dir()``.
        key: the entry's key.
        entry: what to store (JSON-serialisable).

    Returns:
        The cache file's path.

    Raises:
        EdgeConvError: the cache folder cannot be created or written.
    """
    path = cache_dir() / name
    data = read_cache_json(name)
    data[key] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from edgeconv.errors import EdgeConvError

        raise EdgeConvError(str(path.parent), f"cannot create the cache folder: {exc.strerror}",
                            f"set {CACHE_ENV} to a writable folder") from exc
    write_bytes_atomic(path, json.dumps(data, indent=2, sort_keys=True).encode())
    return path
