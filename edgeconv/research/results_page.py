"""docs/RESULTS.md: the study's claims one by one, each with our measured numbers and a verdict.

The page is committed, so every path it names is relative to the repository that holds it
(``../shared/data/sr/T91``), never an absolute path of the machine that ran the comparison.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

from edgeconv.research.claim_tables import claim_section, verdict_text
from edgeconv.research.claims import FITS_WINDOW, build_claims
from edgeconv.research.compare import CompareSettings, TaskOutcome
from edgeconv.research.latency import LATENCY_FILE, LatencyCache, machine_name, read_cache
from edgeconv.research.report import summary_markdown
from edgeconv.runtime.atomic_write import write_bytes_atomic

BUDGET_FILE = "budget.json"  # beside each task's summary: how, when and where it ran (kept tasks reuse it)
RESULT_FILES = ("summary.md", "summary.json", "runs.csv", "summary.png", "erf_grid.png", LATENCY_FILE)
TEXTURE_STAND_IN = (
    "DTD is absent: 8 grey texture classes cut from scikit-image's real images (brick, grass, gravel, moon, "
    "cell, immunohistochemistry, hubble_deep_field, retina); train crops from the left 60 % of each image, "
    "val crops from the right 40 % (120 / 40 per class, 24-64 px regions resized to 64, fed at 32)"
)


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


def comparison_command(tasks: list[CompareSettings], page: Path, root: Path) -> str:
    """The ``edgeconv compare`` line that reproduces these tasks (and reuses their runs), paths repo-relative."""
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


def _task_budget(outcome: TaskOutcome, command: str, source: str, target: Path) -> dict:
    """``budget.json`` of a task run now; when every run was reused and the stored budget is this command's, the
    runs' own date and machine stay (the page then names when and where the runs were made, not regenerated)."""
    s = outcome.settings
    budget = {"variants": len(s.variants), "seeds": len(s.seeds), "steps": s.steps, "batch": s.batch_size,
              "minutes": outcome.minutes, "command": command, "date": date.today().isoformat(),
              "machine": f"{machine_name()}; nets on {s.device}", "source": source}
    stored = json.loads((target / BUDGET_FILE).read_text()) if (target / BUDGET_FILE).is_file() else {}
    if outcome.trained == 0 and stored.get("command") == command:
        budget["date"], budget["machine"] = stored["date"], stored["machine"]
    return budget


def with_latency(rows: list[dict], cache: LatencyCache | None) -> list[dict]:
    """``rows`` with the cached latencies (median and quartiles of the repeats) of each variant the cache holds."""
    if cache is None:
        return rows
    out = []
    for row in rows:
        row = dict(row)
        if row["variant"] in cache.variants:
            row["latency_ms"], row["latency_q1_ms"], row["latency_q3_ms"] = cache.spread(row["variant"])
        out.append(row)
    return out


def write_results_page(page: Path, outcomes: list[TaskOutcome], textures_built: bool) -> Path:
    """Copy each task's tables and plots to ``<page folder>/results/<task>/`` and write the page; returns ``page``.

    Tasks not run now but left in ``results/<task>/`` by an earlier comparison (with its ``budget.json``)
    stay on the page, under their own command, date and machine, with their cached latencies where they have them.
    """
    root, results = repository_root(page), page.parent / "results"
    command = comparison_command([o.settings for o in outcomes], page, root)
    sources = data_sources(outcomes, root, textures_built)
    budget = {}
    for outcome in outcomes:
        s = outcome.settings
        source, target = s.out / s.task, results / s.task
        target.mkdir(parents=True, exist_ok=True)
        for name in RESULT_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, target / name)
        budget[s.task] = _task_budget(outcome, command, sources[s.task], target)
        write_bytes_atomic(target / BUDGET_FILE, json.dumps(budget[s.task], indent=1).encode())
    tasks = {o.settings.task: o.rows for o in outcomes}
    for task, (rows, kept_budget) in kept_tasks(results, set(tasks)).items():
        tasks[task], budget[task] = rows, kept_budget
        sources[task] = kept_budget.get("source", sources.get(task, ""))
    latencies = {t: c for t in tasks if (c := read_cache(results / t / LATENCY_FILE)) is not None}
    tasks = {t: with_latency(rows, latencies.get(t)) for t, rows in tasks.items()}
    text = results_markdown(tasks, budget, command, sources, plots=repo_path(results, root), latencies=latencies)
    write_bytes_atomic(page, text.encode())
    return page


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


METHOD = [
    "- ERF: RepLKNet's gradient ERF of the last feature map (centre activation, ReLU'd input gradient summed over "
    "RGB, averaged over real images, log10(P+1) normalised), r(t) = share of the input the smallest centred square "
    "holding t of the mass covers (interpolated between odd sides). Diversity measures and their formulas: "
    "`runtime/erf/measures.py` (anisotropy = ratio of principal axes of the second moments, orientation, angular "
    "spread = normalised entropy over 8 orientation bins, effective area = exp entropy; dtd10 adds the ERFs of 16 "
    "single units of the last map: dissimilarity = mean pairwise 1 - cosine of their maps, orientation spread of the "
    "elongated ones, and the border share).",
    "- Comparisons of means: Welch's t between the two variants' seed results, its two-sided p-value on the "
    "Welch-Satterthwaite degrees of freedom, A - B with its 95 % interval (same se and dof) and Hedges' g. "
    "Comparisons of stability: the seed standard deviations, their ratio, and Brown-Forsythe's test of equal spread "
    "(a one-way ANOVA on the absolute deviations of each variant's seed results from its median; it does not assume "
    "normality), F on (1, n_A + n_B - 2) degrees of freedom. Diversity: the partial correlation of a diversity "
    "measure with accuracy at equal ERF size r(50 %) over the variants' seed means (one point per variant: the seeds "
    "of a variant share everything but the seed, so they are not independent points), Fisher's interval, p from t on "
    "n - 3 degrees of freedom (`edgeconv/research/diversity.py`).",
    "- Multiplicity and the one combining rule (`edgeconv/research/inference.py`): the comparisons a claim makes are "
    "one family, and their p-values are Holm-adjusted together (step-down: the i-th smallest of m is multiplied by "
    "m - i + 1, the running maximum kept, capped at 1); each row shows the raw p beside the adjusted one. A row reads "
    "*for* the claim when its adjusted p < 0.05 and its effect points the claimed way, *against* when adjusted "
    "p < 0.05 the other way, *n.s.* otherwise. A claim is **confirmed** when at least one row reads for and none "
    "against, **contradicted** when at least one reads against and none for, **undecided** otherwise (none "
    "significant, or significant both ways: conflicting). The rule is the same both ways, and Holm keeps the chance "
    "that any row of a claim comes out significant without a real effect at or below 5 %, whatever the dependence "
    "between its rows. Tables marked secondary, exploratory or reference are adjusted within themselves and never "
    "enter a verdict. The effects tables under each task's table (every variant against plain) are unadjusted and "
    "descriptive.",
    "- At this scale (minutes of CPU per run, ResNet-18 at width 16, 32 px inputs; dtd10 at its crop) an effect the "
    "study saw on full-size training can vanish or flip: 'contradicted' and 'undecided' are readings of these runs "
    "at this scale, no more; an undecided row's interval still bounds the effect these seeds could have missed.",
]


def _header(budget: dict[str, dict], command: str, plots: str) -> list[str]:
    """Title, which command made the runs, when and where, and what re-running it does."""
    now = next((b for b in budget.values() if b.get("command") == command), {})
    kept = [t for t, b in budget.items() if b.get("command") != command]
    return [
        "# Results: does shift geometry pay? Measured here, honestly", "",
        f"Runs of {now.get('date', date.today().isoformat())} by `{command}` ({now.get('machine', machine_name())})."
        f" The page is recomputed from the run records stored beside it (`{plots}/<task>/runs.csv`: one row per "
        "variant and seed, with every per-run measure used here). Re-running the command reuses every finished run "
        "(under `--out`, or these records when the runs are not there: nothing is retrained), the cached latencies "
        "(`latency.json`) and the ERF grids, and recomputes only the tables, statistics and summary plots, so the "
        "page comes out byte for byte the same."
        + (f" Kept from earlier comparisons, each under its own command in the Budget table: {', '.join(kept)}."
           if kept else ""), ""]


def _budget_section(budget: dict[str, dict], command: str) -> list[str]:
    return [
        "## Budget", "",
        "Identical hyper-parameters for every variant within a task; the last step is scored (no best-step "
        "picking on the scoring images). Minutes are the training processes' own (CPU minutes where nets ran on "
        "the CPU).", "",
        "| task | variants | seeds | steps | batch | total minutes | run |", "|---|---|---|---|---|---|---|",
        *[f"| {t} | {b['variants']} | {b['seeds']} | {b['steps']} | {b['batch']} | {b['minutes']:.1f} | "
          f"{b.get('date', '')}, `{b.get('command', command)}`, {b.get('machine', '')} |" for t, b in budget.items()],
        ""]


def _latency_section(latencies: dict[str, LatencyCache]) -> list[str]:
    """How each task's ORT ms were measured."""
    if not latencies:
        return []
    return ["## Latency", "", *[f"- **{task}**: {cache.describe()}" for task, cache in latencies.items()], ""]


def _task_tables(tasks: dict[str, list[dict]], plots: str, stand_in: bool) -> list[str]:
    out = []
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
    return out


def results_markdown(
    tasks: dict[str, list[dict]], budget: dict[str, dict], command: str, sources: dict[str, str],
    plots: str = "docs/results", latencies: dict[str, LatencyCache] | None = None,
) -> str:
    """The whole page; ``plots`` is the repository-relative folder holding ``<task>/summary.png``, ``latencies``
    each task's cached timings (``latency.py``), described in the Latency section."""
    claims = build_claims(tasks)
    stand_in = "dtd10" in tasks and "texture" in tasks
    out = [*_header(budget, command, plots), "## Data", "", *[f"- **{t}**: {text}" for t, text in sources.items()],
           "", *_budget_section(budget, command), "## Verdicts", "", "| claim (the study's words) | verdict here |",
           "|---|---|", *[f"| {c.title}: *{c.study}* | {verdict_text(c)} |" for c in claims], ""]
    for i, claim in enumerate(claims, 1):
        out += claim_section(i, claim)
    out += [*_task_tables(tasks, plots, stand_in), *_latency_section(latencies or {}), "## Method", "", *METHOD, ""]
    if stand_in:
        out += ["## Appendix: the scikit-image texture stand-in", "",
                "Before DTD images were here, the texture claims ran on this stand-in; real DTD10 replaces it above. "
                f"Data: {sources.get('texture', '')}.", "", summary_markdown(tasks["texture"]),
                f"Plots: `{plots}/texture/summary.png`, `{plots}/texture/erf_grid.png`.", ""]
    return "\n".join(out)
