"""The validator's outputs: a terminal table, JSON with a CSV beside it, and a Markdown report with PNG plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.table import Table

from edgeconv.runtime.atomic_write import write_atomic, write_bytes_atomic
from edgeconv.runtime.csv_files import csv_beside, write_csv
from edgeconv.runtime.validation.validator import ValidationResult

COLUMNS = ("model", "precision", "back end", "max abs", "cosine", "out PSNR", "PSNR-Y", "SSIM-Y",
           "load ms", "first ms", "p50 ms", "p90 ms", "p99 ms", "fps", "peak RSS MB", "gates")
TIMES = ("load ms: reading and compiling the model; first ms: its first inference (cold, at the latency size); "
         "p50 / p90 / p99: steady state after warm-up, as OpenVINO's benchmark_app reports them")
CSV_COLUMNS = ("model", "model_sha256", "precision", "backend", "max_abs", "mean_abs", "cosine", "output_psnr_db",
               "psnr_y_db", "ssim_y", "load_ms", "first_inference_ms", "p50_ms", "p90_ms", "p99_ms", "mean_ms",
               "std_ms", "fps", "peak_rss_mb", "passed", "failures")


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
         _f(r.psnr_y_db, ".3f"), _f(r.ssim_y, ".4f"), _f(r.load_ms, ".1f"), _f(r.first_inference_ms, ".1f"),
         _f(r.latency.p50, ".1f"), _f(r.latency.p90, ".1f"),
         _f(r.latency.p99, ".1f"), _f(r.latency.fps, ".1f"), _f(r.peak_rss_mb, ".0f"),
         "pass" if not r.failures else "FAIL: " + "; ".join(r.failures)]
        for r in result.rows
    ]


TERMINAL_COLUMNS = ("model", "precision", "back end", "max abs", "out PSNR", "PSNR-Y", "SSIM-Y", "load ms", "first ms",
                    "p50 ms", "p90 ms", "fps", "gates")


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
    hashes = {r.model: r.model_sha256 for r in result.rows}
    caption = TIMES + "\n" + "; ".join(f"{name} sha256 {digest[:16]}" for name, digest in hashes.items())
    table = Table(title=title, caption=caption)
    keep = [COLUMNS.index(c) for c in TERMINAL_COLUMNS]
    for col in TERMINAL_COLUMNS:
        table.add_column(col, overflow="fold")
    for cells in table_rows(result):
        table.add_row(*(cells[i] for i in keep))
    return table


def write_json(result: ValidationResult, path: Path) -> Path:
    """Write the result as JSON (atomically), for CI gates and ``profile``-style comparisons, and the same rows as
    CSV beside it (``csv_beside``: ``X.json`` -> ``X.csv``).

    Args:
        result: a validation result.
        path: the JSON file (replaced).

    Returns:
        The CSV's path.
    """
    data = result.as_json()
    write_bytes_atomic(path, json.dumps(data, indent=2).encode())
    return write_rows_csv(data, csv_beside(path))


def csv_rows(data: dict) -> list[list[object]]:
    """The rows of a result's JSON (``as_json``) in ``CSV_COLUMNS`` order: the same values, latency flattened."""
    rows = []
    for r in data["rows"]:
        lat = r["latency"]
        rows.append([r["model"], r["model_sha256"], r["precision"], r["backend"], r["max_abs"], r["mean_abs"],
                     r["cosine"], r["output_psnr_db"], r["psnr_y_db"], r["ssim_y"], r["load_ms"],
                     r["first_inference_ms"], lat["p50"], lat["p90"], lat["p99"], lat["mean"], lat["std"], lat["fps"],
                     r["peak_rss_mb"], not r["failures"], r["failures"]])
    return rows


def write_rows_csv(data: dict, path: Path) -> Path:
    """Write the rows of a result's JSON as CSV (atomically); returns ``path``."""
    write_csv(path, CSV_COLUMNS, csv_rows(data))
    return path


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
    lines += [f"Gates: {result.gates.describe()}. Overall: {'PASS' if result else 'FAIL'}.", ""]
    lines += ["Models:", "", *[f"- {name}: sha256 `{digest}`"
                               for name, digest in {r.model: r.model_sha256 for r in result.rows}.items()], ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(result)]
    lines += ["", f"Latency at {result.latency_input[0]}x{result.latency_input[1]}. {TIMES}."]
    try:
        plots = _plots(result, folder)
        lines += ["", *[f"![{name}]({name})" for name in plots]]
    except ImportError:
        lines += ["", "Plots skipped: matplotlib is not installed (pip install 'edgeconv[plot]')."]
    path = folder / "report.md"
    write_bytes_atomic(path, ("\n".join(lines) + "\n").encode())
    return path


def _plots(result: ValidationResult, folder: Path) -> list[str]:
    """``latency.png`` and, for SR, ``quality_vs_latency.png`` in ``folder``; their names."""
    import matplotlib.pyplot as plt

    figures = {"latency.png": latency_figure(result)}
    if any(not math.isnan(r.psnr_y_db) for r in result.rows):
        figures["quality_vs_latency.png"] = quality_figure(result)
    for name, fig in figures.items():
        write_atomic(folder / name, lambda f, fig=fig: fig.savefig(f, format="png", dpi=110))
        plt.close(fig)
    return list(figures)


def _pyplot():  # noqa: ANN202 - matplotlib's module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _run_labels(result: ValidationResult) -> list[str]:
    """One label per row: ``int8 on openvino``, with the model's name when two models share a precision."""
    pairs = [(r.precision, r.backend) for r in result.rows]
    return [f"{r.model}: {r.precision} on {r.backend}" if pairs.count((r.precision, r.backend)) > 1
            else f"{r.precision} on {r.backend}" for r in result.rows]


def latency_figure(result: ValidationResult):  # noqa: ANN201 - a matplotlib Figure
    """Box plots of each row's timed runs (steady state), every label inside the figure."""
    plt = _pyplot()
    labels = [label.replace(" on ", "\non ") for label in _run_labels(result)]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.5 * len(labels)), 3.6), layout="constrained")
    ax.boxplot([r.latency.samples for r in result.rows], showfliers=True)
    ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)
    ax.set_ylabel("latency (ms)")
    h, w = result.latency_input
    ax.set_title(f"latency at {h}x{w}, steady state ({len(result.rows[0].latency.samples)} runs each)", fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def quality_figure(result: ValidationResult):  # noqa: ANN201 - a matplotlib Figure
    """PSNR-Y against p50 latency: one point per row, colour = back end, marker = precision, identified by one legend
    below the axes (no labels on the points, none past the axes; margins keep points off the frame)."""
    import textwrap

    from matplotlib.ticker import ScalarFormatter

    plt = _pyplot()
    backends = sorted({r.backend for r in result.rows})
    precisions = sorted({r.precision for r in result.rows})
    fig, ax = plt.subplots(figsize=(5.6, 4.4), layout="constrained")
    for r, label in zip(result.rows, _run_labels(result), strict=True):
        if not math.isnan(r.psnr_y_db):
            ax.scatter(r.latency.p50, r.psnr_y_db, s=45, color=f"C{backends.index(r.backend)}",
                       marker="osD^v"[precisions.index(r.precision) % 5], label=label, zorder=3)
    ax.margins(x=0.2, y=0.25)
    ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    ax.set_xlabel("p50 latency (ms), lower is better")
    ax.set_ylabel("PSNR-Y (dB), higher is better")
    h, w = result.latency_input
    ax.set_title("\n".join(textwrap.wrap(f"quality on {result.inputs}; latency at {h}x{w}", 70)), fontsize=8)
    ax.grid(True, alpha=0.3)
    longest = max(len(label) for label in _run_labels(result))  # two columns only where they fit the figure
    fig.legend(loc="outside lower center", ncol=2 if longest <= 26 else 1, fontsize=8, frameon=False)
    return fig
