"""A claim's section of the results page: its families as tables, raw and Holm-adjusted p beside each other."""

from __future__ import annotations

import math

from edgeconv.research.claims import Claim, Family
from edgeconv.research.diversity import PartialCorrelation
from edgeconv.research.inference import SpreadComparison

MEASURE_NAMES = {"zero_shot_accuracy": "zero-shot accuracy", "dissimilarity": "unit dissimilarity",
                 "orientation_spread": "unit orientation spread", "angular_spread": "angular spread (summed map)"}


def p_text(p: float) -> str:
    """A p-value as printed: three decimals, two significant digits below 0.01, a bound below 0.0001."""
    if math.isnan(p):
        return "-"
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.2g}" if p < 0.01 else f"{p:.3f}"


def _scale(task: str, measure: str) -> tuple[float, str, str]:
    """(factor, unit, name) a measure is printed with: percent for shares and accuracies, dB for PSNR."""
    percent = measure in ("r20", "r50", "r99", "zero_shot_accuracy") or (measure == "value" and task != "sr")
    scale, unit = (100.0, " %") if percent else (1.0, " dB" if task == "sr" else "")
    name = ("PSNR-Y" if task == "sr" else "accuracy") if measure == "value" else MEASURE_NAMES.get(measure, measure)
    return scale, unit, name


def _mean_rows(family: Family) -> list[str]:
    lines = ["| task | A | B | measure | A mean ± std | B mean ± std | A - B [95 % CI] | Hedges' g | t | dof | p | "
             "p (Holm) | reading |", "|" + "---|" * 13]
    for (task, c), adjusted, read in zip(family.rows, family.adjusted, family.readings, strict=True):
        scale, unit, name = _scale(task, c.measure)
        low, high = c.ci95
        interval = "" if math.isnan(low) else f" [{scale * low:+.3f}, {scale * high:+.3f}]"
        g = "-" if math.isnan(c.hedges_g) else f"{c.hedges_g:+.2f}"
        lines.append(f"| {task} | {c.a} | {c.b} | {name} | {scale * c.mean_a:.3f} ± {scale * c.std_a:.3f}{unit} | "
                     f"{scale * c.mean_b:.3f} ± {scale * c.std_b:.3f}{unit} | {scale * c.difference:+.3f}{interval}"
                     f"{unit} | {g} | {c.t:+.2f} | {c.dof:.1f} | {p_text(c.p)} | {p_text(adjusted)} | {read} |")
    return lines


def _spread_rows(family: Family) -> list[str]:
    lines = ["| task | A | B | measure | A seed SD | B seed SD | SD ratio A / B | Brown-Forsythe F (dof) | p | "
             "p (Holm) | reading |", "|" + "---|" * 11]
    for (task, c), adjusted, read in zip(family.rows, family.adjusted, family.readings, strict=True):
        scale, unit, name = _scale(task, c.measure)
        f, d1, d2, p = c.test
        lines.append(f"| {task} | {c.a} | {c.b} | {name} | {scale * c.sd_a:.3f}{unit} | {scale * c.sd_b:.3f}{unit} | "
                     f"{c.ratio:.2f} | {f:.2f} ({d1}, {d2}) | {p_text(p)} | {p_text(adjusted)} | {read} |")
    return lines


def _association_rows(family: Family) -> list[str]:
    lines = ["| task | diversity measure | accuracy | n | partial r, size held fixed [95 % CI] | r, size ignored | "
             "r of size alone | p | p (Holm) | reading |", "|" + "---|" * 10]
    for (task, c), adjusted, read in zip(family.rows, family.adjusted, family.readings, strict=True):
        lines.append(f"| {task} | {MEASURE_NAMES.get(c.x, c.x)} | {_scale(task, c.y)[2]} | {c.n} | {c.r:+.2f} "
                     f"[{c.low:+.2f}, {c.high:+.2f}] | {c.r_xy:+.2f} | {c.r_zy:+.2f} | {p_text(c.p)} | "
                     f"{p_text(adjusted)} | {read} |")
    return lines


def family_table(family: Family) -> str:
    """The family as one Markdown table (its kind of test decides the columns); empty without rows."""
    if not family.rows:
        return ""
    first = family.rows[0][1]
    rows = (_spread_rows if isinstance(first, SpreadComparison)
            else _association_rows if isinstance(first, PartialCorrelation) else _mean_rows)
    return "\n".join(rows(family))


def verdict_text(claim: Claim) -> str:
    """``**verdict**`` and, where the sign alone matters, which way the primary estimate points."""
    return f"**{claim.verdict}**" + (f"; {claim.direction}" if claim.direction else "")


def claim_section(number: int, claim: Claim) -> list[str]:
    """The claim's section: the study's words, what was compared, the verdict, then each family's table."""
    out = [f"## {number}. {claim.title}", "", f"Study: *{claim.study}* {claim.note}", "",
           f"Verdict: {verdict_text(claim)}", ""]
    if claim.primary.rows:
        out += [family_table(claim.primary), ""]
    for family in claim.others:
        if family.rows:
            out += [f"{family.label}:", "", family_table(family), ""]
    return out
