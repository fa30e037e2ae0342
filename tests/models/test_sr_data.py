"""SR data loaders on images the tests make: HR folders, DIV2K layout, patches, eval folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from edgeconv.errors import UsageError
from edgeconv.models.data.sr import (
    PatchSampler,
    bicubic_downscale,
    load_div2k,
    load_hr_folder,
    load_sr_dataset,
)


def write_images(folder: Path, sizes: list[tuple[int, int]], mode: str = "RGB") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        shape = (h, w, 3) if mode == "RGB" else (h, w)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"img{i}.png")


def test_hr_folder_crops_to_a_multiple_and_downscales(tmp_path: Path) -> None:
    write_images(tmp_path, [(101, 67), (64, 64)])
    pairs = load_hr_folder(tmp_path, 3)
    assert [p.hr.shape for p in pairs] == [(66, 99, 3), (63, 63, 3)]
    assert [p.lr.shape for p in pairs] == [(22, 33, 3), (21, 21, 3)]
    np.testing.assert_array_equal(pairs[0].lr, bicubic_downscale(pairs[0].hr, 3))


def test_grey_images_stay_single_channel_for_scoring(tmp_path: Path) -> None:
    write_images(tmp_path, [(40, 30)], mode="L")
    (pair,) = load_hr_folder(tmp_path, 2, keep_grey=True)
    assert pair.hr.shape == (30, 40) and pair.lr.shape == (15, 20)
    (rgb,) = load_hr_folder(tmp_path, 2)
    assert rgb.hr.shape == (30, 40, 3)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "rot.jpg", exif=exif)
    (pair,) = load_hr_folder(tmp_path, 2)
    assert pair.hr.shape[:2] == (40, 20)


def test_div2k_layout_pairs_hr_with_its_lr(tmp_path: Path) -> None:
    write_images(tmp_path / "DIV2K_train_HR", [(64, 48)])
    lr_dir = tmp_path / "DIV2K_train_LR_bicubic" / "X2"
    lr_dir.mkdir(parents=True)
    hr = Image.open(tmp_path / "DIV2K_train_HR" / "img0.png")
    hr.resize((32, 24), Image.BICUBIC).save(lr_dir / "img0x2.png")
    (pair,) = load_div2k(tmp_path, 2)
    assert pair.hr.shape == (48, 64, 3) and pair.lr.shape == (24, 32, 3)
    assert len(load_sr_dataset(tmp_path, 2)) == 1  # recognised as DIV2K


def test_div2k_missing_lr_twin_is_named(tmp_path: Path) -> None:
    write_images(tmp_path / "DIV2K_train_HR", [(64, 48)])
    (tmp_path / "DIV2K_train_LR_bicubic" / "X2").mkdir(parents=True)
    with pytest.raises(UsageError, match=r"img0x2.png \| is missing, the LR twin of img0.png"):
        load_div2k(tmp_path, 2)


def test_empty_folder_and_non_image_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="holds no images"):
        load_hr_folder(tmp_path, 2)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UsageError, match=r"notes.png \| cannot be read as an image"):
        load_hr_folder(tmp_path, 2)


def test_patches_are_aligned_seeded_and_augmented(tmp_path: Path, astronaut: np.ndarray) -> None:
    Image.fromarray(astronaut[:200, :240]).save(tmp_path / "a.png")
    pairs = load_hr_folder(tmp_path, 2)
    batches = [PatchSampler(pairs, 2, 16, torch.Generator().manual_seed(3)).batch(8) for _ in range(2)]
    assert torch.equal(batches[0][0], batches[1][0]) and torch.equal(batches[0][1], batches[1][1])
    lr, hr = batches[0]
    assert lr.shape == (8, 3, 16, 16) and hr.shape == (8, 3, 32, 32)
    # each LR patch is the bicubic downscale of its HR patch, up to border effects of the crop
    down = torch.nn.functional.avg_pool2d(hr, 2)
    assert float((down - lr)[..., 2:-2, 2:-2].abs().mean()) < 0.03


def test_patch_sampler_makes_lr_with_a_degradation_protocol() -> None:
    import numpy as np
    import torch

    from edgeconv.models.data.sr import PatchSampler, SRPair
    from edgeconv.runtime.imaging.degradations import aliased_downscale
    from edgeconv.runtime.imaging.images import bicubic_downscale

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pairs = [SRPair("a", hr, bicubic_downscale(hr, 2))]
    aliased = PatchSampler(pairs, 2, 8, torch.Generator().manual_seed(3), "cubic-aliased")
    lr, hr_patch = aliased.batch(4)
    for i in range(4):  # each LR patch is the aliased cubic downscale of its own HR patch
        hr_u8 = np.round(hr_patch[i].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        want = aliased_downscale(hr_u8, 2).astype(np.float32) / 255
        np.testing.assert_allclose(lr[i].permute(1, 2, 0).numpy(), want, atol=1e-6)
    mixed = [PatchSampler(pairs, 2, 8, torch.Generator().manual_seed(5), "mixed").batch(6)[0] for _ in range(2)]
    torch.testing.assert_close(mixed[0], mixed[1])  # one seed, one stream of protocols and parameters
    import pytest

    from edgeconv.errors import UsageError

    with pytest.raises(UsageError, match="unknown protocol 'sinc'"):
        PatchSampler(pairs, 2, 8, torch.Generator(), "sinc")


def test_soft_content_patches_are_soft_targets_with_their_own_lr() -> None:
    """With soft_content=1 every HR patch is a blurred image and its LR is that patch's degradation; with 0 the
    same seed gives sharper targets (the share of soft patches is what the option says)."""
    import numpy as np
    import torch

    from edgeconv.models.data.sr import PatchSampler, SRPair
    from edgeconv.runtime.imaging.degradations import aliased_downscale
    from edgeconv.runtime.imaging.images import bicubic_downscale

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pairs = [SRPair("a", hr, bicubic_downscale(hr, 2))]

    def roughness(batch: torch.Tensor) -> float:
        return float(batch.diff(dim=-1).abs().mean())

    sharp = PatchSampler(pairs, 2, 8, torch.Generator().manual_seed(3), "cubic-aliased").batch(16)
    soft = PatchSampler(pairs, 2, 8, torch.Generator().manual_seed(3), "cubic-aliased", soft_content=1.0).batch(16)
    assert roughness(soft[1]) < 0.5 * roughness(sharp[1])  # noise blurred with sigma >= 0.5 loses most of it
    for i in range(16):
        hr_u8 = np.round(soft[1][i].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        np.testing.assert_allclose(soft[0][i].permute(1, 2, 0).numpy(),
                                   aliased_downscale(hr_u8, 2).astype(np.float32) / 255, atol=1e-6)
    half = PatchSampler(pairs, 2, 8, torch.Generator().manual_seed(4), "bicubic", soft_content=0.5).batch(200)[1]
    per_patch = half.diff(dim=-1).abs().mean(dim=(1, 2, 3))
    assert 0.35 < float((per_patch < 0.5 * float(sharp[1].diff(dim=-1).abs().mean())).float().mean()) < 0.65
