"""The harness's dtd10 task: the fixed split as symlink folders, zero-shot end to end on tiny images, resume."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.research import compare
from edgeconv.research.compare import CompareSettings, RunRecord, load_record, run_compare, summarise
from edgeconv.research.dtd_task import check_dtd10, dtd10_folders, penultimate_features
from edgeconv.research.report import runs_csv, summary_markdown
from tests.bad_inputs.test_catalogue import assert_clean_failure
from tests.conftest import run_cli

CLASSES = ("dots", "grid", "plain", "stripes")
REAL_DTD10 = Path(__file__).resolve().parents[3] / "shared" / "data" / "textures" / "DTD10"


def _texture(name: str, i: int, rng: np.random.Generator) -> np.ndarray:
    """A 40x48 colour image whose pattern says its class (so a few steps can learn something)."""
    y, x = np.mgrid[:40, :48]
    pattern = {"dots": (x % 6 < 2) & (y % 6 < 2), "grid": (x % 8 == 0) | (y % 8 == 0),
               "plain": np.zeros((40, 48), bool), "stripes": (x + i) % 10 < 5}[name]
    base = rng.integers(0, 80, 3)
    image = base + 150 * pattern[..., None] + rng.integers(0, 20, (40, 48, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def make_dtd_like(root: Path, classes: tuple[str, ...] = CLASSES, per_class: int = 6) -> Path:
    """``root/<class>/<class>_NNNN.jpg``, DTD's layout, ``per_class`` images a class."""
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(_texture(name, i, rng)).save(root / name / f"{name}_{i:04d}.jpg", quality=95)
    return root


@pytest.fixture(scope="module")
def dtd_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dtd_like(tmp_path_factory.mktemp("dtd") / "DTD10")


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_split_folders_are_symlinks_of_the_fixed_split_and_are_reused(dtd_like: Path, tmp_path: Path) -> None:
    folders = dtd10_folders(dtd_like, tmp_path / "data")
    train, val = folders.supervised / "train", folders.supervised / "val"
    assert _names(train) == _names(val) == list(CLASSES)
    assert _names(val / "dots") == ["dots_0002.jpg", "dots_0005.jpg"]  # every third sorted file
    assert _names(train / "dots") == ["dots_0000.jpg", "dots_0001.jpg", "dots_0003.jpg", "dots_0004.jpg"]
    link = train / "dots" / "dots_0000.jpg"
    assert link.is_symlink() and link.resolve() == (dtd_like / "dots" / "dots_0000.jpg").resolve()
    half0, half1 = folders.halves
    assert _names(half0 / "train") == ["dots", "grid"] and _names(half0 / "reference") == ["plain", "stripes"]
    assert _names(half1 / "train") == ["plain", "stripes"] and _names(half1 / "query") == ["dots", "grid"]
    assert _names(half0 / "reference" / "plain") == _names(train / "plain")
    assert _names(half0 / "query" / "plain") == _names(val / "plain")
    assert not any(p.is_file() and not p.is_symlink() for p in (tmp_path / "data").rglob("*"))  # nothing copied

    before = os.lstat(link).st_ino
    stale = train / "dots" / "old.jpg"
    stale.symlink_to(dtd_like / "grid" / "grid_0000.jpg")
    again = dtd10_folders(dtd_like, tmp_path / "data")
    assert again == folders and os.lstat(link).st_ino == before and not stale.is_symlink()


def test_real_dtd10_materialises_80_40_and_400_200() -> None:
    if not REAL_DTD10.is_dir():
        pytest.skip(f"DTD10 not found at {REAL_DTD10} (shared data beside the checkout)")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folders = dtd10_folders(REAL_DTD10, Path(tmp))
        assert all(len(list((folders.supervised / "train" / c).iterdir())) == 80 for c in _names(REAL_DTD10))
        for half in folders.halves:
            assert sum(len(list(c.iterdir())) for c in (half / "reference").iterdir()) == 400
            assert sum(len(list(c.iterdir())) for c in (half / "query").iterdir()) == 200
            assert sum(len(list(c.iterdir())) for c in (half / "train").iterdir()) == 400


def test_too_few_classes_or_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="has 3 class folders"):
        check_dtd10(make_dtd_like(tmp_path / "three", CLASSES[:3]))
    with pytest.raises(UsageError, match="needs >= 3 per class"):
        check_dtd10(make_dtd_like(tmp_path / "two_each", per_class=2))


def _settings(data: Path, out: Path) -> CompareSettings:
    return CompareSettings("dtd10", out, ["plain"], [0], steps=3, data=data, batch_size=8, width=4, threads=1,
                           erf_count=4, erf_size=32, crop=32)


@pytest.fixture(scope="module")
def dtd_run(dtd_like: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[CompareSettings, RunRecord, list[str]]:
    """One dtd10 run (plain, seed 0, 3 steps, width 4, 32 px): its settings, record and progress words."""
    settings = _settings(dtd_like, tmp_path_factory.mktemp("runs"))
    heard: list[str] = []
    (record,) = run_compare(settings, on_run=lambda v, s, what: heard.append(what))
    return settings, record, heard


def test_dtd10_runs_supervised_and_zero_shot_then_resumes(
    dtd_run: tuple[CompareSettings, RunRecord, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgeconv.models.checkpoints.format import load_checkpoint

    settings, record, heard = dtd_run
    folder = settings.out / "dtd10" / "plain"
    assert heard == ["training"] and record.task == "dtd10" and record.model == "texture_resnet18"
    assert record.value in {i / 8 for i in range(9)}  # 4 classes x 2 fixed test files
    halves = record.extra["zero_shot_halves"]
    assert len(halves) == 2 and all(h in {i / 4 for i in range(5)} for h in halves)  # 2 unseen x 2 test files
    assert record.extra["zero_shot_accuracy"] == pytest.approx(np.mean(halves))
    for name in ("seed0.pt", "seed0.zs0.pt", "seed0.zs1.pt", "seed0.json"):
        assert (folder / name).is_file(), name
    args = load_checkpoint(folder / "seed0.pt").train_args  # 32 px images, scored at the last step only
    assert args["image_size"] == 32 and args["val_every"] == args["steps"] == 3
    assert args["val_data"].endswith(os.path.join("supervised", "val"))
    assert load_checkpoint(folder / "seed0.zs0.pt").train_args["val_data"] is None  # nothing scored while training

    row = summarise([record])[0]
    assert row["zero_shot_accuracy_mean"] == record.extra["zero_shot_accuracy"] and row["zero_shot_accuracy_std"] == 0
    assert "zero-shot accuracy %" in summary_markdown([row]) and "zero_shot_accuracy" in runs_csv([record])

    def no_training(*_args: object) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(compare, "_train", no_training)
    resumed: list[str] = []
    (again,) = run_compare(settings, on_run=lambda v, s, what: resumed.append(what))
    assert resumed == ["reused"] and again == record


def test_zero_shot_features_are_what_the_head_reads(dtd_run: tuple[CompareSettings, RunRecord, list[str]]) -> None:
    """The frozen features are the pooled last feature map: the linear head on them gives the net's logits."""
    from edgeconv.models.checkpoints.format import load_checkpoint
    from edgeconv.models.data.cls import load_image_folder, normalize

    settings = dtd_run[0]
    ckpt = settings.out / "dtd10" / "plain" / "seed0.zs0.pt"
    query = settings.out / "dtd10" / "data" / "half0" / "query"
    features, labels = penultimate_features(ckpt, query, 32)
    assert features.shape == (4, 32) and list(labels) == [0, 0, 1, 1]  # width 4: 8 * 4 channels
    state = load_checkpoint(ckpt)
    model = state.build_model(ckpt).eval()
    images, _, _ = load_image_folder(query, 32)
    with torch.no_grad():
        logits = model(normalize(images, tuple(state.normalization["mean"]), tuple(state.normalization["std"])))
        torch.testing.assert_close(model.head(torch.from_numpy(features)), logits)
    assert model.head.out_features == 2  # trained on the two seen classes only


def test_an_old_run_json_without_extra_still_loads(tmp_path: Path) -> None:
    erf = {"r20": 0.01, "r30": 0.02, "r50": 0.05, "r99": 0.3, "anisotropy": 1.1, "orientation_deg": 10.0,
           "angular_spread": 0.9, "effective_area_px": 40.0}
    old = asdict(RunRecord("texture", "plain", 0, "texture_resnet18", "accuracy", 0.5, 10, 2.0, erf, 0.1, 4, False))
    del old["extra"]
    path = tmp_path / "seed0.json"
    path.write_text(json.dumps(old))
    record = load_record(path)
    assert record.extra == {} and record.value == 0.5
    row = summarise([record])[0]
    assert "zero_shot_accuracy_mean" not in row and "zero-shot" not in summary_markdown([row])


def test_cli_help_names_dtd10_and_bad_dtd10_folders_fail_cleanly(tmp_path: Path) -> None:
    help_text = run_cli("compare", "--help").stdout
    assert "cifar100, dtd10" in help_text and "--tasks dtd10" in help_text and "--crop" in help_text
    three = make_dtd_like(tmp_path / "three", CLASSES[:3])
    result = run_cli("compare", "--tasks", "dtd10", "--dtd10", str(three), "--out", str(tmp_path / "runs"))
    assert_clean_failure(result, 2, "has 3 class folders", None)
    assert not (tmp_path / "runs" / "dtd10").exists()


def test_larger_loads_random_crops_and_the_unit_erf_measures(dtd_like: Path, tmp_path: Path) -> None:
    """load_size > crop: nets see random crops, are scored on the centre; the ERF window is the whole load, with
    the border share (also on a centre 64 px crop when larger) and the unit diversity; the summed map is kept."""
    from edgeconv.models.checkpoints.format import load_checkpoint

    settings = CompareSettings("dtd10", tmp_path, ["shiftwise-rotational"], [0], steps=3, data=dtd_like, batch_size=8,
                               width=4, threads=1, erf_count=4, erf_size=40, crop=32, load_size=40, channel_erf=4)
    (record,) = run_compare(settings)
    folder = tmp_path / "dtd10" / "shiftwise-rotational"
    args = load_checkpoint(folder / "seed0.pt").train_args
    assert args["load_size"] == 40 and args["image_size"] == 32
    assert load_checkpoint(folder / "seed0.pt").config["stem_stride"] == 2
    erf = record.erf
    assert erf["height"] == erf["width"] == 40 and 0 <= erf["border_share"] <= 1
    assert "border_share_64" not in erf  # the window is not larger than 64 px: nothing smaller to compare
    assert erf["units"] >= 2 and 0 <= erf["dissimilarity"] <= 1 and 0 <= erf["orientation_spread"] <= 1
    saved = np.load(folder / "seed0.erf.npy")
    assert saved.shape == (40, 40) and saved.dtype == np.float32
    from edgeconv.runtime.erf.measures import erf_measures

    assert erf_measures(saved).r50 == pytest.approx(erf["r50"], rel=1e-4)
    features, _ = penultimate_features(folder / "seed0.zs0.pt", tmp_path / "dtd10" / "data" / "half0" / "query", 32)
    assert features.shape == (4, 32)  # loaded at 40, centre 32 crop, pooled


def test_shards_split_the_runs_and_reuse_each_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--shard i/n trains runs i, i + n, ... of the (seed, variant) list; finished runs of other shards are read."""
    trained: list[tuple[str, int]] = []

    def fake_train(settings: CompareSettings, variant: str, seed: int, ckpt: Path) -> compare.Trained:
        trained.append((variant, seed))
        return compare.Trained(0.5, 0.1, settings.steps, False)

    monkeypatch.setattr(compare, "_train", fake_train)
    monkeypatch.setattr(compare, "measure_run", lambda *_a: (10, 2.0, {"r50": 0.1}))
    monkeypatch.setattr(compare, "erf_inputs", lambda _s: np.zeros((1, 3, 8, 8), np.float32))
    base = {"task": "texture", "out": tmp_path, "variants": ["a", "b"], "seeds": [0, 1, 2], "steps": 1,
            "data": tmp_path}
    monkeypatch.setattr(compare, "model_spec", lambda _s, v: ("texture_resnet18", {"variant": v}))
    first = run_compare(CompareSettings(**base, shard=(1, 3)))
    assert trained == [("b", 0), ("a", 2)] and len(first) == 2  # list: a0 b0 a1 b1 a2 b2 -> indices 1 and 4
    second = run_compare(CompareSettings(**base, shard=(0, 3)))
    assert trained[2:] == [("a", 0), ("b", 1)] and len(second) == 4  # its own two, and the first shard's two
    trained.clear()
    everything = run_compare(CompareSettings(**base))
    assert trained == [("a", 1), ("b", 2)] and len(everything) == 6


@pytest.mark.parametrize(("args", "message"), [(("--shard", "3/2"), "needs 0 <= I < N"),
                                               (("--shard", "x"), "is not I/N"),
                                               (("--shard", "0/2", "--seeds", "3", "--results", "R.md"),
                                                "needs every run"),
                                               (("--load-size", "64", "--crop", "96"), "64 is below --crop 96")])
def test_bad_shard_and_load_options_fail_cleanly(args: tuple[str, ...], message: str, dtd_like: Path,
                                                 tmp_path: Path) -> None:
    result = run_cli("compare", "--tasks", "dtd10", "--dtd10", str(dtd_like), "--out", str(tmp_path / "runs"), *args)
    assert_clean_failure(result, 2, message, None)
    assert not (tmp_path / "runs" / "dtd10").exists()
