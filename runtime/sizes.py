"""Image sizes as people type them (``360x640``), parsed once for the CLI and the library."""

from __future__ import annotations

from edgeconv.errors import UsageError


def parse_hw(value: str, option: str) -> tuple[int, int]:
    """Parse an image size as people type it.

    Args:
        value: ``HxW``, e.g. ``360x640`` (``X`` too).
        option: the option it came from (named in the error).

    Returns:
        ``(H, W)``, both >= 1.

    Raises:
        UsageError: not two integers joined by x, or a side < 1.
    """
    try:
        h, w = (int(v) for v in value.lower().split("x"))
    except ValueError as exc:
        raise UsageError(option, f"{value!r} is not HxW", "e.g. 360x640") from exc
    if h < 1 or w < 1:
        raise UsageError(option, f"{value!r} has an empty side", "H and W must be >= 1")
    return h, w
