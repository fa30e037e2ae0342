"""The study's claims as families of comparisons of our runs, and the verdict each family gives.

``build_claims`` turns the per-task summary rows into one ``Claim`` per statement of the study. A claim's
primary ``Family`` decides it: its p-values are Holm-adjusted together and combined by the one symmetric rule
of ``inference.py``. Other families (secondary measures, exploratory subsets, reference statistics) are shown
beside it, each Holm-adjusted on its own, and never enter the verdict. The results page (``results_page.py``,
``claim_tables.py``) prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgeconv.research.diversity import diversity_association, variant_association
from edgeconv.research.inference import Test, combine, holm, reading, spread_comparison
from edgeconv.research.report import compare

FITS_WINDOW = 0.05  # border share below which an ERF counts as inside its window
JITTERS = ("jitter-random", "jitter-channel", "jitter-subpixel", "jitter-learnable")
STEADIER = ("jitter-learnable", "jitter-channel")  # learnable and structured jitter, against random jitter
SR_SHIFTS = ("jitter-learnable", "shiftwise-rotational", "pixelmix")
DIVERSITY_MEASURES = ("dissimilarity", "orientation_spread", "angular_spread")


@dataclass
class Family:
    """Comparisons adjusted together (Holm); ``decides``: the family the claim's verdict comes from."""

    label: str
    rows: list[tuple[str, Test]]  # (task, comparison)
    decides: bool = False

    @property
    def adjusted(self) -> list[float]:
        """Holm-adjusted p-values, in row order."""
        return holm([t.p for _, t in self.rows])

    @property
    def readings(self) -> list[str]:
        """for / against / n.s. per row, after Holm."""
        return [reading(p, t.points_claimed_way) for p, (_, t) in zip(self.adjusted, self.rows, strict=True)]


@dataclass
class Claim:
    """One sentence of the study, the families of comparisons that test it here, and the verdict."""

    title: str
    study: str
    primary: Family
    note: str = ""
    others: list[Family] = field(default_factory=list)
    direction: str = ""  # said beside the verdict where the sign alone matters (the diversity claim)

    @property
    def verdict(self) -> str:
        """The combining rule over the primary family (``inference.combine``)."""
        return combine(self.primary.readings, [t.points_claimed_way for _, t in self.primary.rows])


def _some(pairs: list[tuple[str, Test | None]]) -> list[tuple[str, Test]]:
    return [(task, c) for task, c in pairs if c is not None]


def _stability(tasks: dict[str, list[dict]], cls_tasks: list[str]) -> Claim:
    """Claim 3: seed-to-seed spread (Brown-Forsythe) decides; the mean comparison is a secondary family."""
    measures = {t: ["value"] + (["zero_shot_accuracy"] if all("zero_shot_accuracy_all" in r for r in tasks[t])
                                else []) for t in cls_tasks}
    spread = [(t, spread_comparison(tasks[t], j, "jitter-random", m)) for t in cls_tasks for j in STEADIER
              for m in measures[t]]
    means = [(t, compare(tasks[t], j, "jitter-random", m)) for t in cls_tasks for j in STEADIER for m in measures[t]]
    return Claim("Learnable / structured shifts are more stable", "Learnable and structured shifts showed more "
                 "stable behavior.", Family("", _some(spread), decides=True),
                 "Stability is the seed-to-seed spread: learnable and channel (structured) jitter against random "
                 "jitter, each seed's accuracy (and zero-shot accuracy), Brown-Forsythe's test of equal spread; the "
                 "claimed way is a smaller SD.",
                 [Family("Secondary, not in the verdict: the means of the same runs (Welch)", _some(means))])


def _diversity(tasks: dict[str, list[dict]]) -> Claim:
    """Claim 6: variant-level partial correlations of ERF diversity with accuracy at equal ERF size."""
    task = "dtd10" if "dtd10" in tasks else "texture"
    rows = tasks.get(task, [])
    metric = "zero_shot_accuracy" if rows and all("zero_shot_accuracy_mean" in r for r in rows) else "value"
    primary = Family("", _some([(task, variant_association(rows, m, metric)) for m in DIVERSITY_MEASURES]), True)
    others = []
    if metric != "value":
        others.append(Family("Secondary, not in the verdict: supervised test accuracy instead of zero-shot",
                             _some([(task, variant_association(rows, "dissimilarity", "value"))])))
    fitting = [r for r in rows if r.get("border_share_mean", 1.0) < FITS_WINDOW]
    if 5 <= len(fitting) < len(rows):
        others.append(Family(f"Exploratory, not in the verdict: a subset chosen after seeing the results, the "
                             f"{len(fitting)} variants whose fields fit the window (border share < {FITS_WINDOW}: "
                             f"{', '.join(r['variant'] for r in fitting)})",
                             _some([(task, variant_association(fitting, "dissimilarity", metric))])))
    runs = diversity_association(rows, "dissimilarity", metric)
    if runs is not None:
        others.append(Family(f"Reference, not in the verdict: the earlier page's statistic, every run as an "
                             f"independent point (n = {runs.n}); seeds of one variant are not independent, so its "
                             "interval is too narrow", [(task, runs)]))
    head = primary.rows[0][1] if primary.rows else None
    direction = "" if head is None else (
        f"{head.x} r = {head.r:+.2f} at variant level: "
        + ("the claimed direction" if head.r > 0 else "opposite to the claim's direction (more diverse, worse)"))
    return Claim("ERF diversity, not only size, matters", "Expanding ERF alone is insufficient; ERF diversity "
                 "matters.", primary, f"Unit of analysis: the variant (seed means, n = {len(rows)}); each ERF "
                 "diversity measure against " + ("zero-shot" if metric != "value" else "test") + " accuracy with ERF "
                 "size r(50 %) held fixed (partial correlation); the claimed way is a positive r.", others, direction)


def build_claims(tasks: dict[str, list[dict]]) -> list[Claim]:
    """The six claims of the study tested on whatever tasks ran."""
    # real DTD images replace the scikit-image stand-in wherever both ran (the stand-in goes to the appendix)
    cls_tasks = [t for t in ("cifar100", "dtd10" if "dtd10" in tasks else "texture") if t in tasks]
    sr = tasks.get("sr", [])
    widen = [(t, compare(tasks[t], j, "plain", "r50")) for t in cls_tasks for j in JITTERS]
    widen += [("sr", compare(sr, "jitter-learnable", "plain", "r50"))]
    costs = [(t, compare(tasks[t], "plain", "jitter-random", "value")) for t in cls_tasks]
    oriented = ("shiftwise-diagonal", "shiftwise-rotational")
    geometry_task, geometry_measure = ("dtd10", "zero_shot_accuracy") if "dtd10" in tasks else ("texture", "value")
    geometry = [(geometry_task, compare(tasks.get(geometry_task, []), v, base, geometry_measure))
                for base in ("shiftwise", "plain") for v in oriented]
    sr_gain = [("sr", compare(sr, v, "plain", "value")) for v in SR_SHIFTS]
    return [
        Claim("Jitter widens the ERF", "Jittering significantly expanded ERF (CIFAR-100).",
              Family("", _some(widen), True),
              "Measure: r(50 %) of the gradient ERF of the last feature map; every jitter mode against plain."),
        Claim("Naive random jitter costs accuracy", "Naive jittering degraded accuracy due to instability.",
              Family("", _some(costs), True), "Plain must beat jitter-random on accuracy."),
        _stability(tasks, cls_tasks),
        Claim("Diagonal + rotational shifts help textures", "Models with diagonal + rotational shift operations "
              "achieved the best performance (DTD).", Family("", _some(geometry), True),
              "Diagonal and rotational ShiftwiseConv against the axis-aligned one and against plain convs "
              "(texture: accuracy; dtd10: zero-shot accuracy on the unseen half)."),
        Claim("Shift modules raise SR PSNR", "Shift-based dynamic modules consistently improved PSNR.",
              Family("", _some(sr_gain), True),
              "Each shift SR net against the plain-conv net of the same budget, PSNR-Y on Set5."),
        _diversity(tasks),
    ]
