"""A CSV beside a JSON report: the same numbers, one line per table row, for a spreadsheet or pandas.

``validate --json X.json`` and ``profile -o X.json`` also write ``X.csv`` (same folder, same stem): no option
asks for it, and ``--force`` covers both files. A cell holds the JSON's value as it is (a missing number - a
NaN in the JSON's ``null`` - is an empty cell), so the two files never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from edgeconv.errors import UsageError
from edgeconv.runtime.atomic_write import write_bytes_atomic


def csv_beside(json_path: Path) -> Path:
    """The CSV that goes with a JSON report: ``X.json`` -> ``X.csv`` (``X.csv`` given as the JSON: ``X.csv.csv``).

    Args:
        json_path: where the JSON report goes.

    Returns:
        The CSV's path, never the JSON's own.
    """
    return json_path.with_name(json_path.name + ".csv") if json_path.suffix.lower() == ".csv" else \
        json_path.with_suffix(".csv")


def refuse_csv_overwrite(json_path: Path | None, force: bool) -> None:
    """Refuse, before any work, to replace the CSV that would go beside ``json_path`` without ``force``.

    Args:
        json_path: the JSON report's path (None: no report, nothing to check).
        force: the user's ``--force``.

    Raises:
        UsageError: the CSV exists and ``force`` is off.
    """
    if json_path is not None and not force and csv_beside(json_path).exists():
        raise UsageError(str(csv_beside(json_path)), "already exists (written beside the JSON)",
                         "pass --force to overwrite it")


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a header line; None is an empty cell, a bool ``true`` / ``false``, a list ``a; b``."""

    def cell(value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list | tuple):
            return "; ".join(str(v) for v in value)
        return value

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buf.getvalue()


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write ``csv_text(columns, rows)`` to ``path`` atomically (a complete file or none)."""
    write_bytes_atomic(path, csv_text(columns, rows).encode())
