"""Super-resolution data: HR folders (LR made by bicubic downscale), DIV2K pairs, eval folders.

Degradation follows the SR literature's protocol: crop HR to a multiple of the scale, LR by
bicubic downscale (Pillow's antialiased bicubic, which scores Set5 within 0.01 dB of MATLAB's
``imresize``). Images are uint8 arrays in memory; tensors come out NCHW float32 in [0, 1].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.degradations import check_protocol, degrade, soften
from edgeconv.runtime.imaging.images import IMAGE_SUFFIXES, bicubic_downscale, crop_to_multiple, image_files, read_image
from edgeconv.runtime.validation.sr_eval import shared_sr_data

__all__ = ["shared_sr_data", "IMAGE_SUFFIXES", "bicubic_downscale", "crop_to_multiple", "image_files", "read_image"]

def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 HWC (or HW) -> float32 CHW in [0, 1]."""
    arr = img if img.ndim == 3 else img[..., None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float() / 255.0


@dataclass
class SRPair:
    """One image: HR (uint8, cropped to a multiple of the scale) and its LR."""

    name: str
    hr: np.ndarray
    lr: np.ndarray


def load_hr_folder(folder: str | Path, scale: int, keep_grey: bool = False) -> list[SRPair]:
    """HR images of a folder with LR made by bicubic downscale (T91, Set5, Set14 layouts)."""
    pairs = []
    for path in image_files(folder):
        hr = crop_to_multiple(read_image(path, keep_grey), scale)
        if min(hr.shape[:2]) < scale:
            raise UsageError(str(path), f"is smaller than the scale {scale}")
        pairs.append(SRPair(path.stem, hr, bicubic_downscale(hr, scale)))
    return pairs


def load_div2k(root: str | Path, scale: int, split: str = "train") -> list[SRPair]:
    """DIV2K layout: ``DIV2K_{split}_HR/0001.png`` with ``DIV2K_{split}_LR_bicubic/X{s}/0001x{s}.png``."""
    root = Path(root)
    hr_dir = root / f"DIV2K_{split}_HR"
    lr_dir = root / f"DIV2K_{split}_LR_bicubic" / f"X{scale}"
    if not lr_dir.is_dir():
        raise UsageError(str(lr_dir), "is missing", "expected the DIV2K folder layout with bicubic LR images")
    pairs = []
    for hr_path in image_files(hr_dir):
        lr_path = lr_dir / f"{hr_path.stem}x{scale}{hr_path.suffix}"
        if not lr_path.is_file():
            raise UsageError(str(lr_path), f"is missing, the LR twin of {hr_path.name}")
        hr, lr = read_image(hr_path), read_image(lr_path)
        hr = hr[: lr.shape[0] * scale, : lr.shape[1] * scale]
        if hr.shape[0] != lr.shape[0] * scale or hr.shape[1] != lr.shape[1] * scale:
            raise UsageError(str(lr_path), f"is {lr.shape[1]}x{lr.shape[0]}, not 1/{scale} of {hr_path.name}")
        pairs.append(SRPair(hr_path.stem, hr, lr))
    return pairs


def load_sr_dataset(path: str | Path, scale: int, keep_grey: bool = False) -> list[SRPair]:
    """A DIV2K root when it looks like one, else a folder of HR images."""
    path = Path(path)
    if any(re.fullmatch(r"DIV2K_\w+_HR", p.name) for p in path.iterdir() if p.is_dir()) if path.is_dir() else False:
        return load_div2k(path, scale)
    return load_hr_folder(path, scale, keep_grey)


class PatchSampler:
    """Random aligned LR/HR patch batches with flips and transposes, from one torch Generator.

    Deterministic for a given seed: every random choice comes from ``generator``.
    """

    def __init__(self, pairs: list[SRPair], scale: int, lr_patch: int, generator: torch.Generator,
                 degradation: str = "bicubic", soft_content: float = 0.0) -> None:
        """``degradation``: ``bicubic`` uses each pair's LR; any other protocol of
        ``edgeconv.runtime.imaging.degradations`` (``mixed`` included) makes each LR patch from its HR
        patch, with parameters drawn from the same generator. ``soft_content``: the share of patches whose HR
        is itself soft (Gaussian blur, sigma 0.5-1.5, before the LR is made): video and upscaled content, where
        a soft LR does not mean a sharp original to restore."""
        usable = [p for p in pairs if min(p.lr.shape[:2]) >= lr_patch]
        if not usable:
            raise UsageError("training images", f"none is at least {lr_patch} px on each side after downscaling")
        check_protocol(degradation)
        self.pairs, self.scale, self.patch, self.gen = usable, scale, lr_patch, generator
        self.degradation, self.soft_content = degradation, soft_content

    def _randint(self, high: int) -> int:
        return int(torch.randint(high, (1,), generator=self.gen))

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(lr (N, 3, p, p), hr (N, 3, p*s, p*s)) float32 in [0, 1]."""
        lrs, hrs = [], []
        s, p = self.scale, self.patch
        for _ in range(size):
            pair = self.pairs[self._randint(len(self.pairs))]
            y = self._randint(pair.lr.shape[0] - p + 1)
            x = self._randint(pair.lr.shape[1] - p + 1)
            hr = pair.hr[y * s : (y + p) * s, x * s : (x + p) * s]
            soft = self.soft_content > 0 and self._randint(1 << 20) < self.soft_content * (1 << 20)
            if self.degradation == "bicubic" and not soft:
                lr = pair.lr[y : y + p, x : x + p]
            else:
                rng = np.random.default_rng(self._randint(2**31))
                if soft:
                    hr = soften(hr, float(rng.uniform(0.5, 1.5)))
                lr = degrade(np.ascontiguousarray(hr), s, self.degradation, rng)
            flips = self._randint(8)
            if flips & 1:
                lr, hr = lr[:, ::-1], hr[:, ::-1]
            if flips & 2:
                lr, hr = lr[::-1], hr[::-1]
            if flips & 4:
                lr, hr = lr.transpose(1, 0, 2), hr.transpose(1, 0, 2)
            lrs.append(to_tensor(lr))
            hrs.append(to_tensor(hr))
        return torch.stack(lrs), torch.stack(hrs)
