"""The validator's outputs: a terminal table, JSON, and a Markdown report with PNG plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.table import Table

from edgeconv.runtime.atomic_write import write_atomic, write_bytes_atomic
from edgeconv.runtime.validation.validator import ValidationResult

COLUMNS = ("model", "precision", "back end", "max abs", "cosine", "out PSNR", "PSNR-Y", "SSIM-Y",
           "p50 ms", "p90 ms", "p99 ms", "fps", "peak RSS MB", "gates")


def _f(value: float, fmt: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def table_rows(result: ValidationResult) -> list[list[str]]:
    """The result's rows as cell strings.

    Args:
        result: a validation result.

    Returns:
        One list per row, in ``COLUMNS`` order; NaN shows as ``-``.
    """
    return [
        [r.model, r.precision, r.backend, _f(r.max_abs, ".1e"), _f(r.cosine, ".6f"), _f(r.output_psnr_db, ".1f"),
         _f(r.psnr_y_db, ".3f"), _f(r.ssim_y, ".4f"), _f(r.latency.p50, ".1f"), _f(r.latency.p90, ".1f"),
         _f(r.latency.p99, ".1f"), _f(r.latency.fps, ".1f"), _f(r.peak_rss_mb, ".0f"),
         "pass" if not r.failures else "FAIL: " + "; ".join(r.failures)]
        for r in result.rows
    ]


TERMINAL_COLUMNS = ("model", "precision", "back end", "max abs", "out PSNR", "PSNR-Y", "SSIM-Y", "p50 ms", "p90 ms",
                    "fps", "gates")


def rich_table(result: ValidationResult) -> Table:
    """The terminal table (cosine, p99 and memory are in the JSON and Markdown report).

    Args:
        result: a validation result.

    Returns:
        A rich ``Table`` titled with the reference, the inputs and the latency size.
    """
    h, w = result.latency_input
    ref_psnr = result.reference_psnr_y_db
    title = (f"vs {result.reference} on {result.inputs}"
             + (f" (reference PSNR-Y {ref_psnr:.3f} dB)" if not math.isnan(ref_psnr) else "")
             + f"; latency at {h}x{w}")
    table = Table(title=title)
    keep = [COLUMNS.index(c) for c in TERMINAL_COLUMNS]
    for col in TERMINAL_COLUMNS:
        table.add_column(col, overflow="fold")
    for cells in table_rows(result):
        table.add_row(*(cells[i] for i in keep))
    return table


def write_json(result: ValidationResult, path: Path) -> None:
    """Write the result as JSON (atomically), for CI gates and ``profile``-style comparisons.

    Args:
        result: a validation result.
        path: the JSON file (replaced).
    """
    write_bytes_atomic(path, json.dumps(result.as_json(), indent=2).encode())


def write_markdown(result: ValidationResult, folder: Path) -> Path:
    """Write ``folder/report.md``, plus ``latency.png`` and ``quality_vs_latency.png`` when matplotlib is here.

    Args:
        result: a validation result.
        folder: created if missing; files in it are replaced.

    Returns:
        The path of ``report.md``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# edgeconv validation", "", f"Reference: {result.reference}. Inputs: {result.inputs}.", ""]
    if not math.isnan(result.reference_psnr_y_db):
        lines += [f"Reference PSNR-Y: {result.reference_psnr_y_db:.3f} dB.", ""]
    lines += [f"Gates: {result.gates}. Overall: {'PASS' if result else 'FAIL'}.", ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(result)]
    try:
        plots = _plots(result, folder)
        lines += ["", *[f"![{name}]({name})" for name in plots]]
    except ImportError:
        lines += ["", "Plots skipped: matplotlib is not installed (pip install 'edgeconv[plot]')."]
    path = folder / "report.md"
    write_bytes_atomic(path, ("\n".join(lines) + "\n").encode())
    return path


def _plots(result: ValidationResult, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.precision}\n{r.backend}" for r in result.rows]
    fig, ax = plt.subplots(figsize=(max(4, 1.4 * len(labels)), 3.5))
    ax.boxplot([r.latency.samples for r in result.rows], showfliers=True)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"latency at {result.latency_input[0]}x{result.latency_input[1]}")
    fig.tight_layout()
    write_atomic(folder / "latency.png", lambda f, fig=fig: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)
    names = ["latency.png"]
    if any(not math.isnan(r.psnr_y_db) for r in result.rows):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for r in result.rows:
            ax.scatter(r.latency.p50, r.psnr_y_db)
            ax.annotate(f"{r.precision} {r.backend}", (r.latency.p50, r.psnr_y_db), fontsize=7)
        ax.set_xlabel("p50 latency (ms)")
        ax.set_ylabel("PSNR-Y (dB)")
        ax.set_title("quality vs latency")
        fig.tight_layout()
        write_atomic(folder / "quality_vs_latency.png", lambda f, fig=fig: fig.savefig(f, format="png", dpi=110))
        plt.close(fig)
        names.append("quality_vs_latency.png")
    return names
