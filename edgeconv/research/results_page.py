"""docs/RESULTS.md: the study's claims one by one, each with our measured numbers and a verdict.

The page is committed, so every path it names is relative to the repository that holds it
(``../shared/data/sr/T91``), never an absolute path of the machine that ran the comparison.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
from datetime import date
from pathlib import Path

from edgeconv.research.claims import Claim, build_claims, diversity_finding
from edgeconv.research.compare import TaskOutcome
from edgeconv.research.report import Comparison, summary_markdown
from edgeconv.runtime.atomic_write import write_bytes_atomic

FITS_WINDOW = 0.05  # border share below which an ERF counts as inside its window
BUDGET_FILE = "budget.json"  # beside each task's summary: how, when and where it ran (kept tasks reuse it)
RESULT_FILES = ("summary.md", "summary.json", "runs.csv", "summary.png", "erf_grid.png")
TEXTURE_STAND_IN = (
    "DTD is absent: 8 grey texture classes cut from scikit-image's real images (brick, grass, gravel, moon, "
    "cell, immunohistochemistry, hubble_deep_field, retina); train crops from the left 60 % of each image, "
    "val crops from the right 40 % (120 / 40 per class, 24-64 px regions resized to 64, fed at 32)"
)


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
            scale = (f"shorter side resized to {s.load_size} px, random {s.crop} px crops (and flips) to train, the "
                     f"centre {s.crop} px scored" if s.load_size else f"fed at {s.crop} px")
            sources["dtd10"] = (f"DTD10 at {repo_path(s.data, root)}, the fixed split (every third sorted file of a "
                                f"class is test), colour, {scale}; ResNet-18 layout with a stride-2 stem; zero-shot: "
                                "half the classes trained, the other half by nearest class mean of frozen features, "
                                "each half unseen once")
        else:
            sources["cifar100"] = f"CIFAR-100 python files at {repo_path(s.data, root)}"
    sources.setdefault("cifar100", "not run: the CIFAR-100 files are not on this machine (no downloads)")
    return sources


def machine_name() -> str:
    """The CPU model and core count (``/proc/cpuinfo`` where there is one), else what ``platform`` knows."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()}"


def comparison_command(outcomes: list[TaskOutcome], page: Path, root: Path) -> str:
    """The ``edgeconv compare`` line that reproduces these outcomes (and reuses their runs), paths repo-relative."""
    tasks = [o.settings for o in outcomes]
    parts = ["edgeconv compare", f"--tasks {','.join(s.task for s in tasks)}",
             f"--seeds {max((len(s.seeds) for s in tasks), default=0)}"]
    cls = [s for s in tasks if s.task != "sr"]
    if cls:
        c = cls[0]
        parts += [f"--cls-variants {','.join(c.variants)}", f"--cls-steps {c.steps}", f"--cls-batch {c.batch_size}"]
    for s in tasks:
        if s.task == "dtd10":
            parts += [f"--crop {s.crop}"] + ([f"--load-size {s.load_size}"] if s.load_size else [])
    if tasks:
        parts.append(f"--out {repo_path(tasks[0].out, root)}")
    return " ".join([*parts, f"--results {repo_path(page, root)}"])


def kept_tasks(results: Path, running: set[str]) -> dict[str, tuple[list[dict], dict]]:
    """Tasks an earlier comparison left in ``results/<task>/`` (summary and budget) that this one does not rerun."""
    kept = {}
    for folder in sorted(p for p in results.iterdir() if p.is_dir()) if results.is_dir() else []:
        summary, budget = folder / "summary.json", folder / BUDGET_FILE
        if folder.name not in running and summary.is_file() and budget.is_file():
            kept[folder.name] = (json.loads(summary.read_text()), json.loads(budget.read_text()))
    return kept


def write_results_page(page: Path, outcomes: list[TaskOutcome], textures_built: bool) -> Path:
    """Copy each task's tables and plots to ``<page folder>/results/<task>/`` and write the page; returns ``page``.

    Tasks not run now but left in ``results/<task>/`` by an earlier comparison (with its ``budget.json``)
    stay on the page, under their own command, date and machine.
    """
    root = repository_root(page)
    command = comparison_command(outcomes, page, root)
    sources = data_sources(outcomes, root, textures_built)
    budget = {}
    for outcome in outcomes:
        s = outcome.settings
        source, target = s.out / s.task, page.parent / "results" / s.task
        target.mkdir(parents=True, exist_ok=True)
        for name in RESULT_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, target / name)
        budget[s.task] = {"variants": len(s.variants), "seeds": len(s.seeds), "steps": s.steps,
                          "batch": s.batch_size, "minutes": outcome.minutes, "command": command,
                          "date": date.today().isoformat(), "machine": f"{machine_name()}; nets on {s.device}",
                          "source": sources[s.task]}
        write_bytes_atomic(target / BUDGET_FILE, json.dumps(budget[s.task], indent=1).encode())
    tasks = {o.settings.task: o.rows for o in outcomes}
    for task, (rows, kept_budget) in kept_tasks(page.parent / "results", set(tasks)).items():
        tasks[task], budget[task] = rows, kept_budget
        sources[task] = kept_budget.get("source", sources.get(task, ""))
    text = results_markdown(tasks, budget, command, sources, plots=repo_path(page.parent / "results", root))
    write_bytes_atomic(page, text.encode())
    return page


def unit_diversity_finding(rows: list[dict]) -> tuple[str, str] | None:
    """(verdict, sentence) from the per-run partial correlation of unit diversity with zero-shot accuracy at equal
    ERF size (``diversity.py``), or None when the runs carry no unit-diversity measures."""
    from edgeconv.research.diversity import diversity_association

    primary = diversity_association(rows, "dissimilarity")
    if primary is None:
        return None
    lines = [f"Across all {primary.n} runs (every variant and seed), partial correlation of the ERF diversity across "
             f"units (dissimilarity) with zero-shot accuracy, ERF size r(50 %) held fixed: **r = {primary.r:+.2f} "
             f"[{primary.low:+.2f}, {primary.high:+.2f}]** (95 %, Fisher), p = {primary.p:.3f}; without accounting "
             f"for size r = {primary.r_xy:+.2f}; size alone r = {primary.r_zy:+.2f}."]
    for name, label in (("orientation_spread", "orientation spread across units"),
                        ("angular_spread", "angular spread of the summed map")):
        other = diversity_association(rows, name)
        if other is not None:
            lines.append(f"With {label} instead: r = {other.r:+.2f} [{other.low:+.2f}, {other.high:+.2f}], "
                         f"p = {other.p:.3f}.")
    fitting = [r for r in rows if r.get("border_share_mean", 1.0) < FITS_WINDOW]
    within = diversity_association(fitting, "dissimilarity") if 0 < len(fitting) < len(rows) else None
    if within is not None:
        lines.append(f"Only the {within.n} runs whose fields fit the window (border share < {FITS_WINDOW}: "
                     f"{', '.join(r['variant'] for r in fitting)}): r = {within.r:+.2f} [{within.low:+.2f}, "
                     f"{within.high:+.2f}], p = {within.p:.3f}.")
    supervised = diversity_association(rows, "dissimilarity", metric="value")
    if supervised is not None:
        lines.append(f"Supervised test accuracy instead of zero-shot: r = {supervised.r:+.2f} "
                     f"[{supervised.low:+.2f}, {supervised.high:+.2f}], p = {supervised.p:.3f}.")
    return primary.verdict, " ".join(lines)


def saturation_table(rows: list[dict]) -> str:
    """Per variant: border share and r(50 %) on the large ERF window and on a centre 64 px crop, and how well the
    summed-map angular spread and the unit diversity tell the variants apart (empty without those measures)."""
    if not rows or "border_share_mean" not in rows[0] or "border_share_64_mean" not in rows[0]:
        return ""
    lines = ["| variant | border share (full window) | border share 64 px | r50 % | r50 % at 64 px | angular spread "
             "(summed map) | unit dissimilarity | unit orientation spread |", "|" + "---|" * 8]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['border_share_mean']:.3f} ± {r['border_share_std']:.3f} | "
            f"{r['border_share_64_mean']:.3f} ± {r['border_share_64_std']:.3f} | {100 * r['r50_mean']:.2f} | "
            f"{100 * r['r50_64_mean']:.2f} | {r['angular_spread_mean']:.4f} ± {r['angular_spread_std']:.4f} | "
            f"{r['dissimilarity_mean']:.3f} ± {r['dissimilarity_std']:.3f} | "
            f"{r['orientation_spread_mean']:.3f} ± {r['orientation_spread_std']:.3f} |")
    return "\n".join(lines)


def saturation_sentence(rows: list[dict], fits: float = FITS_WINDOW, fills: float = 0.15) -> str:
    """Which variants' ERFs fit the window (border share < ``fits``) and which fill it (>= ``fills``)."""
    fit = [r["variant"] for r in rows if r.get("border_share_mean", 1.0) < fits]
    full = [r["variant"] for r in rows if r.get("border_share_mean", 0.0) >= fills]
    out = f"The field fits the window (border share < {fits}) for {', '.join(fit) or 'none'}."
    if full:
        out += (f" It fills the window (border share >= {fills}, as on the 64 px crop) for {', '.join(full)}: their "
                "r(t) are lower bounds, and their unit maps are near-flat, so unit dissimilarity there also reflects "
                "the window (`tools/erf_window_check.py` pads the window to twice its side: the shares stay).")
    return out


def results_markdown(
    tasks: dict[str, list[dict]], budget: dict[str, dict], command: str, sources: dict[str, str],
    plots: str = "docs/results",
) -> str:
    """The whole page; ``plots`` is the repository-relative folder holding ``<task>/summary.png``."""
    claims = build_claims(tasks)
    unit = unit_diversity_finding(tasks.get("dtd10", []))
    verdict, sentence = unit if unit is not None else diversity_finding(tasks.get("texture", []))
    diversity_task = "dtd10" if unit is not None else "texture"
    stand_in = "dtd10" in tasks and "texture" in tasks
    now = next((b for b in budget.values() if b.get("command") == command), {})
    kept = [t for t, b in budget.items() if b.get("command") != command]
    out = [
        "# Results: does shift geometry pay? Measured here, honestly",
        "",
        f"Generated on {now.get('date', date.today().isoformat())} by `{command}` "
        f"({now.get('machine', machine_name())}). Re-running it reuses finished runs and redoes nothing else."
        + (f" Kept from earlier comparisons, each under its own command in the Budget table: {', '.join(kept)}."
           if kept else ""),
        "",
        "## Data",
        "",
        *[f"- **{task}**: {text}" for task, text in sources.items()],
        "",
        "## Budget",
        "",
        "Identical hyper-parameters for every variant within a task; the last step is scored (no best-step "
        "picking on the scoring images). Minutes are the training processes' own (CPU minutes where nets ran on "
        "the CPU).",
        "",
        "| task | variants | seeds | steps | batch | total minutes | run |",
        "|---|---|---|---|---|---|---|",
        *[f"| {t} | {b['variants']} | {b['seeds']} | {b['steps']} | {b['batch']} | {b['minutes']:.1f} | "
          f"{b.get('date', '')}, `{b.get('command', command)}`, {b.get('machine', '')} |" for t, b in budget.items()],
        "",
        "## Verdicts",
        "",
        "| claim (the study's words) | verdict here |",
        "|---|---|",
        *[f"| {c.title}: *{c.study}* | **{c.verdict}** |" for c in claims],
        f"| ERF diversity, not only size, matters | **{verdict}** ({diversity_task}) |",
        "",
    ]
    for i, c in enumerate(claims, 1):
        out += [f"## {i}. {c.title}", "", f"Study: *{c.study}* {c.note}", "", f"Verdict: **{c.verdict}**", ""]
        if c.comparisons:
            out += [_comparison_table(c), ""]
    out += [f"## {len(claims) + 1}. ERF diversity, not only size, matters", "",
            "Study: *Expanding ERF alone is insufficient; ERF diversity matters.*", "",
            f"Verdict: **{verdict}**. {sentence}", ""]
    saturation = saturation_table(tasks.get("dtd10", []))
    if saturation:
        out += ["## ERF size check (dtd10)", "",
                "Is the ERF window large enough? Border share = share of the normalised ERF mass in the outer 10 % "
                "band of each side: near 0 when the field fits, large when the window cuts it off. The same nets on a "
                "centre 64 px crop (the old window) show what a small window hides. Angular spread of the summed "
                "map against the unit measures: whether each can tell the variants apart.", "", saturation, "",
                saturation_sentence(tasks["dtd10"]), ""]
    for task, rows in tasks.items():
        if stand_in and task == "texture":
            continue
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
        "orientation, angular spread = normalised entropy over 8 orientation bins, effective area = exp entropy; "
        "dtd10 adds the ERFs of 16 single units of the last map: dissimilarity = mean pairwise 1 - cosine of their "
        "maps, orientation spread of the elongated ones, and the border share).",
        "- Verdicts: Welch's t between the two variants' seed results, two-sided 5 % critical value for the "
        "Welch-Satterthwaite degrees of freedom; a claim with several comparisons is confirmed only if all are. "
        "Each comparison also gives A - B with its 95 % interval (same se and dof: it excludes 0 exactly when the "
        "verdict is not inconclusive, and bounds the effect an inconclusive run could have missed) and Hedges' g. "
        "The diversity claim on dtd10: partial correlation over runs (`edgeconv/research/diversity.py`).",
        "- At this scale (minutes of CPU per run, ResNet-18 at width 16, 32 px inputs; dtd10 at its crop) an "
        "effect the study saw on full-size training can vanish or flip: 'not confirmed at this scale' says "
        "exactly that, no more.",
        "",
    ]
    if stand_in:
        out += ["## Appendix: the scikit-image texture stand-in", "",
                "Before DTD images were here, the texture claims ran on this stand-in; real DTD10 replaces it above. "
                f"Data: {sources.get('texture', '')}.", "", summary_markdown(tasks["texture"]),
                f"Plots: `{plots}/texture/summary.png`, `{plots}/texture/erf_grid.png`.", ""]
    return "\n".join(out)
