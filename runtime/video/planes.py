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


def _upscale_rows(x: np.ndarray, scale: int, taps: np.ndarray) -> np.ndarray:
    """Upscale along axis 0: output row ``s*i + p`` = sum_k taps[p, k] * row ``i - 2 + k`` (edges repeated)."""
    n = x.shape[0]
    padded = np.concatenate([x[:1], x[:1], x, x[-1:], x[-1:]], axis=0)
    out = np.empty((n * scale, *x.shape[1:]), np.float32)
    acc = np.empty_like(x)
    for phase in range(scale):
        np.multiply(padded[0:n], taps[phase, 0], out=acc)
        for k in range(1, 5):
            if taps[phase, k] != 0.0:
                acc += taps[phase, k] * padded[k:k + n]
        out[phase::scale] = acc
    return out


def bicubic_upscale_plane(plane: np.ndarray, scale: int) -> np.ndarray:
    """(H, W) float plane -> (scale*H, scale*W) float32: ``F.interpolate(..., 'bicubic')`` as the model's skip does."""
    taps = bicubic_taps(scale)
    rows = _upscale_rows(plane.astype(np.float32, copy=False), scale, taps)
    return np.ascontiguousarray(_upscale_rows(np.ascontiguousarray(rows.T), scale, taps).T)


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
        """The model's luma unit -> integer samples, rounded (half up) and clipped to the nominal range (16-235
        limited). Works in place on ``luma`` (the model's output buffer: 5 ms -> 2 ms for a 1280x720 plane)."""
        gain, offset = (255.0 * 255.0 / 219.0, 0.0) if self.full else (255.0, 16.0)
        lo, hi = (0.0, 255.0) if self.full else (16.0, 235.0)
        x = luma if luma.dtype == np.float32 and luma.flags.writeable else luma.astype(np.float32)
        x *= np.float32(gain * self.step)
        x += np.float32(offset * self.step + 0.5)
        np.clip(x, lo * self.step, (hi + 0.5) * self.step - 1e-3, out=x)
        return x.astype(dtype)

    def chroma_to_samples(self, chroma: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Upscaled chroma (same units as the input samples) -> integer samples in the nominal range (in place)."""
        lo, hi = (0.0, 255.0) if self.full else (16.0, 240.0)
        chroma += np.float32(0.5)
        np.clip(chroma, lo * self.step, (hi + 0.5) * self.step - 1e-3, out=chroma)
        return chroma.astype(dtype)
