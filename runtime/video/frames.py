"""One decoded frame -> one upscaled frame: the Y plane through the model, chroma by its bicubic skip.

Planar Y'CbCr frames (4:2:0, 4:2:2, 4:4:4; 8 or 10 bit; limited or full range) are upscaled in their own
format; anything else (NV12, RGB, grey) is first converted by FFmpeg's scaler to the nearest planar
format. A model without a Y-plane form (an RGB ``.onnx`` of your own) runs on the frame's RGB instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.video.planes import SampleRange, bicubic_upscale_plane

if TYPE_CHECKING:
    import av

    from edgeconv.runtime.backends.base import Backend

# planar formats processed as they are: name -> (bits, full range); 'j' formats are full range
PLANAR = {
    **{f"yuv{c}p": (8, False) for c in ("420", "422", "444")},
    **{f"yuvj{c}p": (8, True) for c in ("420", "422", "444")},
    **{f"yuv{c}p10le": (10, False) for c in ("420", "422", "444")},
}
FULL_RANGE = 2  # AVCOL_RANGE_JPEG


def planar_format(name: str) -> str:
    """The planar format a frame of format ``name`` is processed in (itself when it is one we take)."""
    if name in PLANAR:
        return name
    if name in ("gray", "gray8", "rgb24", "bgr24", "gbrp", "rgba", "bgra", "argb", "abgr"):
        return "yuv444p"  # no chroma subsampling to keep
    if "10" in name or "12" in name or "16" in name:
        return "yuv420p10le"
    return "yuv420p"


def sample_range(frame: av.VideoFrame) -> SampleRange:
    """Bit depth and range of a planar frame (full for ``yuvj`` formats and frames tagged full range)."""
    bits, full = PLANAR[frame.format.name]
    return SampleRange(bits, full or frame.color_range == FULL_RANGE)


def read_plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    """Plane ``index`` of a planar frame as an (h, w) uint8/uint16 array (a copy, line padding dropped)."""
    plane = frame.planes[index]
    dtype = np.uint16 if frame.format.name.endswith("10le") else np.uint8
    rows = np.frombuffer(plane, dtype).reshape(plane.height, -1)
    return rows[:, : plane.width].copy()


def write_plane(frame: av.VideoFrame, index: int, data: np.ndarray) -> None:
    """Copy (h, w) samples into plane ``index`` of ``frame`` (its own line stride), the line padding filled with
    each row's last sample: encoders read past the width (SIMD), and uninitialised padding made libx264's output
    differ from run to run on the same frames."""
    plane = frame.planes[index]
    rows = np.frombuffer(plane, data.dtype).reshape(plane.height, -1)
    rows[:, : plane.width] = data[: plane.height, : plane.width]
    rows[:, plane.width:] = rows[:, plane.width - 1 : plane.width]


class FrameUpscaler(Protocol):
    """Something that turns a decoded frame into an upscaled one (same format, same timestamps)."""

    scale: int

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame: ...


def _like(frame: av.VideoFrame, width: int, height: int, fmt: str) -> av.VideoFrame:
    import av

    out = av.VideoFrame(width, height, fmt)
    out.pts, out.duration = frame.pts, frame.duration
    if frame.time_base is not None:
        out.time_base = frame.time_base
    out.color_range, out.colorspace = frame.color_range, frame.colorspace
    out.color_primaries, out.color_trc = frame.color_primaries, frame.color_trc
    return out


class LumaPlaneUpscaler:
    """Runs a Y-plane model (one channel in and out) on the luma plane; chroma by the same bicubic."""

    def __init__(self, backend: Backend) -> None:
        if backend.facts.scale is None or backend.facts.extra.get("input_channels") != "1":
            raise UsageError(str(backend.path), "is not a Y-plane SR model", "use a shipped model or its .y.onnx")
        self.backend, self.scale = backend, int(backend.facts.scale)

    def luma(self, y: np.ndarray, samples: SampleRange) -> np.ndarray:
        """(h, w) luma samples -> (s*h, s*w) upscaled samples of the same type."""
        out = self.backend.run(samples.luma_to_model(y)[None, None])
        return samples.luma_from_model(out[0, 0], y.dtype)

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        fmt = planar_format(frame.format.name)
        if fmt != frame.format.name:
            frame = frame.reformat(format=fmt)
        samples, s = sample_range(frame), self.scale
        out = _like(frame, frame.width * s, frame.height * s, fmt)
        write_plane(out, 0, self.luma(read_plane(frame, 0), samples))
        for index in (1, 2):
            chroma = read_plane(frame, index)
            write_plane(out, index, samples.chroma_to_samples(bicubic_upscale_plane(chroma, s), chroma.dtype))
        return out


class RgbModelUpscaler:
    """Runs an RGB SR model on the frame's RGB (for models without a Y-plane form): converts both ways."""

    def __init__(self, backend: Backend) -> None:
        if backend.facts.scale is None:
            raise UsageError(str(backend.path), "is not a super-resolution model (no scale in its metadata)")
        self.backend, self.scale = backend, int(backend.facts.scale)

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        import av
        from av.video.reformatter import Interpolation

        exact = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
        space = frame.colorspace if frame.colorspace in (1, 5, 6, 9) else None  # 709, 470BG, 170M, 2020: tagged
        rgb = frame.reformat(format="rgb24", src_colorspace=space, interpolation=exact).to_ndarray()
        image = self.backend.facts.to_image(self.backend.run(self.backend.facts.to_input(rgb)))
        back = av.VideoFrame.from_ndarray(image, format="rgb24")
        planar = back.reformat(format=planar_format(frame.format.name), dst_colorspace=space, interpolation=exact)
        out = _like(frame, planar.width, planar.height, planar.format.name)
        for index in range(len(planar.planes)):
            write_plane(out, index, read_plane(planar, index))
        return out
