"""The research harness: verdict statistics, the texture task's data, and a tiny end-to-end run."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeconv.research.report import CONFIRMED, INCONCLUSIVE, NOT_CONFIRMED, Comparison, t_critical
from edgeconv.research.texture_data import TEXTURE_CLASSES, make_texture_folders
from tests.bad_inputs.test_catalogue import assert_clean_failure
from tests.conftest import run_cli


def test_welch_t_and_degrees_of_freedom_by_hand() -> None:
    c = Comparison("a", "b", "value", mean_a=10.0, std_a=1.0, mean_b=8.0, std_b=2.0, n_a=3, n_b=3)
    se = math.sqrt(1 / 3 + 4 / 3)
    assert c.t == pytest.approx(2.0 / se)
    va, vb = 1 / 3, 4 / 3
    assert c.dof == pytest.approx((va + vb) ** 2 / (va**2 / 2 + vb**2 / 2))
    assert t_critical(2) == pytest.approx(4.3027, abs=1e-4) and t_critical(4) == pytest.approx(2.7764, abs=1e-4)
    assert t_critical(2) > t_critical(2.9) > t_critical(3) and t_critical(100) == pytest.approx(1.9840, abs=1e-4)


@pytest.mark.parametrize(
    ("mean_a", "mean_b", "higher", "verdict"),
    [(10.0, 5.0, True, CONFIRMED), (5.0, 10.0, True, NOT_CONFIRMED), (10.0, 9.9, True, INCONCLUSIVE),
     (5.0, 10.0, False, CONFIRMED)],
)
def test_verdicts(mean_a: float, mean_b: float, higher: bool, verdict: str) -> None:
    c = Comparison("a", "b", "value", mean_a, 0.5, mean_b, 0.5, 3, 3, higher)
    assert c.verdict == verdict


def test_a_single_seed_never_confirms() -> None:
    assert Comparison("a", "b", "value", 10.0, 0.0, 1.0, 0.0, 1, 1).verdict == INCONCLUSIVE


def test_texture_folders_are_real_grey_deterministic_and_split_by_region(tmp_path: Path) -> None:
    train, val = make_texture_folders(tmp_path / "a", train_per_class=4, val_per_class=2, seed=3)
    again, _ = make_texture_folders(tmp_path / "b", train_per_class=4, val_per_class=2, seed=3)
    assert sorted(p.name for p in train.iterdir()) == sorted(TEXTURE_CLASSES)
    for name in TEXTURE_CLASSES:
        files = sorted((train / name).glob("*.png"))
        assert len(files) == 4 and len(list((val / name).glob("*.png"))) == 2
        assert files[0].read_bytes() == (again / name / files[0].name).read_bytes()
        pixels = np.asarray(Image.open(files[0]))
        assert pixels.shape == (64, 64, 3) and (pixels[..., 0] == pixels[..., 2]).all() and pixels.std() > 1


@pytest.fixture(scope="module")
def tiny_textures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("textures")
    make_texture_folders(root, train_per_class=12, val_per_class=4)
    return root


@pytest.mark.slow
def test_compare_end_to_end_and_resume(tiny_textures: Path, tmp_path: Path) -> None:
    """3 seeds x 2 variants, 4 steps each: tables hold mean ± std of the per-run values; a re-run reuses."""
    out, page = tmp_path / "runs", tmp_path / "docs" / "RESULTS.md"
    page.parent.mkdir()
    args = ("compare", "--tasks", "texture", "--seeds", "3", "--cls-variants", "plain,jitter-random",
            "--cls-steps", "4", "--cls-batch", "8", "--width", "4", "--textures", str(tiny_textures),
            "--out", str(out), "--results", str(page))
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    folder = out / "texture"
    rows = json.loads((folder / "summary.json").read_text())
    with (folder / "runs.csv").open() as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == 6 and {r["variant"] for r in runs} == {"plain", "jitter-random"}
    for row in rows:
        values = [float(r["value"]) for r in runs if r["variant"] == row["variant"]]
        assert row["n"] == 3 and row["value_mean"] == pytest.approx(np.mean(values))
        assert row["value_std"] == pytest.approx(np.std(values, ddof=1))
        assert row["params"] > 0 and row["macs_per_pixel"] > 0 and row["latency_ms"] > 0
        assert 0 < row["r50_mean"] <= row["r99_mean"] <= 1
    text = page.read_text()
    for title in ("Jitter widens the ERF", "Naive random jitter costs accuracy", "Shift modules raise SR PSNR"):
        assert title in text
    assert "not tested" in text  # SR did not run here, and the page says so
    assert "CIFAR-100 files are not on this machine" in text
    assert str(tmp_path) not in text and str(tiny_textures) not in text  # paths relative to the page's repository
    assert "--results RESULTS.md`" in text and "image folders at ../../" in text
    assert (page.parent / "results" / "texture" / "summary.md").is_file()
    assert (folder / "erf_grid.png").stat().st_size > 1000

    assert (folder / "latency.json").is_file() and "latency_q1_ms" in rows[0]
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("reused") == 6 and "training" not in again.stderr
    assert "latencies: cached" in again.stderr  # timed once, then taken from latency.json
    assert json.loads((folder / "summary.json").read_text()) == rows
    assert page.read_text() == text  # the page again, byte for byte


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--tasks", "imagenet"), "unknown task 'imagenet'"),
     (("--tasks", "texture", "--cls-variants", "plain,wavelet"), "'wavelet' \\| is not a conv variant"),
     (("--tasks", "texture", "--seeds", "2", "--results", "R.md"), "needs >= 3 seeds"),
     (("--tasks", "cifar100"), "--cifar \\| not given")],
)
def test_compare_refuses_bad_requests(args: tuple[str, ...], message: str, tiny_textures: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    result = run_cli("compare", *args, "--textures", str(tiny_textures), "--out", str(out))
    assert_clean_failure(result, 2, message, None)
    assert not (out / "texture").exists()
