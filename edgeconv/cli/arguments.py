"""Argument checks several commands share: ``HxW`` sizes and output paths that must not be clobbered."""

from __future__ import annotations

from pathlib import Path

from edgeconv.errors import UsageError


def parse_hw(value: str, option: str) -> tuple[int, int]:
    """``"360x640"`` -> (360, 640), or a ``UsageError`` naming ``option``."""
    try:
        h, w = (int(v) for v in value.lower().split("x"))
    except ValueError as exc:
        raise UsageError(option, f"{value!r} is not HxW", "e.g. 360x640") from exc
    if h < 1 or w < 1:
        raise UsageError(option, f"{value!r} has an empty side", "H and W must be >= 1")
    return h, w


def refuse_overwrite(path: Path | None, force: bool) -> None:
    """Refuse to replace an existing file without ``--force``, and a target whose folder is missing."""
    if path is None:
        return
    if path.exists() and not force:
        raise UsageError(str(path), "already exists", "pass --force to overwrite it")
    if not path.parent.is_dir():
        raise UsageError(str(path), f"its folder {path.parent} does not exist", "create it first")
