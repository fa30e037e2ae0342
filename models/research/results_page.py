"""docs/RESULTS.md: the study's claims one by one, each with our measured numbers and a verdict.

The page is committed, so every path it names is relative to the repository that holds it
(``../shared/data/sr/T91``), never an absolute path of the machine that ran the comparison.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from edgeconv.models.research.compare import TaskOutcome
from edgeconv.models.research.report import Comparison, combine, compare, summary_markdown
from edgeconv.runtime.atomic_write import write_bytes_atomic

RESULT_FILES = ("summary.md", "summary.json", "runs.csv", "summary.png", "erf_grid.png")
TEXTURE_STAND_IN = (
    "DTD is absent: 8 grey texture classes cut from scikit-image's real images (brick, grass, gravel, moon, "
    "cell, immunohistochemistry, hubble_deep_field, retina); train crops from the left 60 % of each image, "
    "val crops from the right 40 % (120 / 40 per class, 24-64 px regions resized to 64, fed at 32)"
)


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
    cls_tasks = [t for t in ("cifar100", "texture", "dtd10") if t in tasks]
    sr = tasks.get("sr", [])
    widen = [(t, compare(tasks[t], j, "plain", "r50")) for t in cls_tasks for j in JITTERS]
    widen += [("sr", compare(sr, "jitter-learnable", "plain", "r50"))]
    costs = [(t, compare(tasks[t], "plain", "jitter-random", "value")) for t in cls_tasks]
    stable = [(t, compare(tasks[t], j, "jitter-random", "value")) for t in cls_tasks
              for j in ("jitter-learnable", "jitter-channel")]
    texture = tasks.get("texture", [])
    oriented = ("shiftwise-diagonal", "shiftwise-rotational")
    geometry = [("texture", compare(texture, v, base, "value")) for base in ("shiftwise", "plain") for v in oriented]
    geometry += [("dtd10", compare(tasks.get("dtd10", []), v, base, "zero_shot_accuracy"))
                 for base in ("shiftwise", "plain") for v in oriented]  # the study's DTD claim is zero-shot
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


def _difference(c: Comparison, scale: float, unit: str) -> str:
    """``A - B [95 % CI] unit`` (the interval left out below two seeds a side)."""
    low, high = c.ci95
    interval = "" if math.isnan(low) else f" [{scale * low:+.3f}, {scale * high:+.3f}]"
    return f"{scale * c.difference:+.3f}{interval}{unit}"


def _comparison_table(claim: Claim) -> str:
    lines = ["| task | A | B | measure | A mean ± std | B mean ± std | A - B [95 % CI] | Hedges' g | t | dof | "
             "verdict |", "|" + "---|" * 11]
    for task, c in claim.comparisons:
        percent = c.measure in ("r20", "r50", "r99", "zero_shot_accuracy") or (c.measure == "value" and task != "sr")
        scale, unit = (100.0, " %") if percent else (1.0, " dB" if task == "sr" else "")
        name = c.measure if c.measure != "value" else "PSNR-Y" if task == "sr" else "accuracy"
        name = "zero-shot accuracy" if c.measure == "zero_shot_accuracy" else name
        a = f"{scale * c.mean_a:.3f} ± {scale * c.std_a:.3f}{unit}"
        b = f"{scale * c.mean_b:.3f} ± {scale * c.std_b:.3f}{unit}"
        g = "-" if math.isnan(c.hedges_g) else f"{c.hedges_g:+.2f}"
        lines.append(f"| {task} | {c.a} | {c.b} | {name} | {a} | {b} | {_difference(c, scale, unit)} | {g} | "
                     f"{c.t:+.2f} | {c.dof:.1f} | {c.verdict} |")
    return "\n".join(lines)


def repository_root(page: Path) -> Path:
    """The repository a page belongs to: the nearest folder above it with ``.git`` or ``pyproject.toml``,
    else the page's own folder."""
    page = Path(page).resolve()
    for folder in page.parents:
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return page.parent


def repo_path(path: Path, root: Path) -> str:
    """``path`` as a committed page names it: relative to the repository ``root``, POSIX separators."""
    return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()


def data_sources(outcomes: list[TaskOutcome], root: Path, textures_built: bool) -> dict[str, str]:
    """The page's Data section, one line per task (paths relative to ``root``); CIFAR-100 says when it did not run."""
    sources = {}
    for outcome in outcomes:
        s = outcome.settings
        if s.task == "sr":
            sources["sr"] = (f"train on {repo_path(s.data, root)} (91 images), "
                             f"score PSNR-Y x2 on {repo_path(s.val or s.data, root)}")
        elif s.task == "texture":
            sources["texture"] = TEXTURE_STAND_IN if textures_built else f"image folders at {repo_path(s.data, root)}"
        elif s.task == "dtd10":
            sources["dtd10"] = (f"DTD10 at {repo_path(s.data, root)}, the fixed split (every third sorted file of a "
                                f"class is test), colour, fed at {s.crop} px; zero-shot: half the classes trained, the "
                                "other half by nearest class mean of frozen features, each half unseen once")
        else:
            sources["cifar100"] = f"CIFAR-100 python files at {repo_path(s.data, root)}"
    sources.setdefault("cifar100", "not run: the CIFAR-100 files are not on this machine (no downloads)")
    return sources


def write_results_page(page: Path, outcomes: list[TaskOutcome], textures_built: bool) -> Path:
    """Copy each task's tables and plots to ``<page folder>/results/<task>/`` and write the page; returns ``page``."""
    root = repository_root(page)
    for outcome in outcomes:
        source, target = outcome.settings.out / outcome.settings.task, page.parent / "results" / outcome.settings.task
        target.mkdir(parents=True, exist_ok=True)
        for name in RESULT_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, target / name)
    tasks = {o.settings.task: o.rows for o in outcomes}
    budget = {o.settings.task: {"variants": len(o.settings.variants), "seeds": len(o.settings.seeds),
                                "steps": o.settings.steps, "batch": o.settings.batch_size, "minutes": o.minutes}
              for o in outcomes}
    seeds = max((len(o.settings.seeds) for o in outcomes), default=0)
    command = f"edgeconv compare --tasks {','.join(tasks)} --seeds {seeds} --results {repo_path(page, root)}"
    text = results_markdown(tasks, budget, command, data_sources(outcomes, root, textures_built),
                            plots=repo_path(page.parent / "results", root))
    write_bytes_atomic(page, text.encode())
    return page


def results_markdown(
    tasks: dict[str, list[dict]], budget: dict[str, dict], command: str, sources: dict[str, str],
    plots: str = "docs/results",
) -> str:
    """The whole page; ``plots`` is the repository-relative folder holding ``<task>/summary.png``."""
    claims = build_claims(tasks)
    verdict, sentence = diversity_finding(tasks.get("texture", []))
    out = [
        "# Results: does shift geometry pay? Measured here, honestly",
        "",
        f"Generated on {date.today().isoformat()} by `{command}` ({platform.processor() or platform.machine()}, "
        f"{platform.system()}, CPU only). Every number below comes from that one command; re-running it "
        "reuses finished runs and redoes nothing else.",
        "",
        "## Data",
        "",
        *[f"- **{task}**: {text}" for task, text in sources.items()],
        "",
        "## Budget",
        "",
        "Identical hyper-parameters for every variant within a task; the last step is scored (no best-step "
        "picking on the scoring images).",
        "",
        "| task | variants | seeds | steps | batch | total CPU minutes |",
        "|---|---|---|---|---|---|",
        *[f"| {t} | {b['variants']} | {b['seeds']} | {b['steps']} | {b['batch']} | {b['minutes']:.1f} |"
          for t, b in budget.items()],
        "",
        "## Verdicts",
        "",
        "| claim (the study's words) | verdict here |",
        "|---|---|",
        *[f"| {c.title}: *{c.study}* | **{c.verdict}** |" for c in claims],
        f"| ERF diversity, not only size, matters | **{verdict}** |",
        "",
    ]
    for i, c in enumerate(claims, 1):
        out += [f"## {i}. {c.title}", "", f"Study: *{c.study}* {c.note}", "", f"Verdict: **{c.verdict}**", ""]
        if c.comparisons:
            out += [_comparison_table(c), ""]
    out += [f"## {len(claims) + 1}. ERF diversity, not only size, matters", "",
            "Study: *Expanding ERF alone is insufficient; ERF diversity matters.*", "",
            f"Verdict: **{verdict}**. {sentence}", ""]
    for task, rows in tasks.items():
        out += [f"## Table: {task}", "", summary_markdown(rows),
                f"Plots: `{plots}/{task}/summary.png` (metric per variant; metric vs ERF r(50 %)), "
                f"`{plots}/{task}/erf_grid.png` (seed-0 ERF heat maps, one colour scale).", ""]
    out += [
        "## Method",
        "",
        "- ERF: RepLKNet's gradient ERF of the last feature map (centre activation, ReLU'd input gradient summed "
        "over RGB, averaged over real images, log10(P+1) normalised), r(t) = share of the input the smallest "
        "centred square holding t of the mass covers (interpolated between odd sides). Diversity measures and "
        "their formulas: `runtime/erf/measures.py` (anisotropy = ratio of principal axes of the second moments, "
        "orientation, angular spread = normalised entropy over 8 orientation bins, effective area = exp entropy).",
        "- Verdicts: Welch's t between the two variants' seed results, two-sided 5 % critical value for the "
        "Welch-Satterthwaite degrees of freedom; a claim with several comparisons is confirmed only if all are. "
        "Each comparison also gives A - B with its 95 % interval (same se and dof: it excludes 0 exactly when the "
        "verdict is not inconclusive, and bounds the effect an inconclusive run could have missed) and Hedges' g.",
        "- At this scale (minutes of CPU per run, ResNet-18 at width 16, 32 px inputs; dtd10 at its crop) an "
        "effect the study saw on full-size training can vanish or flip: 'not confirmed at this scale' says "
        "exactly that, no more.",
        "",
    ]
    return "\n".join(out)
