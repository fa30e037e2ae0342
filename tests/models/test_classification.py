"""ResNet-18 variants, CIFAR-100 python files, image folders, and classification training."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from edgeconv.errors import LayerArgumentError, UsageError
from edgeconv.export import to_deploy
from edgeconv.models import create_model
from edgeconv.models.checkpoints.format import load_checkpoint
from edgeconv.models.data.cls import load_cifar100, load_image_folder
from edgeconv.models.nets.resnet_cifar import CONV_VARIANTS
from edgeconv.models.training.cls import ClsTrainConfig, train_cls


@pytest.mark.parametrize("variant", CONV_VARIANTS)
def test_every_variant_trains_and_deploys(variant: str) -> None:
    torch.manual_seed(0)
    model = create_model("resnet18_cifar", variant=variant, width=8, num_classes=10)
    x = torch.randn(4, 3, 32, 32)
    logits = model.train()(x)
    assert logits.shape == (4, 10)
    logits.logsumexp(1).mean().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    deployed = to_deploy(model, "conv")
    assert not [m for m in deployed.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        torch.testing.assert_close(deployed(x), model(x), atol=1e-4, rtol=1e-4)


def test_variants_differ_only_in_the_conv_slot() -> None:
    plain = create_model("resnet18_cifar", variant="plain", width=8)
    jitter = create_model("resnet18_cifar", variant="jitter-channel", width=8)
    assert [n for n, _ in plain.named_parameters()] == [
        n.replace("conv1.conv.", "conv1.").replace("conv2.conv.", "conv2.") for n, _ in jitter.named_parameters()
    ]


def test_unknown_variant_and_model_names_list_the_known_ones() -> None:
    with pytest.raises(LayerArgumentError, match="is not one of plain, jitter-random"):
        create_model("resnet18_cifar", variant="dilated")
    with pytest.raises(UsageError, match="known models: .*resnet18_cifar"):
        create_model("resnet50")


def write_cifar(root: Path, n: int, seed: int) -> None:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        labels = rng.integers(0, 100, n)
        data = np.zeros((n, 3072), dtype=np.uint8)
        for i, y in enumerate(labels):  # learnable: the class sets the mean colour
            data[i] = np.clip(rng.normal(y * 2.5, 20, 3072), 0, 255).astype(np.uint8)
        with (folder / split).open("wb") as f:
            pickle.dump({b"data": data, b"fine_labels": labels.tolist(), b"coarse_labels": [0] * n}, f)


def test_cifar_files_load_as_torchvision_lays_them_out(tmp_path: Path) -> None:
    write_cifar(tmp_path, 20, 0)
    images, labels = load_cifar100(tmp_path, "train")
    assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (20,) and labels.max() < 100


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar_file_that_would_run_code_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(UsageError, match=r"is not a CIFAR python batch file: global builtins.print is not allowed"):
        load_cifar100(tmp_path, "train")


def test_image_folder_classes(tmp_path: Path) -> None:
    for cls, colour in (("banded", (200, 10, 10)), ("dotted", (10, 200, 10))):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (50 + i, 40), colour).save(tmp_path / cls / f"{i}.jpg")
    images, labels, names = load_image_folder(tmp_path, 32)
    assert images.shape == (6, 32, 32, 3) and names == ["banded", "dotted"]
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_classification_training_is_seeded_and_checkpoints(tmp_path: Path) -> None:
    write_cifar(tmp_path, 64, 1)
    cfg = ClsTrainConfig(model="resnet18_cifar", model_config={"width": 8}, data=str(tmp_path),
                         batch_size=16, steps=8, val_every=4, threads=1, lr=0.05)
    a = train_cls(cfg, tmp_path / "a.pt")
    b = train_cls(cfg, tmp_path / "b.pt")
    np.testing.assert_allclose(a.losses, b.losses, atol=1e-6, rtol=0)
    ckpt = load_checkpoint(tmp_path / "a.pt")
    assert ckpt.task == "cls" and ckpt.config["num_classes"] == 100
    assert 0.0 <= ckpt.metrics["best_accuracy"] <= 1.0
    model = ckpt.build_model(tmp_path / "a.pt")
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 100)


def test_folder_datasets_are_normalised_with_their_own_mean_and_std(tmp_path: Path) -> None:
    """Not CIFAR-100's: the training images' per-channel mean/std, used for train and val, kept in the checkpoint."""
    from edgeconv.models.data.cls import CIFAR100_MEAN
    from edgeconv.models.training.cls import load_cls_data

    rng = np.random.default_rng(0)
    for root, n in (("train", 5), ("val", 2)):
        for cls, base in (("dark", (30, 60, 20)), ("bright", (220, 140, 90))):
            (tmp_path / root / cls).mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(rng.normal(base, 25, (20, 20, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(tmp_path / root / cls / f"{i}.png")
    cfg = ClsTrainConfig(model="resnet18_cifar", model_config={"width": 4}, dataset="folder",
                         data=str(tmp_path / "train"), val_data=str(tmp_path / "val"), image_size=16,
                         batch_size=4, steps=2, val_every=2, threads=1)
    images, _, _ = load_image_folder(tmp_path / "train", 16)
    pixels = images.reshape(-1, 3).astype(np.float64) / 255
    data = load_cls_data(cfg)
    assert data.mean == pytest.approx(tuple(pixels.mean(0))) and data.std == pytest.approx(tuple(pixels.std(0)))
    assert data.mean != pytest.approx(CIFAR100_MEAN, abs=0.01)
    torch.testing.assert_close(data.x_train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(data.x_train.std(dim=(0, 2, 3), correction=0), torch.ones(3), atol=1e-4, rtol=0)
    val, _, _ = load_image_folder(tmp_path / "val", 16)  # validation images use the training statistics
    want = (val[0, 3, 5] / 255 - np.asarray(data.mean)) / np.asarray(data.std)
    torch.testing.assert_close(data.x_val[0, :, 3, 5], torch.tensor(want, dtype=torch.float32))
    train_cls(cfg, tmp_path / "t.pt")
    assert load_checkpoint(tmp_path / "t.pt").normalization == {"mean": list(data.mean), "std": list(data.std)}


def test_a_constant_channel_is_not_divided_by_zero() -> None:
    from edgeconv.models.training.cls import channel_stats

    images = np.zeros((2, 4, 4, 3), np.uint8)
    images[..., 0] = 255
    images[1, ..., 1] = 51
    mean, std = channel_stats(images)
    assert mean == pytest.approx((1.0, 0.1, 0.0)) and std == pytest.approx((1.0, 0.1, 1.0))


@settings(max_examples=40, deadline=None)
@given(h=st.integers(4, 12), w=st.integers(4, 12), size=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_random_crops_are_windows_of_their_own_image(h: int, w: int, size: int, seed: int) -> None:
    """Each output is a size x size window of its source image, flipped or not; the generator decides."""
    from edgeconv.models.data.cls import random_crop_batch

    x = torch.arange(3 * 2 * h * w, dtype=torch.float32).view(3, 2, h, w)
    out = random_crop_batch(x, size, torch.Generator().manual_seed(seed))
    assert out.shape == (3, 2, size, size)
    for i in range(3):
        windows = [x[i, :, t : t + size, left : left + size] for t in range(h - size + 1)
                   for left in range(w - size + 1)]
        assert any(torch.equal(out[i], win) or torch.equal(out[i], win.flip(-1)) for win in windows)
    again = random_crop_batch(x, size, torch.Generator().manual_seed(seed))
    assert torch.equal(out, again)


def test_centre_crops_and_a_crop_larger_than_the_images() -> None:
    from edgeconv.models.data.cls import center_crop_batch, random_crop_batch
    from edgeconv.models.training.cls import loaded_side

    x = torch.arange(2 * 1 * 6 * 8, dtype=torch.float32).view(2, 1, 6, 8)
    fits = x[..., :4, :4]
    assert torch.equal(center_crop_batch(x, 4), x[..., 1:5, 2:6]) and center_crop_batch(fits, 4) is fits
    with pytest.raises(UsageError, match="7 px is larger than the loaded 6x8 images"):
        random_crop_batch(x, 7, torch.Generator())
    assert loaded_side(ClsTrainConfig(image_size=32)) == 32
    assert loaded_side(ClsTrainConfig(image_size=32, load_size=48)) == 48
    with pytest.raises(UsageError, match="40 is below the crop 48"):
        loaded_side(ClsTrainConfig(image_size=48, load_size=40))


def test_a_stride_2_stem_halves_the_feature_map() -> None:
    model = create_model("texture_resnet18", num_classes=5, variant="shiftwise-rotational", width=4, stem_stride=2)
    assert model.features(torch.randn(1, 3, 96, 96)).shape == (1, 32, 6, 6)  # 96 / 16
    assert create_model("texture_resnet18", width=4).features(torch.randn(1, 3, 96, 96)).shape[-1] == 12
    with pytest.raises(LayerArgumentError, match="stem_stride must be 1"):
        create_model("texture_resnet18", stem_stride=4)
