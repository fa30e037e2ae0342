"""Shared fixtures: tiny real models and images, made here, never downloaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from edgeconv.jitter_conv import JITTER_MODES, JitterConv
from edgeconv.models.data.sr import shared_sr_data
from edgeconv.pixel_mix import PixelMix
from edgeconv.shiftwise_conv import ShiftwiseConv


def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial running stats and affine terms, so folding is tested."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=gen) * 2 - 1)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(c, generator=gen) * 2 - 1)
    return model


OP_KINDS = [f"jitter-{m}" for m in JITTER_MODES] + [
    "shiftwise",
    "shiftwise-diagonal",
    "shiftwise-rotational",
    "shiftwise-diagonal-rotational",
    "shiftwise-nonorm",
    "pixelmix",
]


def build_op(kind: str, channels: int, seed: int, kernel_size: int = 13, max_shift: int = 2) -> nn.Module:
    """One edgeconv op of the given kind with seeded weights and learnable shifts spread out."""
    torch.manual_seed(seed)
    if kind.startswith("jitter-"):
        op: nn.Module = JitterConv(
            channels, channels + 1, mode=kind.removeprefix("jitter-"), max_shift=max_shift,
            init_shift=float(max_shift),
        )
    elif kind.startswith("shiftwise"):
        op = ShiftwiseConv(
            channels, channels + 2, kernel_size=kernel_size,
            diagonal="diagonal" in kind, rotation="rotational" in kind, norm="nonorm" not in kind,
        )
    elif kind == "pixelmix":
        op = PixelMix(channels)
    else:
        raise ValueError(kind)
    return randomize_batchnorm(op, seed).eval()


SHARED_SR = shared_sr_data()


@pytest.fixture(autouse=True, scope="session")
def _private_measurement_cache(tmp_path_factory: pytest.TempPathFactory):
    """What the tests measure (the fastest back end per model, shift lowerings) goes to a cache of this session,
    inherited by the CLI subprocesses: never the user's ~/.cache/edgeconv."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDGECONV_CACHE_DIR", str(tmp_path_factory.mktemp("edgeconv-cache")))
        yield


@pytest.fixture(scope="session")
def sr_data() -> Path:
    """The project's shared SR images (Set5, T91): ../shared/data/sr beside the checkout."""
    if SHARED_SR is None or not (SHARED_SR / "Set5").is_dir():
        pytest.skip(
            f"shared SR data (Set5) not found: {SHARED_SR or 'no shared/data/sr above the checkout'} "
            "(set EDGECONV_SR_DATA to its folder)"
        )
    return SHARED_SR


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A real RGB photograph (512x512x3 uint8) bundled with scikit-image."""
    from skimage import data

    return data.astronaut()


EDGECONV = [sys.executable, "-m", "edgeconv.cli.app"]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real ``edgeconv`` command in a subprocess (exit code, stdout, stderr as text)."""
    return subprocess.run([*EDGECONV, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def run_python_snippet(code: str, *args: str, env: dict[str, str] | None = None,
                       timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -c code args`` in a fresh interpreter (exit code, stdout, stderr as text)."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def import_blocker(package: str) -> str:
    """Python source that makes importing ``package`` or its submodules fail, as on an install without it."""
    return textwrap.dedent(
        f"""
        import sys
        class _Blocked:
            def find_spec(self, name, path=None, target=None):
                if name == {package!r} or name.startswith({package + "."!r}):
                    raise ImportError({package + " is blocked in this test"!r})
                return None
        sys.meta_path.insert(0, _Blocked())
        """
    )


@pytest.fixture(scope="session")
def default_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped default SR checkpoint exported (ORT lowering), checked on a scikit-image photo."""
    from PIL import Image
    from skimage import data

    from edgeconv.export.graph.from_checkpoint import export_checkpoint
    from edgeconv.models.checkpoints.shipped import DEFAULT_CHECKPOINT

    folder = tmp_path_factory.mktemp("default_onnx")
    Image.fromarray(data.astronaut()[:96, :96]).save(folder / "astronaut.png")
    path = folder / "default.onnx"
    export_checkpoint(DEFAULT_CHECKPOINT, path, target_backend="onnxruntime", check_folder=folder)
    return path


@pytest.fixture(scope="session")
def jitter_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped shift model (``jitter``: learnable shifts, rewritten to fixed depthwise convs) exported."""
    from edgeconv.export.graph.from_checkpoint import export_checkpoint
    from edgeconv.models.checkpoints.shipped import JITTER_CHECKPOINT

    path = tmp_path_factory.mktemp("jitter_onnx") / "jitter.onnx"
    export_checkpoint(JITTER_CHECKPOINT, path, target_backend="onnxruntime")
    return path
