"""The stored run records beside the results page: ``<page folder>/results/<task>/runs.csv``, read back as runs.

``runs.csv`` holds one row per (variant, seed) with every per-run measure the page uses, so the page can be
recomputed from the repository alone when the runs themselves (``--out``, not committed) are absent. Records
written before a measure had its column there (dtd10's unit-diversity and border-share measures) take it
from the per-run lists of ``summary.json`` beside it (``<measure>_all``, in the order of ``seeds``) once;
the next write of ``runs.csv`` carries them.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from edgeconv.research.compare import EXTRA_SUMMARY_FIELDS, OPTIONAL_ERF_FIELDS, RunRecord
from edgeconv.research.report import RUN_COLUMNS

_TYPES = {"seed": int, "params": int, "steps": int, "value": float, "macs_per_pixel": float, "minutes": float,
          "stopped_by_budget": lambda text: text == "True"}


def read_runs_csv(text: str) -> list[RunRecord]:
    """Runs from ``runs.csv`` text: the run's facts, its ERF measures (every other column) and scalar extras.

    Args:
        text: the CSV as ``report.runs_csv`` writes it; empty cells are measures the run lacks.

    Returns:
        One ``RunRecord`` per row, in file order.
    """
    records = []
    for row in csv.DictReader(io.StringIO(text)):
        facts = {c: _TYPES.get(c, str)(row[c]) for c in RUN_COLUMNS}
        extra = {c: float(row[c]) for c in EXTRA_SUMMARY_FIELDS if row.get(c, "") != ""}
        erf = {c: float(v) for c, v in row.items() if c not in RUN_COLUMNS and c not in extra and v != ""}
        records.append(RunRecord(**facts, erf=erf, extra=extra))
    return records


def _fill_from_summary(records: list[RunRecord], rows: list[dict]) -> None:
    """Per-run measures ``runs.csv`` lacks, from ``summary.json``'s ``<measure>_all`` lists (matched by seed)."""
    by_variant = {row["variant"]: row for row in rows}
    for record in records:
        row = by_variant.get(record.variant)
        if row is None or record.seed not in row.get("seeds", []):
            continue
        index = row["seeds"].index(record.seed)
        for name in OPTIONAL_ERF_FIELDS:
            if name not in record.erf and f"{name}_all" in row:
                record.erf[name] = float(row[f"{name}_all"][index])
        for name in EXTRA_SUMMARY_FIELDS:
            if name not in record.extra and f"{name}_all" in row:
                record.extra[name] = float(row[f"{name}_all"][index])


def stored_records(folder: Path) -> dict[tuple[str, int], RunRecord]:
    """The runs stored in ``folder`` (``runs.csv``, completed from ``summary.json``), by (variant, seed).

    Args:
        folder: ``<page folder>/results/<task>``.

    Returns:
        Every stored run; empty when ``folder`` holds no ``runs.csv``.
    """
    runs = folder / "runs.csv"
    if not runs.is_file():
        return {}
    records = read_runs_csv(runs.read_text())
    summary = folder / "summary.json"
    if summary.is_file():
        _fill_from_summary(records, json.loads(summary.read_text()))
    return {(r.variant, r.seed): r for r in records}
