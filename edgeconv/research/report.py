"""Comparison outputs (CSV, JSON, Markdown, plots) and the study's claims with verdicts.

Reading of one comparison "A beats B on a measure", on its own (the per-task effects tables): Welch's
t = (mean_A - mean_B) / se with se = sqrt(s_A^2 / n_A + s_B^2 / n_B), Welch-Satterthwaite degrees of
freedom and its two-sided p-value; ``confirmed`` / ``not confirmed at this scale`` / ``inconclusive`` at
the unadjusted 5 % level. A claim's verdict does not come from here: its comparisons are Holm-adjusted
as one family and combined in ``inference.py``.

Effect sizes, so "inconclusive" says how large an effect the run could have seen: the mean difference
with its 95 % confidence interval (diff ± t_0.975(dof) * se, the same se and dof as the verdict, so the
interval excludes 0 exactly when the verdict is not inconclusive) and Hedges' g (the difference over the
pooled std, times the exact small-sample correction J(n_a + n_b - 2)). Student's t quantile is computed
here (regularised incomplete beta), with no scipy.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from edgeconv.runtime.atomic_write import write_atomic, write_bytes_atomic

CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE = "confirmed", "not confirmed at this scale", "inconclusive"


def _incomplete_beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and x in [0, 1]: what Student's t CDF is made of."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _incomplete_beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _incomplete_beta_fraction(b, a, 1.0 - x) / b


def student_t_cdf(t: float, dof: float) -> float:
    """P(T <= t) for Student's t with ``dof`` > 0 degrees of freedom (fractional allowed, as Welch's are)."""
    tail = 0.5 * regularized_beta(dof / 2, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, dof: float) -> float:
    """The ``p`` quantile of Student's t with ``dof`` > 0 degrees of freedom, by bisection on the CDF."""
    if not 0.0 < p < 1.0 or not dof > 0:
        raise ValueError(f"t quantile needs 0 < p < 1 and dof > 0, got p={p}, dof={dof}")
    if p < 0.5:
        return -t_quantile(1.0 - p, dof)
    low, high = 0.0, 1.0
    while student_t_cdf(high, dof) < p:
        low, high = high, 2 * high
    for _ in range(200):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if student_t_cdf(mid, dof) < p else (low, mid)
        if high - low <= 1e-12 * max(1.0, high):
            break
    return 0.5 * (low + high)


def t_critical(dof: float) -> float:
    """Two-sided 5 % critical value of Student's t for ``dof`` (Welch-Satterthwaite, fractional) degrees of freedom."""
    return t_quantile(0.975, max(dof, 1e-9))


def hedges_g(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> float:
    """Hedges' g of ``a - b``: difference over the pooled sample std, times the exact small-sample correction
    J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)), df = n_a + n_b - 2; NaN below 2 degrees of freedom."""
    df = n_a + n_b - 2
    if df < 2:
        return math.nan
    pooled = math.sqrt(((n_a - 1) * std_a**2 + (n_b - 1) * std_b**2) / df)
    diff = mean_a - mean_b
    if pooled == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    correction = math.exp(math.lgamma(df / 2) - math.lgamma((df - 1) / 2)) / math.sqrt(df / 2)
    return correction * diff / pooled


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
    def se(self) -> float:
        """Standard error of ``mean_a - mean_b`` (Welch: each variant's own variance)."""
        return math.sqrt(self.std_a**2 / self.n_a + self.std_b**2 / self.n_b)

    @property
    def difference(self) -> float:
        """``mean_a - mean_b``, in the measure's units."""
        return self.mean_a - self.mean_b

    @property
    def ci95(self) -> tuple[float, float]:
        """95 % confidence interval of ``mean_a - mean_b`` (Welch); NaNs with fewer than 2 seeds a side."""
        if min(self.n_a, self.n_b) < 2:
            return math.nan, math.nan
        half = t_critical(self.dof) * self.se
        return self.difference - half, self.difference + half

    @property
    def hedges_g(self) -> float:
        """Hedges' g of ``a - b`` (bias-corrected standardised difference)."""
        return hedges_g(self.mean_a, self.std_a, self.n_a, self.mean_b, self.std_b, self.n_b)

    @property
    def t(self) -> float:
        """Welch's t of ``mean_a - mean_b`` (infinite when both spreads are zero and the means differ)."""
        se, diff = self.se, self.difference
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
    def p(self) -> float:
        """Two-sided p-value of Welch's t (NaN with fewer than 2 seeds a side)."""
        if min(self.n_a, self.n_b) < 2:
            return math.nan
        return 2 * student_t_cdf(-abs(self.t), self.dof)

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
    """One CSV row per run: the run's facts, its ERF measures (the common ones, then any further ones by name:
    dtd10's border shares and unit diversity), then any scalar extras (dtd10: zero-shot accuracy); a measure a
    run lacks is an empty cell. Every per-run measure the results page uses is here."""
    extras = sorted({k for r in records for k, v in getattr(r, "extra", {}).items() if isinstance(v, int | float)})
    more = sorted({k for r in records for k, v in r.erf.items() if isinstance(v, int | float)} - set(ERF_COLUMNS))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*RUN_COLUMNS, *ERF_COLUMNS, *more, *extras])
    for r in records:
        extra = getattr(r, "extra", {})
        writer.writerow([getattr(r, c) for c in RUN_COLUMNS] + [r.erf[c] for c in ERF_COLUMNS]
                        + [r.erf.get(c, "") for c in more] + [extra.get(c, "") for c in extras])
    return buf.getvalue()


def _pm(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _latency(row: dict) -> str:
    """``median [q1, q3]`` ms when the row carries the quartiles of its repeats, else the one median, else ``-``."""
    if row["latency_ms"] is None:
        return "-"
    if "latency_q1_ms" not in row:
        return f"{row['latency_ms']:.2f}"
    return f"{row['latency_ms']:.2f} [{row['latency_q1_ms']:.2f}, {row['latency_q3_ms']:.2f}]"


def _zero_shot(rows: list[dict]) -> bool:
    """Every row holds a zero-shot accuracy (the dtd10 task)."""
    return all("zero_shot_accuracy_mean" in r for r in rows)


def summary_markdown(rows: list[dict]) -> str:
    """The table of mean ± std per variant, then each variant's effect against plain (``effects_markdown``)."""
    if not rows:
        return "(no runs)\n"
    metric = rows[0]["metric"]
    scale = 100.0 if metric == "accuracy" else 1.0
    label = "accuracy %" if metric == "accuracy" else "PSNR-Y dB"
    zero_shot = _zero_shot(rows)
    head = (f"| variant | n | {label} | {'zero-shot accuracy % | ' if zero_shot else ''}params | MACs/px | ORT ms | "
            "r20 % | r50 % | r99 % | anisotropy | angular spread | eff. area px |")
    lines = [head, "|" + "---|" * (13 if zero_shot else 12)]
    for r in rows:
        lat = _latency(r)
        zs = (f"{_pm(100 * r['zero_shot_accuracy_mean'], 100 * r['zero_shot_accuracy_std'], 2)} | "
              if zero_shot else "")
        lines.append(
            f"| {r['variant']} | {r['n']} | {_pm(scale * r['value_mean'], scale * r['value_std'], 2)} | {zs}"
            f"{r['params']:,} | {r['macs_per_pixel']:,.0f} | {lat} | "
            f"{_pm(100 * r['r20_mean'], 100 * r['r20_std'], 3)} | "
            f"{_pm(100 * r['r50_mean'], 100 * r['r50_std'], 3)} | "
            f"{_pm(100 * r['r99_mean'], 100 * r['r99_std'], 2)} | "
            f"{_pm(r['anisotropy_mean'], r['anisotropy_std'], 3)} | "
            f"{_pm(r['angular_spread_mean'], r['angular_spread_std'], 3)} | "
            f"{_pm(r['effective_area_px_mean'], r['effective_area_px_std'], 1)} |"
        )
    shape = "1x3x180x320 (LR)" if rows[0]["task"] == "sr" else "1x3x128x128 (32x32 is all call overhead)"
    timing = ("median [inter-quartile range] over repeats, each the median of 30 runs, all variants timed in turn "
              "(how and where: `latency.json` beside the runs)" if "latency_q1_ms" in rows[0]
              else "median of 30 runs, best of 2 rounds with all variants timed in turn")
    lines += ["", f"Mean ± sample std over seeds. ORT ms: deploy graph in ONNX Runtime, input {shape}, {timing}. "
              "MACs/px: deploy form, per input pixel. ERF: gradient ERF of the last feature map (r(t) as a share of "
              "the input crop)."]
    if zero_shot:
        lines += ["", "Accuracy: all classes, on the fixed test files. Zero-shot: a net trained on half the classes "
                  "(train files), the other half classified by nearest class mean of its frozen pooled features "
                  "(means from their train files, scored on their test files), averaged over both halves."]
    effects = effects_markdown(rows)
    return "\n".join(lines) + "\n" + (f"\n{effects}" if effects else "")


def effects_markdown(rows: list[dict], baseline: str = "plain") -> str:
    """Each variant against ``baseline`` on the task metric (and zero-shot accuracy): the difference with its
    95 % interval, Hedges' g, Welch's t and the 5 % reading; empty without the baseline or another variant."""
    base = _row(rows, baseline)
    if base is None or len(rows) < 2:
        return ""
    metric = rows[0]["metric"]
    measures = [("value", "accuracy" if metric == "accuracy" else "PSNR-Y")]
    measures += [("zero_shot_accuracy", "zero-shot accuracy")] if _zero_shot(rows) else []
    unit, scale = (" pp", 100.0) if metric == "accuracy" else (" dB", 1.0)
    reading = {CONFIRMED: "higher", NOT_CONFIRMED: "lower"}
    lines = [f"| variant | measure | vs {baseline}: difference [95 % CI] | Hedges' g | Welch t | dof | at 5 % |",
             "|" + "---|" * 7]
    for r in rows:
        if r["variant"] == baseline:
            continue
        for measure, name in measures:
            c = compare(rows, r["variant"], baseline, measure)
            if c is None:
                continue
            low, high = c.ci95
            ci = "-" if math.isnan(low) else f"[{scale * low:+.2f}, {scale * high:+.2f}]"
            g = "-" if math.isnan(c.hedges_g) else f"{c.hedges_g:+.2f}"
            lines.append(f"| {r['variant']} | {name} | {scale * c.difference:+.2f}{unit} {ci} | {g} | {c.t:+.2f} | "
                         f"{c.dof:.1f} | {reading.get(c.verdict, INCONCLUSIVE)} |")
    lines += ["", f"Difference: variant minus {baseline}{' in percentage points' if scale == 100 else ''}; its 95 % "
              "interval (Welch) bounds the effect this many seeds could have seen: an inconclusive row still rules "
              "out effects outside it. Hedges' g: the difference in pooled seed standard deviations. At 5 %: each row "
              "on its own, unadjusted for the other rows (descriptive; the claims' verdicts come from Holm-adjusted "
              "families)."]
    return "\n".join(lines) + "\n"


def plot_summary(rows: list[dict], out: Path) -> None:
    """Write ``summary_figure(rows)`` as a PNG."""
    import matplotlib.pyplot as plt

    fig = summary_figure(rows)
    write_atomic(out, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def summary_figure(rows: list[dict]):  # noqa: ANN201 - a matplotlib Figure
    """Two panels, one colour per variant in both: the metric (mean ± std over seeds) per variant, and the metric
    against ERF r(50 %) per run; one legend below, naming the variants' colours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = rows[0]["metric"]
    scale = 100.0 if metric == "accuracy" else 1.0
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    names = [r["variant"] for r in rows]
    colours = [f"C{i % 10}" for i in range(len(rows))]
    left.bar(names, [scale * r["value_mean"] for r in rows], yerr=[scale * r["value_std"] for r in rows], capsize=3,
             color=colours)
    low = min(scale * (r["value_mean"] - 2 * r["value_std"]) for r in rows)
    high = max(scale * (r["value_mean"] + 2 * r["value_std"]) for r in rows)
    left.set_ylim(low - 0.1 * (high - low + 1e-9), high + 0.1 * (high - low + 1e-9))
    left.set_ylabel("accuracy %" if metric == "accuracy" else "PSNR-Y dB")
    left.set_title(f"mean ± std over seeds (n = {min(r['n'] for r in rows)}-{max(r['n'] for r in rows)})"
                   if len({r["n"] for r in rows}) > 1 else f"mean ± std over {rows[0]['n']} seeds", fontsize=9)
    left.tick_params(axis="x", rotation=35, labelsize=7)
    for r, colour in zip(rows, colours, strict=True):
        right.scatter([100 * v for v in r["r50_all"]], [scale * v for v in r["value_all"]], label=r["variant"], s=18,
                      color=colour)
    right.set_xlabel("ERF r(50 %) of the input, %")
    right.set_ylabel(left.get_ylabel())
    right.set_title("each run (seed)", fontsize=9)
    right.grid(True, alpha=0.3)
    fig.legend(*right.get_legend_handles_labels(), loc="outside lower center", ncol=min(len(rows), 5), fontsize=7,
               frameon=False, title="variant (the same colour in both panels)", title_fontsize=7)
    return fig


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
