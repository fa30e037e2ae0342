"""Video planes <-> the model's units: luma mapped by range and bit depth, chroma upscaled by the model's bicubic.

The shipped models take luma as ``l = 0.257 R + 0.504 G + 0.098 B`` of RGB in [0, 1] - BT.601 studio luma
without its +16 offset, so ``l = (Y - 16) / 255`` for 8-bit limited-range (16-235) video luma. Full-range luma
(0-255, ``yuvj``) is first brought to the same scale (``l = Y * 219 / 255 / 255``), and 10-bit samples are
divided by 4. HD video's luma is BT.709 (other R, G, B weights); the model sees it as it sees any grey
image, the same way the image path sees BT.601 luma of the decoded RGB. The chroma planes take the bicubic
upsample the model's skip uses (Keys a = -0.75, half-pixel centres, edges replicated), so flat colour passes
through exactly as in the RGB model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

A_CUBIC = -0.75


def _cubic(t: np.ndarray) -> np.ndarray:
    t = np.abs(t)
    near = ((A_CUBIC + 2) * t - (A_CUBIC + 3)) * t * t + 1
    far = ((A_CUBIC * t - 5 * A_CUBIC) * t + 8 * A_CUBIC) * t - 4 * A_CUBIC
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def bicubic_taps(scale: int) -> np.ndarray:
    """(scale, 5) taps: output phase ``p`` of input pixel ``i`` reads ``i - 2 .. i + 2`` (``BicubicPhases``)."""
    positions = 2 + (np.arange(scale) + 0.5) / scale - 0.5
    return _cubic(positions[:, None] - np.arange(5)[None, :]).astype(np.float32)


def _upscale_axis(x: np.ndarray, scale: int, axis: int) -> np.ndarray:
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (2, 2)
    padded = np.pad(x, pad, mode="edge")
    shape = list(x.shape)
    shape[axis] = n * scale
    out = np.empty(shape, np.float32)
    taps = bicubic_taps(scale)
    for phase in range(scale):
        acc = np.zeros(x.shape, np.float32)
        for k in range(5):
            acc += taps[phase, k] * np.take(padded, np.arange(k, k + n), axis=axis)
        index = [slice(None)] * x.ndim
        index[axis] = slice(phase, None, scale)
        out[tuple(index)] = acc
    return out


def bicubic_upscale_plane(plane: np.ndarray, scale: int) -> np.ndarray:
    """(H, W) float plane -> (scale*H, scale*W) float32: ``F.interpolate(..., 'bicubic')`` as the model's skip does."""
    return _upscale_axis(_upscale_axis(plane.astype(np.float32, copy=False), scale, 0), scale, 1)


@dataclass(frozen=True)
class SampleRange:
    """How a plane's integer samples map to [0, 1]: bit depth and limited (studio) or full range."""

    bits: int = 8
    full: bool = False

    @property
    def step(self) -> float:
        """Integer units per 8-bit level (4 for 10-bit)."""
        return float(1 << (self.bits - 8))

    @property
    def max_code(self) -> int:
        """The largest code the samples can hold."""
        return (1 << self.bits) - 1

    def luma_to_model(self, y: np.ndarray) -> np.ndarray:
        """Integer luma samples -> float32 in the model's luma unit ``(Y8 - 16) / 255``."""
        y8 = y.astype(np.float32) / self.step
        if self.full:
            return y8 * np.float32(219.0 / 255.0 / 255.0)
        return (y8 - 16.0) / 255.0

    def luma_from_model(self, luma: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """The model's luma unit -> integer samples, rounded and clipped to the nominal range (16-235 limited)."""
        if self.full:
            y8, lo, hi = luma * np.float32(255.0 * 255.0 / 219.0), 0.0, 255.0
        else:
            y8, lo, hi = luma * 255.0 + 16.0, 16.0, 235.0
        return _to_samples(y8, lo, hi, self, dtype)

    def chroma_to_samples(self, chroma: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Upscaled chroma (same units as the input samples) -> integer samples in the nominal range."""
        lo, hi = (0.0, 255.0) if self.full else (16.0, 240.0)
        return _to_samples(chroma / self.step, lo, hi, self, dtype)


def _to_samples(x8: np.ndarray, lo: float, hi: float, samples: SampleRange, dtype: np.dtype) -> np.ndarray:
    x = np.clip(x8, lo, hi) * samples.step
    return np.clip(np.rint(x), 0, samples.max_code).astype(dtype)
