"""The study's claims as comparisons of our runs: which variants each claim sets against which, and its finding.

``build_claims`` turns the per-task run rows into one ``Claim`` per statement of the study; the results page
(``results_page.py``) prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeconv.research.report import Comparison, combine, compare


@dataclass
class Claim:
    """One sentence of the study, the comparisons that test it here, and the verdict."""

    title: str
    study: str
    comparisons: list[tuple[str, Comparison]]  # (task, comparison)
    note: str = ""

    @property
    def verdict(self) -> str:
        """The claim's verdict from its comparisons, or 'not tested' when none ran."""
        if not self.comparisons:
            return "not tested (no data for it in this run)"
        return combine([c.verdict for _, c in self.comparisons], [c.points_claimed_way for _, c in self.comparisons])


JITTERS = ("jitter-random", "jitter-channel", "jitter-learnable")


def _some(pairs: list[tuple[str, Comparison | None]]) -> list[tuple[str, Comparison]]:
    return [(task, c) for task, c in pairs if c is not None]


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sx = sum((a - mx) ** 2 for a in rx) ** 0.5
    sy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (sx * sy) if sx and sy else 0.0


def build_claims(tasks: dict[str, list[dict]]) -> list[Claim]:
    """The five claims of the study (plus the key finding) tested on whatever tasks ran."""
    # real DTD images replace the scikit-image stand-in wherever both ran (the stand-in goes to the appendix)
    cls_tasks = [t for t in ("cifar100", "dtd10" if "dtd10" in tasks else "texture") if t in tasks]
    sr = tasks.get("sr", [])
    widen = [(t, compare(tasks[t], j, "plain", "r50")) for t in cls_tasks for j in JITTERS]
    widen += [("sr", compare(sr, "jitter-learnable", "plain", "r50"))]
    costs = [(t, compare(tasks[t], "plain", "jitter-random", "value")) for t in cls_tasks]
    stable = [(t, compare(tasks[t], j, "jitter-random", "value")) for t in cls_tasks
              for j in ("jitter-learnable", "jitter-channel")]
    oriented = ("shiftwise-diagonal", "shiftwise-rotational")
    if "dtd10" in tasks:  # the study's DTD claim is zero-shot
        geometry = [("dtd10", compare(tasks["dtd10"], v, base, "zero_shot_accuracy"))
                    for base in ("shiftwise", "plain") for v in oriented]
    else:
        geometry = [("texture", compare(tasks.get("texture", []), v, base, "value"))
                    for base in ("shiftwise", "plain") for v in oriented]
    sr_shifts = ("jitter-learnable", "shiftwise-rotational", "pixelmix")
    sr_gain = [("sr", compare(sr, v, "plain", "value")) for v in sr_shifts]
    return [
        Claim("Jitter widens the ERF", "Jittering significantly expanded ERF (CIFAR-100).", _some(widen),
              "Measure: r(50 %) of the gradient ERF of the last feature map; each jitter mode against plain."),
        Claim("Naive random jitter costs accuracy", "Naive jittering degraded accuracy due to instability.",
              _some(costs), "Plain must beat jitter-random on accuracy."),
        Claim("Learnable / structured shifts are more stable", "Learnable and structured shifts showed more "
              "stable behavior.", _some(stable), "Learnable and channel (structured) jitter against random "
              "jitter on accuracy; the seed spread of each is in the tables."),
        Claim("Diagonal + rotational shifts help textures", "Models with diagonal + rotational shift operations "
              "achieved the best performance (DTD).", _some(geometry),
              "Diagonal and rotational ShiftwiseConv against the axis-aligned one and against plain convs "
              "(texture: accuracy; dtd10: zero-shot accuracy on the unseen half)."),
        Claim("Shift modules raise SR PSNR", "Shift-based dynamic modules consistently improved PSNR.",
              _some(sr_gain), "Each shift SR net against the plain-conv net of the same budget, PSNR-Y on Set5."),
    ]


def diversity_finding(rows: list[dict]) -> tuple[str, str]:
    """(verdict, sentence) for 'ERF diversity, not only size, matters' across the variants of a task."""
    if len(rows) < 4:
        return "not tested (fewer than 4 variants)", ""
    acc = [r["value_mean"] for r in rows]
    size = spearman([r["r50_mean"] for r in rows], acc)
    spread = spearman([r["angular_spread_mean"] for r in rows], acc)
    area = spearman([r["effective_area_px_mean"] for r in rows], acc)
    critical = {4: 1.0, 5: 1.0, 6: 0.886, 7: 0.786, 8: 0.738, 9: 0.700}.get(len(rows), 0.65)
    best = max(spread, area)
    verdict = ("confirmed" if best >= critical and best > size
               else "not confirmed at this scale" if best <= 0 else "inconclusive")
    sentence = (f"Spearman rank correlation with accuracy across {len(rows)} variants: ERF size r(50 %) "
                f"{size:+.2f}, angular spread {spread:+.2f}, effective area {area:+.2f} (|rho| >= {critical} "
                "is significant at 5 % for this many variants).")
    spreads = [r["angular_spread_mean"] for r in rows]
    if max(spreads) - min(spreads) < 0.01:
        sentence += (f" Angular spread only spans {min(spreads):.3f}-{max(spreads):.3f}: the ERFs fill the input crop "
                     "in every orientation, so at this input size it cannot tell the variants apart and its "
                     "correlation is a ranking of noise.")
    return verdict, sentence
