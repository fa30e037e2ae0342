"""Fixtures of the runtime tests: small real photos, made here, never downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

PHOTO_SIZE = (128, 160)  # (height, width) of the `photos` crops where a test module sets no PHOTO_SIZE of its own


def save_photos(folder: Path, height: int, width: int) -> Path:
    """Save height x width crops of scikit-image's astronaut and coffee photos in ``folder`` (PNG) and return it."""
    from skimage import data

    Image.fromarray(data.astronaut()[:height, :width]).save(folder / "astronaut.png")
    Image.fromarray(data.coffee()[100:100 + height, 200:200 + width]).save(folder / "coffee.png")
    return folder


@pytest.fixture(scope="module")
def photos(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HR photos from scikit-image (astronaut.png, coffee.png), sized by the test module's ``PHOTO_SIZE``."""
    height, width = getattr(request.module, "PHOTO_SIZE", PHOTO_SIZE)
    return save_photos(tmp_path_factory.mktemp("photos"), height, width)
