"""How the upscaled video is encoded: codec, quality, speed preset, pixel format - and the encoder for it.

Defaults are what a user expects from a video tool: H.264 (libx264) CRF 23, preset ``veryfast`` (x264's
quality per second sweet spot on a small CPU), 4:2:0 8-bit (what every player decodes). ``--pix-fmt keep``
keeps the input's chroma layout and bit depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from edgeconv.errors import UsageError
from edgeconv.runtime.choices import Choice

if TYPE_CHECKING:
    import av


class VideoCodec(Choice):
    """Output video codecs (FFmpeg encoders in PyAV's wheel)."""

    H264 = "h264"
    H265 = "h265"
    VP9 = "vp9"
    AV1 = "av1"


class PipeContainer(Choice):
    """What a ``-`` output streams: raw Y4M frames, or NUT / Matroska with the encoded video."""

    Y4M = "y4m"
    NUT = "nut"
    MKV = "mkv"


ENCODERS = {VideoCodec.H264: "libx264", VideoCodec.H265: "libx265", VideoCodec.VP9: "libvpx-vp9",
            VideoCodec.AV1: "libsvtav1"}
DEFAULT_CRF = {VideoCodec.H264: 23, VideoCodec.H265: 28, VideoCodec.VP9: 32, VideoCodec.AV1: 35}
KEEP = "keep"


@dataclass(frozen=True)
class VideoEncoding:
    """Encoder settings of one output video.

    Args:
        codec: the output codec.
        crf: constant-rate factor (lower is better and larger); None: the codec's default (23 for H.264).
        preset: x264/x265 speed preset (``ultrafast`` .. ``veryslow``); VP9 and AV1 map it to their speed knobs.
        pix_fmt: output pixel format (``yuv420p``), or ``keep`` for the input's.
    """

    codec: VideoCodec = VideoCodec.H264
    crf: int | None = None
    preset: str = "veryfast"
    pix_fmt: str = "yuv420p"

    def check(self) -> None:
        """Refuse settings the encoder cannot take (``UsageError`` naming the option)."""
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise UsageError("--crf", f"must be in 0..63, got {self.crf}")
        presets = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
        if self.preset not in presets:
            raise UsageError("--preset", f"unknown preset {self.preset!r}", f"expected one of {', '.join(presets)}")

    def output_format(self, input_format: str) -> str:
        """The pixel format frames are encoded in, given the processed input's planar format."""
        return input_format if self.pix_fmt == KEEP else self.pix_fmt

    def options(self) -> dict[str, str]:
        """The encoder's private options for this codec."""
        crf = str(self.crf if self.crf is not None else DEFAULT_CRF[self.codec])
        speed = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                 "veryslow").index(self.preset)
        if self.codec in (VideoCodec.H264, VideoCodec.H265):
            return {"crf": crf, "preset": self.preset}
        if self.codec == VideoCodec.VP9:
            return {"crf": crf, "b": "0", "deadline": "good", "cpu-used": str(max(0, 8 - speed))}
        return {"crf": crf, "preset": str(max(0, 12 - speed))}


@dataclass(frozen=True)
class SourceVideo:
    """What the output video takes from the source's video stream (kept as values: the source closes first)."""

    time_base: Fraction
    rate: Fraction
    sample_aspect_ratio: Fraction | None
    metadata: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, stream: av.video.stream.VideoStream) -> SourceVideo:
        """Read the facts off an open stream."""
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        kept = tuple((k, v) for k, v in stream.metadata.items() if k in ("language", "title"))
        return cls(Fraction(stream.time_base), Fraction(rate), stream.sample_aspect_ratio or None, kept)


def configure_encoder(cc: av.video.codeccontext.VideoCodecContext, encoding: VideoEncoding, like: av.VideoFrame,
                      template: SourceVideo, pix_fmt: str) -> None:
    """Size, pixel format, time base, options and colour tags of an encoder for frames like ``like``;
    parameter sets go in the header (extradata), as MP4 and Matroska want them."""
    from av.codec.context import Flags

    cc.width, cc.height, cc.pix_fmt = like.width, like.height, pix_fmt
    cc.time_base, cc.framerate = template.time_base, template.rate
    cc.options = encoding.options()
    cc.color_range, cc.colorspace = like.color_range, like.colorspace
    cc.color_primaries, cc.color_trc = like.color_primaries, like.color_trc
    if template.sample_aspect_ratio:
        cc.sample_aspect_ratio = template.sample_aspect_ratio
    cc.flags |= Flags.global_header


def open_encoder(encoding: VideoEncoding, like: av.VideoFrame, template: SourceVideo,
                 pix_fmt: str) -> av.video.codeccontext.VideoCodecContext:
    """A standalone encoder (no container) for frames like ``like``: what each segment is encoded with."""
    import av

    cc = av.CodecContext.create(ENCODERS[encoding.codec], "w")
    configure_encoder(cc, encoding, like, template, pix_fmt)
    cc.open()
    return cc


def add_video_stream(container: av.container.OutputContainer, encoding: VideoEncoding, like: av.VideoFrame,
                     template: SourceVideo, pix_fmt: str, rotation: int = 0
                     ) -> av.video.stream.VideoStream:
    """An output stream whose encoder matches ``open_encoder``'s (so the segments' packets fit its header),
    with the input stream's time base, rotation and language."""
    stream = container.add_stream(ENCODERS[encoding.codec], rate=template.rate)
    configure_encoder(stream.codec_context, encoding, like, template, pix_fmt)
    stream.time_base = template.time_base
    if rotation:
        stream.set_display_rotation(rotation)
    stream.metadata.update(dict(template.metadata))
    return stream
