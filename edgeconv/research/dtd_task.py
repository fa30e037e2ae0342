"""The harness's ``dtd10`` task: DTD10's fixed split as symlink folders, and zero-shot scoring of a trained net.

``dtd10_folders`` lays the split (``dtd.dtd10_split``) out as the image-folder layout training reads,
with symlinks into the source (nothing copied), under ``<out>/dtd10/data/``:

- ``supervised/{train,val}/<class>/``: every class; ``val`` holds the fixed *test* files.
- ``half<k>/train/<seen class>/``: the seen classes' train files, what the zero-shot net learns.
- ``half<k>/reference/<unseen class>/`` and ``half<k>/query/<unseen class>/``: the unseen classes'
  train files (class means) and test files (scored).

``zero_shot_accuracy`` runs a trained net frozen: its pooled penultimate features of the reference and
query images, prepared as training prepared them, classified by nearest class mean. A run is three nets
(``DTD10_PARTS``), each trained by ``train_dtd10_net`` - one after the other, or as separate tasks on Ray
(``ray_runs.py``) - and put together by ``dtd10_run``.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.research.dtd import dtd10_split, nearest_class_mean_accuracy, zero_shot_halves

if TYPE_CHECKING:
    from edgeconv.models.training.cls import ClsTrainResult

    TrainNet = Callable[[Path, Path, Path | None], ClsTrainResult]  # (checkpoint, train folder, val folder)

MIN_CLASSES = 4  # two per zero-shot half: a nearest mean over one class scores 100 % by construction


@dataclass
class Dtd10Folders:
    """Where the materialised split lives: the supervised root and one root per zero-shot half."""

    supervised: Path  # holds train/ and val/
    halves: list[Path]  # each holds train/ (seen), reference/ and query/ (unseen)


def shared_dtd10() -> Path | None:
    """The project's DTD10 (``shared/data/textures/DTD10`` in a folder above this file), or None."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "textures" / "DTD10"
        if candidate.is_dir():
            return candidate
    return None


def check_dtd10(root: Path, option: str = "--dtd10") -> None:
    """Refuse a folder that cannot make the task: too few classes, or a class without train and test files."""
    split = dtd10_split(root)
    if len(split) < MIN_CLASSES:
        raise UsageError(option, f"{root} has {len(split)} class folders", f"dtd10 needs >= {MIN_CLASSES}")
    for name, (train, test) in split.items():
        if not train or not test:
            raise UsageError(str(root / name), f"has {len(train) + len(test)} images",
                             "the fixed split needs >= 3 per class (every third is test)")


def _link_folder(folder: Path, files: list[Path]) -> None:
    """Make ``folder`` hold exactly one symlink per file (same name); links already right are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f.name: str(f.resolve()) for f in files}
    for entry in folder.iterdir():
        if entry.name not in wanted and entry.is_symlink():
            entry.unlink()
    for name, target in wanted.items():
        link = folder / name
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_symlink() or link.exists():
            link.unlink(missing_ok=True)
        try:
            link.symlink_to(target)
        except FileExistsError:  # a parallel shard laid the same split out at the same moment
            if os.readlink(link) != target:
                raise


def dtd10_folders(source: Path, root: Path) -> Dtd10Folders:
    """Lay DTD10's fixed split out under ``root`` as symlink folders (reused when already there)."""
    split = dtd10_split(source)
    for name, (train, test) in split.items():
        _link_folder(root / "supervised" / "train" / name, train)
        _link_folder(root / "supervised" / "val" / name, test)
    halves = []
    for k, (seen, unseen) in enumerate(zero_shot_halves(list(split))):
        half = root / f"half{k}"
        for name in seen:
            _link_folder(half / "train" / name, split[name][0])
        for name in unseen:
            _link_folder(half / "reference" / name, split[name][0])
            _link_folder(half / "query" / name, split[name][1])
        halves.append(half)
    return Dtd10Folders(root / "supervised", halves)


def penultimate_features(ckpt: Path, folder: Path, size: int, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, C) float32, labels (N,)) of ``folder/<class>/*`` through a checkpoint's frozen net.

    Images are prepared as training scores them, without augmentation: shorter side resized to the
    checkpoint's ``load_size`` (``size`` when it had none), the centre ``size`` crop, its normalisation.
    Features are the globally pooled last feature map, the input of the classifier's linear head.
    """
    import torch

    from edgeconv.models.checkpoints.format import load_checkpoint
    from edgeconv.models.data.cls import center_crop_batch, load_image_folder, normalize

    state = load_checkpoint(ckpt)
    model = state.build_model(ckpt).eval()
    images, labels, _ = load_image_folder(folder, state.train_args.get("load_size") or size)
    x = normalize(images, tuple(state.normalization["mean"]), tuple(state.normalization["std"]))
    x = center_crop_batch(x, size)
    with torch.no_grad():
        parts = [model.pool(model.features(x[i : i + batch])).flatten(1) for i in range(0, len(x), batch)]
    return torch.cat(parts).numpy(), labels


def zero_shot_accuracy(ckpt: Path, half: Path, size: int) -> float:
    """Nearest-class-mean accuracy on ``half/query`` with means from ``half/reference``, features frozen."""
    reference, reference_labels = penultimate_features(ckpt, half / "reference", size)
    queries, query_labels = penultimate_features(ckpt, half / "query", size)
    return nearest_class_mean_accuracy(reference, reference_labels, queries, query_labels)


DTD10_PARTS = ("supervised", "zs0", "zs1")  # the nets of one run: all classes, then each zero-shot half


@dataclass
class NetResult:
    """One net of a dtd10 run: its score (test accuracy, or a half's zero-shot accuracy) and how training ended."""

    value: float
    minutes: float
    steps: int
    stopped_by_budget: bool


def train_dtd10_net(train: TrainNet, folders: Dtd10Folders, ckpt: Path, part: str, crop: int) -> NetResult:
    """Train and score one net of a run with ``train(checkpoint, train folder, val folder or None)``: ``supervised``
    into ``ckpt`` (scored on the test files), or zero-shot half ``zs<k>`` into ``<seed>.zs<k>.pt`` (its unseen
    classes scored by nearest class mean of the frozen features)."""
    if part == "supervised":
        done = train(ckpt, folders.supervised / "train", folders.supervised / "val")
        if done.best_accuracy is None:
            raise UsageError(str(ckpt), "training ended without a validation score")
        return NetResult(float(done.best_accuracy), done.minutes, done.steps, done.stopped_by_budget)
    half, half_ckpt = folders.halves[int(part.removeprefix("zs"))], ckpt.with_name(f"{ckpt.stem}.{part}.pt")
    done = train(half_ckpt, half / "train", None)
    return NetResult(zero_shot_accuracy(half_ckpt, half, crop), done.minutes, done.steps, done.stopped_by_budget)


def dtd10_run(nets: list[NetResult]) -> tuple[float, float, int, bool, dict]:
    """A run from its nets (``DTD10_PARTS`` order): (supervised accuracy, minutes of all, steps, budget stop, extra
    with the zero-shot mean of the halves), the fields of the harness's ``Trained``."""
    supervised, halves = nets[0], [n.value for n in nets[1:]]
    extra = {"zero_shot_accuracy": statistics.fmean(halves), "zero_shot_halves": halves}
    return (supervised.value, sum(n.minutes for n in nets), supervised.steps, any(n.stopped_by_budget for n in nets),
            extra)
