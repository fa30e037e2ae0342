"""The terminal report of ``edgeconv quantize``: printed from the job's result, nothing measured here.

Tables for the candidates (PSNR-Y, drop, latency, budget), the INT8 schemes tried for the target, the
most sensitive layers and the budget's attempts; then one line naming the written file, or the budget
failure as one error line (nothing written), or where a stopped fine-tuning saved its state.

Every figure names what it was measured on: PSNR-Y on the ``--images`` images by the standard protocol
(``SRProtocol.describe``), output PSNR / SQNR against the FP32 model on calibration crops (which and how
many). A column with nothing measured in it is left out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from edgeconv.errors import EdgeConvError

if TYPE_CHECKING:
    from edgeconv.export.quantization.outcome import QuantizeOutcome, QuantizeResult
    from edgeconv.export.quantization.schemes import SchemeChoice
    from edgeconv.export.quantization.settings import QuantizeSettings

SENSITIVE_ROWS = 12  # layers shown, lowest SQNR first


def print_quantize_result(done: QuantizeResult) -> None:
    """The report tables, then one line naming the written file - or the budget failure (nothing written).

    Args:
        done: the job's result.

    Raises:
        EdgeConvError: the chosen candidate missed the budget (one line, exit code 1).
    """
    outcome, run = done.outcome, done.qat_stopped
    if outcome is None:  # only a fine-tuning stopped by --max-minutes ends without an outcome
        typer.echo(f"QAT stopped by --max-minutes after {len(run.losses)} of {run.steps} steps; state saved to "
                   f"{run.state} (no artifact written). Continue: the same command with --resume {run.state}")
        return
    print_report(Console(), done.settings, outcome)
    if not done.ok:
        raise EdgeConvError(str(done.output), outcome.failure,
                            "nothing was written; raise --max-psnr-drop or calibrate on more images")
    typer.echo(f"wrote {done.output} ({outcome.chosen.precision}, {done.output.stat().st_size / 1024:.1f} KiB)")


def print_report(console: Console, settings: QuantizeSettings, outcome: QuantizeOutcome) -> None:
    """The candidates, the scheme choice, the calibration, the sensitive layers, the budget and the checks.

    Args:
        console: where it goes (stdout for the command).
        settings: what the job was asked (model name, image folders).
        outcome: what it measured and chose.
    """
    console.print(_candidates_table(settings, outcome))
    if not math.isnan(outcome.fp32_psnr_db):
        console.print(f"FP32 PSNR-Y on {outcome.val_images}: {outcome.fp32_psnr_db:.3f} dB")
    if outcome.scheme is not None:
        _print_schemes(console, outcome.scheme, outcome.calib_crops)
    if outcome.calib_images:
        config = outcome.config
        console.print(
            f"INT8: {config.method} calibration on {outcome.calib_images} image(s) from {settings.calib}, "
            f"{'per-channel' if config.per_channel else 'per-tensor'} weights, "
            f"{config.activation_type}/{config.weight_type} {config.quant_format}, "
            f"reduce_range={outcome.reduce_range} ({outcome.reduce_range_reason})"
        )
    if outcome.sensitivity:
        console.print(_sensitivity_table(outcome))
    if outcome.budget is not None and outcome.budget.attempts:
        steps = "; ".join(f"{len(a.kept_float)} FP32: {a.drop_db:.3f} dB (worst image {a.worst_drop_db:.3f})"
                          for a in outcome.budget.attempts)
        console.print(f"budget {outcome.max_drop_db} dB of PSNR-Y on {outcome.val_images} - attempts "
                      f"(layers kept FP32: drop): {steps}")
        kept = ", ".join(outcome.kept_float) or "none"
        console.print(f"kept in FP32 (largest PSNR drop when quantized alone): {kept}")
    if outcome.loads_in:
        console.print(f"checked: onnx.checker passes; loads in {', '.join(outcome.loads_in)}")


def _dash(value: float, spec: str) -> str:
    """``value`` formatted with ``spec``, or ``-`` for NaN (not measured)."""
    return "-" if math.isnan(value) else format(value, spec)


def _table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> Table:
    """A table of ``rows``, leaving out every column in which no row has a value (all empty or ``-``)."""
    keep = [i for i in range(len(columns)) if any(row[i] not in ("", "-") for row in rows)] if rows else []
    table = Table(title=title)
    for i in keep:
        table.add_column(columns[i])
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def _in_budget(outcome: QuantizeOutcome, within: bool) -> str:
    """``yes`` / ``NO`` against the budget; ``-`` when there was none, unless the candidate failed otherwise."""
    if not within:
        return "NO"
    return "yes" if outcome.has_budget else "-"


def _candidates_table(settings: QuantizeSettings, outcome: QuantizeOutcome) -> Table:
    """One row per precision measured: PSNR-Y, drop from FP32, latency, in budget, note."""
    if outcome.val_images:
        about = f"PSNR-Y on {outcome.val_images}; " + (
            f"budget {outcome.max_drop_db} dB" if outcome.has_budget else "no budget")
    else:
        about = "no --images: no PSNR-Y, no budget"
    rows = [[c.precision + (" (chosen)" if c is outcome.chosen else ""), _dash(c.psnr_db, ".3f"),
             _dash(outcome.fp32_psnr_db - c.psnr_db, "+.3f"), _dash(c.median_ms, ".1f"), _dash(c.p90_ms, ".1f"),
             _in_budget(outcome, c.within_budget), c.note] for c in outcome.candidates]
    columns = ("precision", "PSNR-Y dB", "drop dB", "median ms", "p90 ms", "in budget", "note")
    return _table(f"{settings.model.name}: precision ({about})", columns, rows)


def _print_schemes(console: Console, choice: SchemeChoice, crops: str) -> None:
    """The schemes measured for the target (most accurate first), the refused ones, and why one was kept."""
    if choice.trials:
        table = Table(title=f"INT8 schemes exact on {choice.target} (output PSNR vs FP32, one figure pooled over "
                            f"{choice.held_out} held-out {crops})")
        for col in ("scheme", "output PSNR dB", "computed with"):
            table.add_column(col)
        for t in sorted(choice.trials, key=lambda t: -t.output_psnr_db):
            table.add_row(t.scheme.name + (" (chosen)" if t.scheme == choice.scheme else ""),
                          f"{t.output_psnr_db:.2f}", t.scored_with)
        console.print(table)
    for refusal in choice.refused:
        console.print(f"skipped {refusal}", highlight=False)
    console.print(f"scheme: {choice.why}", highlight=False)


def _sensitivity_table(outcome: QuantizeOutcome) -> Table:
    """The most sensitive layers (lowest SQNR first), with the drop each causes alone and whether it stayed FP32.

    "drop alone" (PSNR-Y on the --images folder) and "kept FP32" only show when a budget search measured them.
    """
    kept = {k.node for k in outcome.budget.kept_float} if outcome.budget else set()
    rows = [[s.module, s.op_type, f"{s.sqnr_db:.1f}", f"{s.sqnr_vs_fp32_db:.1f}", _dash(s.drop_alone_db, ".3f"),
             "yes" if s.node in kept else ""]
            for s in sorted(outcome.sensitivity, key=lambda s: s.sqnr_db)[:SENSITIVE_ROWS]]
    columns = ("PyTorch module", "op", "SQNR dB", "SQNR vs FP32 dB", "drop alone dB", "kept FP32")
    title = (f"layer sensitivity on the first {outcome.sensitivity_crops} {outcome.calib_crops} (lowest SQNR first; "
             "SQNR: the layer's own quantization / all layers up to it, vs FP32"
             + (f"; drop alone: PSNR-Y lost on {outcome.val_images} with only it quantized)"
                if any(not math.isnan(s.drop_alone_db) for s in outcome.sensitivity) else ")"))
    return _table(title, columns, rows)
