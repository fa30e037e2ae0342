"""The claims page names paths relative to the repository, never an absolute path of the machine that wrote it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from edgeconv.research.compare import CompareSettings, RunRecord, TaskOutcome, summarise
from edgeconv.research.results_page import TEXTURE_STAND_IN, repo_path, repository_root, write_results_page

REPO = Path(__file__).resolve().parents[2]
ABSOLUTE = re.compile(r"(^|[\s`('\"=])/[A-Za-z0-9_.-]+/")  # "/work/...", "`/tmp/x`"; not "120 / 40"


def outcome(task: str, out: Path, data: Path, val: Path | None = None) -> TaskOutcome:
    """A finished task of two variants x three seeds, with made-up numbers."""
    erf = {"r20": 0.01, "r30": 0.02, "r50": 0.05, "r99": 0.3, "anisotropy": 1.1, "orientation_deg": 10.0,
           "angular_spread": 0.9, "effective_area_px": 40.0}
    records = [RunRecord(task, variant, seed, "m", "accuracy", 0.5 + 0.1 * i + 0.01 * seed, 1000, 2000.0,
                         {**erf, "r50": erf["r50"] * (1 + i)}, 0.1, 4, False)
               for i, variant in enumerate(("plain", "jitter-random")) for seed in range(3)]
    settings = CompareSettings(task, out, ["plain", "jitter-random"], [0, 1, 2], 4, data, val)
    (out / task).mkdir(parents=True, exist_ok=True)
    (out / task / "summary.md").write_text("table\n")
    return TaskOutcome(settings, summarise(records, {"plain": 1.0, "jitter-random": 2.0}), 0.6)


def test_the_page_names_data_relative_to_its_repository(tmp_path: Path) -> None:
    repo, shared = tmp_path / "checkout", tmp_path / "shared" / "data" / "sr"
    (repo / "docs").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\n")
    page = repo / "docs" / "RESULTS.md"
    runs = repo / "out" / "compare"
    outcomes = [outcome("sr", runs, shared / "T91", shared / "Set5"),
                outcome("texture", runs, tmp_path / "dtd"), outcome("cifar100", runs, tmp_path / "cifar")]
    write_results_page(page, outcomes, textures_built=False)
    text = page.read_text()
    assert str(tmp_path) not in text and not ABSOLUTE.search(text), ABSOLUTE.search(text)
    assert "train on ../shared/data/sr/T91 (91 images), score PSNR-Y x2 on ../shared/data/sr/Set5" in text
    assert "image folders at ../dtd" in text and "CIFAR-100 python files at ../cifar" in text
    assert ("`edgeconv compare --tasks sr,texture,cifar100 --seeds 3 --cls-variants plain,jitter-random --cls-steps 4 "
            "--cls-batch 32 --out out/compare --results docs/RESULTS.md`") in text
    assert "`docs/results/sr/summary.png`" in text
    assert (repo / "docs" / "results" / "texture" / "summary.md").read_text() == "table\n"


def test_built_textures_and_missing_cifar_are_described_not_located(tmp_path: Path) -> None:
    page = tmp_path / "RESULTS.md"  # no repository above: paths relative to the page's folder
    write_results_page(page, [outcome("texture", tmp_path / "runs", tmp_path / "runs" / "textures")], True)
    text = page.read_text()
    assert TEXTURE_STAND_IN in text and "not run: the CIFAR-100 files are not on this machine" in text
    assert str(tmp_path) not in text and "--results RESULTS.md`" in text


@pytest.mark.parametrize(("path", "want"), [("/a/b/shared/data/sr/T91", "shared/data/sr/T91"),
                                            ("/a/shared/Set5", "../shared/Set5"), ("/a/b", ".")])
def test_repo_path(path: str, want: str) -> None:
    assert repo_path(Path(path), Path("/a/b")) == want


def test_repository_root_is_the_folder_with_the_project_file() -> None:
    assert repository_root(REPO / "docs" / "RESULTS.md") == REPO


def test_the_committed_page_names_no_absolute_path() -> None:
    text = (REPO / "docs" / "RESULTS.md").read_text()
    found = [line for line in text.splitlines() if ABSOLUTE.search(line)]
    assert not found, found


def test_dtd10_is_described_as_itself_and_comparisons_carry_effect_sizes(tmp_path: Path) -> None:
    page = tmp_path / "RESULTS.md"
    dtd10 = tmp_path / "shared" / "data" / "textures" / "DTD10"
    write_results_page(page, [outcome("dtd10", tmp_path / "runs", dtd10)], False)
    text = page.read_text()
    assert "- **dtd10**: DTD10 at shared/data/textures/DTD10, the fixed split" in text and "fed at 112 px" in text
    assert "## ERF size check" not in text  # these runs carry no unit measures
    assert "not run: the CIFAR-100 files are not on this machine" in text
    assert "| A - B [95 % CI] | Hedges' g | t | dof | p | p (Holm) | reading |" in text
    # plain (0.50, 0.51, 0.52) vs jitter-random (0.60, 0.61, 0.62): -10 pp, se 0.01 * sqrt(2/3), dof 4
    assert "| dtd10 | plain | jitter-random | accuracy |" in text and "-10.000 [-12.267, -7.733] % | -7.98 |" in text


DTD10_VARIANTS = ("plain", "jitter-random", "shiftwise", "shiftwise-diagonal", "shiftwise-rotational", "large-kernel")


def dtd10_records(rng: np.random.Generator) -> list[RunRecord]:
    """Five seeds of each of six variants whose zero-shot accuracy follows their unit dissimilarity."""
    records = []
    for i, variant in enumerate(DTD10_VARIANTS):
        for seed in range(5):
            diversity = 0.2 + 0.05 * i + 0.02 * rng.normal()
            erf = {"r20": 0.01, "r30": 0.02, "r50": 0.05 + 0.01 * rng.normal(), "r99": 0.3, "anisotropy": 1.1,
                   "orientation_deg": 10.0, "angular_spread": 0.99, "effective_area_px": 40.0, "border_share": 0.01,
                   "border_share_64": 0.1, "r50_64": 0.2, "r99_64": 0.9, "angular_spread_64": 0.999, "units": 16,
                   "dissimilarity": diversity, "channel_anisotropy": 1.1, "orientation_spread": 0.5}
            records.append(RunRecord("dtd10", variant, seed, "m", "accuracy", 0.3, 1000, 2000.0, erf, 1.0, 150, False,
                                     {"zero_shot_accuracy": diversity + 0.01 * rng.normal()}))
    return records


def test_dtd10_decides_the_texture_and_diversity_claims_and_earlier_tasks_are_kept(tmp_path: Path) -> None:
    """With unit ERF measures the diversity claim is the partial correlation over the variants; the stand-in texture
    task left by an earlier comparison stays, under its own command, in an appendix; the ERF size check is shown."""
    records, variants = dtd10_records(np.random.default_rng(0)), DTD10_VARIANTS
    root = tmp_path / "repo"
    (root / "docs" / "results" / "texture").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\n")
    stand_in = outcome("texture", tmp_path / "old", tmp_path / "old" / "textures")
    (root / "docs" / "results" / "texture" / "summary.json").write_text(json.dumps(stand_in.rows))
    (root / "docs" / "results" / "texture" / "budget.json").write_text(json.dumps(
        {"variants": 2, "seeds": 3, "steps": 300, "batch": 64, "minutes": 21.0, "command": "edgeconv compare --old",
         "date": "2026-11-26", "machine": "x86_64", "source": "the stand-in"}))
    settings = CompareSettings("dtd10", root / "runs", list(variants), list(range(5)), 150, tmp_path / "DTD10",
                               batch_size=32, crop=96, load_size=160)
    page = root / "docs" / "RESULTS.md"
    write_results_page(page, [TaskOutcome(settings, summarise(records), 20.0)], False)
    text = page.read_text()
    assert "--tasks dtd10 --seeds 5 --cls-variants plain,jitter-random,shiftwise," in text
    assert "--crop 96 --load-size 160" in text
    assert "Kept from earlier comparisons, each under its own command in the Budget table: texture." in text
    assert "| texture | 2 | 3 | 300 | 64 | 21.0 | 2026-11-26, `edgeconv compare --old`, x86_64 |" in text
    assert "## Appendix: the scikit-image texture stand-in" in text and "## Table: texture" not in text
    verdicts = text.split("## Verdicts")[1].split("## 1. ")[0]
    assert "| ERF diversity, not only size, matters: *Expanding ERF alone is insufficient; ERF diversity matters.* | " \
           "**confirmed (1 for, 0 against of 3 after Holm;" in verdicts
    assert "; dissimilarity r = +1.00 at variant level: the claimed direction |" in verdicts
    claim6 = text.split("## 6. ")[1].split("## ERF size check")[0]
    assert "Unit of analysis: the variant (seed means, n = 6)" in claim6
    assert "| dtd10 | unit dissimilarity | zero-shot accuracy | 6 | +" in claim6
    assert "Reference, not in the verdict: the earlier page's statistic, every run as an independent point (n = 30)" \
        in claim6
    assert "## ERF size check (dtd10)" in text and "| plain | 0.010 ± 0.000 | 0.100 ± 0.000 |" in text
    fits = ("fits the window (border share < 0.05) for plain, jitter-random, shiftwise, shiftwise-diagonal, "
            "shiftwise-rotational, large-kernel.")
    assert fits in text
    assert "It fills the window" not in text and "Exploratory" not in text  # all fit: no subset
    budget = json.loads((root / "docs" / "results" / "dtd10" / "budget.json").read_text())
    assert budget["steps"] == 150 and budget["seeds"] == 5 and "nets on cpu" in budget["machine"]
    claim4 = text.split("## 4. ")[1].split("## 5. ")[0]
    assert "| dtd10 | shiftwise-diagonal | shiftwise | zero-shot accuracy |" in claim4 and "| texture |" not in claim4
