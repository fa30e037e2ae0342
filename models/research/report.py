"""Comparison outputs (CSV, JSON, Markdown, plots) and the study's claims with verdicts.

Verdict rule, per comparison "A beats B on a measure": Welch's t = (mean_A - mean_B) / se with
se = sqrt(s_A^2 / n_A + s_B^2 / n_B) and Welch-Satterthwaite degrees of freedom. ``confirmed``
when t is past the two-sided 5 % critical value in the claimed direction; ``not confirmed at
this scale`` when it is past it the other way; ``inconclusive`` otherwise. A claim with several
comparisons is confirmed only if all are, not confirmed if none is and one goes the other way.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from edgeconv.runtime.atomic_write import write_atomic, write_bytes_atomic

# two-sided 5 % critical values of Student's t by degrees of freedom (1..30); beyond: 1.96
T_CRITICAL = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
              2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
              2.052, 2.048, 2.045, 2.042)
CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE = "confirmed", "not confirmed at this scale", "inconclusive"


def t_critical(dof: float) -> float:
    """Two-sided 5 % critical value for ``dof`` degrees of freedom (rounded down, conservative)."""
    d = max(1, int(math.floor(dof)))
    return T_CRITICAL[d - 1] if d <= len(T_CRITICAL) else 1.96


@dataclass
class Comparison:
    """"``a`` beats ``b`` on ``measure``" with its numbers and verdict."""

    a: str
    b: str
    measure: str
    mean_a: float
    std_a: float
    mean_b: float
    std_b: float
    n_a: int
    n_b: int
    higher_is_claimed: bool = True

    @property
    def t(self) -> float:
        """Welch's t of ``mean_a - mean_b`` (infinite when both spreads are zero and the means differ)."""
        se = math.sqrt(self.std_a**2 / self.n_a + self.std_b**2 / self.n_b)
        diff = self.mean_a - self.mean_b
        if se == 0:
            return 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return diff / se

    @property
    def dof(self) -> float:
        """Welch-Satterthwaite degrees of freedom of ``t``."""
        va, vb = self.std_a**2 / self.n_a, self.std_b**2 / self.n_b
        if va + vb == 0:
            return float(self.n_a + self.n_b - 2)
        den = (va**2 / (self.n_a - 1) if self.n_a > 1 else 0) + (vb**2 / (self.n_b - 1) if self.n_b > 1 else 0)
        return (va + vb) ** 2 / den if den > 0 else float(self.n_a + self.n_b - 2)

    @property
    def points_claimed_way(self) -> bool:
        """The means differ in the claimed direction, significant or not."""
        return (self.mean_a > self.mean_b) == self.higher_is_claimed and self.mean_a != self.mean_b

    @property
    def verdict(self) -> str:
        """confirmed / not confirmed at this scale / inconclusive, at the two-sided 5 % level."""
        if min(self.n_a, self.n_b) < 2:
            return INCONCLUSIVE
        signed = self.t if self.higher_is_claimed else -self.t
        crit = t_critical(self.dof)
        return CONFIRMED if signed >= crit else NOT_CONFIRMED if signed <= -crit else INCONCLUSIVE


def combine(verdicts: list[str], claimed_direction: list[bool] | None = None) -> str:
    """A claim's verdict from its comparisons' (and whether each mean difference points the claimed way)."""
    if verdicts and all(v == CONFIRMED for v in verdicts):
        return CONFIRMED
    if NOT_CONFIRMED in verdicts and CONFIRMED not in verdicts:
        return NOT_CONFIRMED
    if CONFIRMED in verdicts:
        return f"{INCONCLUSIVE} (mixed: {verdicts.count(CONFIRMED)} of {len(verdicts)} comparisons confirm)"
    if verdicts and claimed_direction and all(claimed_direction):
        return f"{INCONCLUSIVE} (all {len(verdicts)} differences point the claimed way, none significant)"
    return INCONCLUSIVE


def _row(rows: list[dict], variant: str) -> dict | None:
    return next((r for r in rows if r["variant"] == variant), None)


def compare(rows: list[dict], a: str, b: str, measure: str, higher: bool = True) -> Comparison | None:
    """``a`` vs ``b`` on ``measure`` (``value`` = the task metric, or an ERF measure), or None if absent."""
    ra, rb = _row(rows, a), _row(rows, b)
    if ra is None or rb is None:
        return None
    return Comparison(a, b, measure, ra[f"{measure}_mean"], ra[f"{measure}_std"], rb[f"{measure}_mean"],
                      rb[f"{measure}_std"], ra["n"], rb["n"], higher)


# --- files ---------------------------------------------------------------------------------------

RUN_COLUMNS = ("task", "variant", "seed", "model", "metric", "value", "params", "macs_per_pixel",
               "minutes", "steps", "stopped_by_budget")
ERF_COLUMNS = ("r20", "r30", "r50", "r99", "anisotropy", "orientation_deg", "angular_spread", "effective_area_px")


def runs_csv(records: list) -> str:  # noqa: ANN001 - RunRecord list
    """One CSV row per run: the run's facts, then its ERF measures."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*RUN_COLUMNS, *ERF_COLUMNS])
    for r in records:
        writer.writerow([getattr(r, c) for c in RUN_COLUMNS] + [r.erf[c] for c in ERF_COLUMNS])
    return buf.getvalue()


def _pm(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def summary_markdown(rows: list[dict]) -> str:
    """The table of mean ± std per variant."""
    if not rows:
        return "(no runs)\n"
    metric = rows[0]["metric"]
    scale = 100.0 if metric == "accuracy" else 1.0
    label = "accuracy %" if metric == "accuracy" else "PSNR-Y dB"
    head = (f"| variant | n | {label} | params | MACs/px | ORT ms | r20 % | r50 % | r99 % | anisotropy | "
            "angular spread | eff. area px |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lat = "-" if r["latency_ms"] is None else f"{r['latency_ms']:.2f}"
        lines.append(
            f"| {r['variant']} | {r['n']} | {_pm(scale * r['value_mean'], scale * r['value_std'], 2)} | "
            f"{r['params']:,} | {r['macs_per_pixel']:,.0f} | {lat} | "
            f"{_pm(100 * r['r20_mean'], 100 * r['r20_std'], 3)} | "
            f"{_pm(100 * r['r50_mean'], 100 * r['r50_std'], 3)} | "
            f"{_pm(100 * r['r99_mean'], 100 * r['r99_std'], 2)} | "
            f"{_pm(r['anisotropy_mean'], r['anisotropy_std'], 3)} | "
            f"{_pm(r['angular_spread_mean'], r['angular_spread_std'], 3)} | "
            f"{_pm(r['effective_area_px_mean'], r['effective_area_px_std'], 1)} |"
        )
    shape = "1x3x180x320 (LR)" if rows[0]["task"] == "sr" else "1x3x128x128 (32x32 is all call overhead)"
    lines += ["", f"Mean ± sample std over seeds. ORT ms: deploy graph in ONNX Runtime, input {shape}, median of 30 "
              "runs, best of 2 rounds with all variants timed in turn. MACs/px: deploy form, per input pixel. "
              "ERF: gradient ERF of the last feature map (r(t) as a share of the input crop)."]
    return "\n".join(lines) + "\n"


def plot_summary(rows: list[dict], out: Path) -> None:
    """Two panels: the metric (mean ± std) per variant, and metric vs ERF r(50 %) per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = rows[0]["metric"]
    scale = 100.0 if metric == "accuracy" else 1.0
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    names = [r["variant"] for r in rows]
    left.bar(names, [scale * r["value_mean"] for r in rows], yerr=[scale * r["value_std"] for r in rows], capsize=3)
    low = min(scale * (r["value_mean"] - 2 * r["value_std"]) for r in rows)
    high = max(scale * (r["value_mean"] + 2 * r["value_std"]) for r in rows)
    left.set_ylim(low - 0.1 * (high - low + 1e-9), high + 0.1 * (high - low + 1e-9))
    left.set_ylabel("accuracy %" if metric == "accuracy" else "PSNR-Y dB")
    left.tick_params(axis="x", rotation=35, labelsize=7)
    for r in rows:
        right.scatter([100 * v for v in r["r50_all"]], [scale * v for v in r["value_all"]], label=r["variant"], s=18)
    right.set_xlabel("ERF r(50 %) of the input, %")
    right.set_ylabel(left.get_ylabel())
    right.legend(fontsize=6)
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    write_atomic(out, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def write_task_outputs(records: list, rows: list[dict], folder: Path) -> None:  # noqa: ANN001
    """runs.csv, summary.json, summary.md and summary.png in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(folder / "runs.csv", runs_csv(records).encode())
    write_bytes_atomic(folder / "summary.json", json.dumps(rows, indent=1).encode())
    write_bytes_atomic(folder / "summary.md", summary_markdown(rows).encode())
    try:
        plot_summary(rows, folder / "summary.png")
    except ImportError:
        pass
