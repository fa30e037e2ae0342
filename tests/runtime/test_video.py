"""Video SR: the Y-plane path against the image path, streams kept, formats, pipes, resume, bad input."""

from __future__ import annotations

import errno
import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgeconv.errors import EdgeConvError, Interrupted, UsageError
from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.registry import create_backend
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.shipped_models import resolve_model
from edgeconv.runtime.video.frames import read_plane, write_plane
from edgeconv.runtime.video.job import load_upscaler
from edgeconv.runtime.video.planes import bicubic_upscale_plane
from edgeconv.runtime.video.transcode import VideoJob, upscale_video
from tests.runtime.video_clips import av, make_clip, stream_summary

ROOT = Path(__file__).resolve().parents[2]
CLIPS = ROOT.parent / "shared" / "data" / "video"
YUV601 = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255.0
OFFSET = np.array([16.0, 128.0, 128.0])


def shared_clip(name: str) -> Path:
    """A real clip of the shared data beside the checkout (``shared/data/video``); the test skips without it."""
    path = CLIPS / name
    if not path.is_file():
        pytest.skip(f"shared video clip {path} not found (shared data beside the checkout)")
    return path


@pytest.fixture(scope="module")
def upscaler():
    return load_upscaler("photo", BackendName.ONNXRUNTIME, BackendOptions(threads=1))[0]


def test_y_plane_path_equals_image_path_on_a_frame(upscaler, sr_data: Path) -> None:
    """The same picture as a 4:4:4 BT.601 frame (video path) and as its RGB (image path): the same pixels
    after the same colour conversion, within one 8-bit level except where the RGB path clips colours."""
    rgb = np.asarray(Image.open(sr_data / "Set5" / "butterfly.png").convert("RGB"))[:96, :128]
    yuv = np.clip(np.rint(rgb.astype(np.float64) @ YUV601.T + OFFSET), 0, 255).astype(np.uint8)
    frame = av.VideoFrame(128, 96, "yuv444p")
    frame.color_range = 1
    for i in range(3):
        write_plane(frame, i, np.ascontiguousarray(yuv[..., i]))
    video = upscaler(frame)
    rgb_in = np.clip(np.rint((yuv - OFFSET) @ np.linalg.inv(YUV601).T), 0, 255).astype(np.uint8)
    image_model = create_backend("onnxruntime", resolve_model("photo"))
    image = image_model.facts.to_image(image_model.run(image_model.facts.to_input(rgb_in)))
    reference = image.astype(np.float64) @ YUV601.T + OFFSET
    for plane in range(3):
        diff = np.abs(read_plane(video, plane) - reference[..., plane])
        assert (diff <= 1.0).mean() > 0.995, plane
    assert np.abs(read_plane(video, 0) - reference[..., 0]).max() < 2.0


def test_chroma_upscale_is_the_model_skip_bicubic() -> None:
    torch = pytest.importorskip("torch")
    plane = np.random.default_rng(0).uniform(16, 240, (9, 13)).astype(np.float32)
    for scale in (2, 3, 4):
        ref = torch.nn.functional.interpolate(torch.from_numpy(plane)[None, None], scale_factor=scale,
                                              mode="bicubic", align_corners=False)[0, 0].numpy()
        # PyTorch clamps indices (replicated edges) as the skip does: equal everywhere
        np.testing.assert_allclose(bicubic_upscale_plane(plane, scale), ref, atol=1e-3)
    flat = np.full((5, 7), 77.0, np.float32)
    assert np.array_equal(bicubic_upscale_plane(flat, 3), np.full((15, 21), 77.0, np.float32))


def test_real_clip_keeps_frames_timestamps_audio_and_tags(upscaler, tmp_path: Path) -> None:
    source = shared_clip("realshort.mp4")
    out = tmp_path / "realshort_x2.mp4"
    done = upscale_video(VideoJob(str(source), str(out)), upscaler)
    before, after = stream_summary(source), stream_summary(out)
    assert done.frames == after["frames"] == before["frames"] == 36
    assert after["pts"] == before["pts"]
    assert after["size"] == (640, 480) and after["pix_fmt"] == "yuv420p"
    assert after["others"] == before["others"] and after["others"]  # the AAC packets, bit for bit
    assert after["tags"] == before["tags"]
    assert not list(tmp_path.glob(".*"))  # no work folder or partial file left


@pytest.mark.parametrize("pix_fmt,size,extra", [
    ("yuv422p", (64, 48), {}), ("yuv444p", (65, 49), {}), ("yuv420p10le", (64, 48), {}),
    ("yuv420p", (64, 48), {"rotation": 90}), ("yuv420p", (64, 48), {"vfr": True}),
    ("yuv420p", (64, 48), {"audio_tracks": 2}),
])
def test_every_common_input(upscaler, tmp_path: Path, pix_fmt: str, size: tuple[int, int], extra: dict) -> None:
    source = make_clip(tmp_path / "in.mp4", *size, frames=9, pix_fmt=pix_fmt, **extra)
    out = tmp_path / "out.mp4"
    upscale_video(VideoJob(str(source), str(out)), upscaler)
    before, after = stream_summary(source), stream_summary(out)
    assert after["frames"] == before["frames"] == 9 and after["pts"] == before["pts"]
    assert after["size"] == (size[0] * 2, size[1] * 2) and after["pix_fmt"] == "yuv420p"
    assert after["rotation"] == before["rotation"] and after["others"] == before["others"]


def test_keep_pixel_format(upscaler, tmp_path: Path) -> None:
    from edgeconv.runtime.video.encoding import VideoEncoding

    source = make_clip(tmp_path / "in.mp4", frames=4, pix_fmt="yuv420p10le", audio=False)
    out = tmp_path / "out.mkv"
    upscale_video(VideoJob(str(source), str(out), VideoEncoding(pix_fmt="keep")), upscaler)
    assert stream_summary(out)["pix_fmt"] == "yuv420p10le"


def test_y4m_pipe_round_trip(upscaler, tmp_path: Path) -> None:
    source = make_clip(tmp_path / "in.mp4", 48, 32, frames=5, audio=False)
    y4m = io.BytesIO()
    with av.open(str(source)) as c, av.open(y4m, "w", format="yuv4mpegpipe") as pipe:
        stream = pipe.add_stream("wrapped_avframe", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for frame in c.decode(video=0):
            for packet in stream.encode(frame):
                pipe.mux(packet)
    stdout = io.BytesIO()
    done = upscale_video(VideoJob("-", "-"), upscaler, stdin=io.BytesIO(y4m.getvalue()), stdout=stdout)
    assert done.frames == 5 and stdout.getvalue().startswith(b"YUV4MPEG2 W96 H64")
    with av.open(io.BytesIO(stdout.getvalue()), format="yuv4mpegpipe") as c:
        frames = [f.to_ndarray() for f in c.decode(video=0)]
    direct = tmp_path / "direct.y4m"
    upscale_video(VideoJob(str(source), "-", pipe_format="y4m"), upscaler, stdout=open(direct, "wb"))
    assert len(frames) == 5 and direct.read_bytes() == stdout.getvalue()


def decoded_luma(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [read_plane(f, 0).astype(np.float64) for f in c.decode(video=0)]


def assert_same_video(got: Path, want: Path) -> None:
    """Same frames, timestamps, size and copied streams; pixels equal up to libx264's run-to-run variation.

    libx264's SIMD code reads uninitialised memory, so a fresh encoder in the same process can code the same
    frames a little differently (with ``asm=0`` it is reproducible): bytes are not the contract, frames are.
    """
    a, b = stream_summary(got), stream_summary(want)
    assert a == b
    for x, y in zip(decoded_luma(got), decoded_luma(want), strict=True):
        assert 10 * np.log10(255**2 / max(np.mean((x - y) ** 2), 1e-12)) > 40


def test_interrupted_run_resumes_to_the_same_video(upscaler, tmp_path: Path) -> None:
    source = make_clip(tmp_path / "in.mp4", frames=23)
    whole, resumed = tmp_path / "whole.mp4", tmp_path / "resumed.mp4"
    upscale_video(VideoJob(str(source), str(whole), frames_per_segment=5), upscaler)

    def stop_at_13(done: int, total: int | None) -> None:
        if done == 13:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="10 finished frames kept .* --resume"):
        upscale_video(VideoJob(str(source), str(resumed), frames_per_segment=5), upscaler, progress=stop_at_13)
    assert not resumed.exists()
    work = tmp_path / ".resumed.mp4.edgeconv-work"
    kept = {p.name: p.read_bytes() for p in work.glob("seg_*")}
    assert sorted(kept) == ["seg_00000.pkts", "seg_00001.pkts"]
    seen: list[int] = []
    done = upscale_video(VideoJob(str(source), str(resumed), resume=True, frames_per_segment=5), upscaler,
                         progress=lambda i, n: seen.append(i))
    assert done.resumed_at == 10 and seen[0] == 11  # two finished segments kept, frame 11 onward redone
    assert_same_video(resumed, whole)


def test_resumed_run_is_byte_identical_with_a_deterministic_encoder(upscaler, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With x264's C code only (``asm=0``: no SIMD reads of uninitialised memory) the encoder is deterministic,
    and then an interrupted-then-resumed run writes exactly the bytes of an uninterrupted one."""
    from edgeconv.runtime.video.encoding import VideoEncoding

    plain = VideoEncoding.options
    monkeypatch.setattr(VideoEncoding, "options", lambda self: {**plain(self), "x264-params": "asm=0"})
    source = make_clip(tmp_path / "in.mp4", frames=17)
    whole, again, resumed = tmp_path / "whole.mp4", tmp_path / "again.mp4", tmp_path / "resumed.mp4"
    upscale_video(VideoJob(str(source), str(whole), frames_per_segment=4), upscaler)
    upscale_video(VideoJob(str(source), str(again), frames_per_segment=4), upscaler)
    assert again.read_bytes() == whole.read_bytes()  # the encoder is deterministic here: the control

    def stop_at_10(done: int, total: int | None) -> None:
        if done == 10:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        upscale_video(VideoJob(str(source), str(resumed), frames_per_segment=4), upscaler, progress=stop_at_10)
    done = upscale_video(VideoJob(str(source), str(resumed), resume=True, frames_per_segment=4), upscaler)
    assert done.resumed_at == 8
    assert resumed.read_bytes() == whole.read_bytes()


def test_subtitles_and_several_audio_tracks_are_copied_into_matroska(upscaler, tmp_path: Path) -> None:
    """SRT subtitles (with their language) and two AAC tracks go into the output packet for packet; the
    video packets carry their frames' durations, so the output lasts as long as the input."""
    clip = make_clip(tmp_path / "in.mp4", frames=10, audio_tracks=2)
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,200\nHello\n\n2\n00:00:00,200 --> 00:00:00,390\nWorld\n")
    source = tmp_path / "sub.mkv"
    with av.open(str(clip)) as v, av.open(str(srt)) as s, av.open(str(source), "w") as out:
        targets = {st.index: out.add_stream_from_template(st) for st in v.streams}
        subs = out.add_stream_from_template(s.streams[0])
        subs.metadata["language"] = "fra"
        for packet in v.demux():
            if packet.dts is not None:
                packet.stream = targets[packet.stream.index]
                out.mux(packet)
        for packet in s.demux():
            if packet.dts is not None:
                packet.stream = subs
                out.mux(packet)
    out = tmp_path / "sub_x2.mkv"
    upscale_video(VideoJob(str(source), str(out)), upscaler)
    a, b = stream_summary(out), stream_summary(source)
    assert a["frames"] == b["frames"] == 10 and a["pts"] == b["pts"]
    assert a["others"] == b["others"] and len(a["others"]) == 3  # both AAC tracks and the subtitles, bit-identical
    with av.open(str(out)) as o:
        assert [s.type for s in o.streams] == ["video", "audio", "audio", "subtitle"]
        assert o.streams.subtitles[0].metadata["language"] == "fra"
        assert [bytes(p) for p in o.demux(o.streams.subtitles[0]) if p.dts is not None] == [b"Hello", b"World"]
    with av.open(str(out)) as o, av.open(str(source)) as i:
        assert _stream_ends(o) == _stream_ends(i)  # every stream, the video's last frame too, ends as in the input


def _stream_ends(container: av.container.InputContainer) -> dict[int, Fraction]:
    """Each stream's end: the latest pts + duration of its packets (seconds)."""
    ends: dict[int, Fraction] = {}
    for packet in container.demux():
        if packet.dts is not None:
            end = (packet.pts + packet.duration) * packet.time_base
            ends[packet.stream.index] = max(ends.get(packet.stream.index, Fraction(0)), end)
    return ends


def test_resume_refuses_another_runs_folder(upscaler, tmp_path: Path) -> None:
    from edgeconv.runtime.video.encoding import VideoEncoding

    source = make_clip(tmp_path / "in.mp4", frames=8, audio=False)
    out = tmp_path / "out.mp4"
    with pytest.raises(Interrupted):
        upscale_video(VideoJob(str(source), str(out), frames_per_segment=2), upscaler,
                      progress=lambda i, n: (_ for _ in ()).throw(KeyboardInterrupt) if i == 5 else None)
    with pytest.raises(UsageError, match="belongs to another run"):
        upscale_video(VideoJob(str(source), str(out), VideoEncoding(crf=30), resume=True, frames_per_segment=2),
                      upscaler)


def _truncated(tmp_path: Path) -> Path:
    """bikes.mp4 with its index first (faststart), cut at 60 %: it opens, then the frames run out."""
    whole, bikes = tmp_path / "whole.mp4", shared_clip("bikes.mp4")
    with av.open(str(bikes)) as src, av.open(str(whole), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    path = tmp_path / "truncated.mp4"
    data = whole.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    whole.unlink()
    return path


def _audio_only(tmp_path: Path) -> Path:
    path = tmp_path / "audio.m4a"
    with av.open(str(shared_clip("realshort.mp4"))) as src, av.open(str(path), "w") as out:
        stream = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return path


def _zero_frames(tmp_path: Path) -> Path:
    """A Y4M stream header (a 64x48 video track) and no frame."""
    path = tmp_path / "empty.y4m"
    path.write_bytes(b"YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\n")
    return path


def _undecodable(tmp_path: Path) -> Path:
    """A Matroska file whose video track names a codec no FFmpeg decodes (its CodecID overwritten in place)."""
    mkv = tmp_path / "h264.mkv"
    with av.open(str(make_clip(tmp_path / "src.mp4", frames=3, audio=False))) as src, av.open(str(mkv), "w") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    data = mkv.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    path = tmp_path / "unknown.mkv"
    path.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_EDGECONV/TEST"))  # same length: the EBML sizes hold
    return path


@pytest.mark.parametrize("make,match", [
    (lambda p: p / "missing.mp4", "is not a readable video"),
    (lambda p: (p / "text.mp4").write_text("not a video") and p / "text.mp4", "is not a readable video"),
    (_audio_only, "has no video stream"),
    (_zero_frames, "has no video frames"),
    (_undecodable, "video stream #0 is in a codec this FFmpeg build cannot decode"),
    (_truncated, r"ends after frame \d+ \(t = [\d.]+ s\) of 250|decode failed after frame"),
])
def test_bad_inputs_get_one_line_and_leave_nothing(upscaler, tmp_path: Path, make, match: str) -> None:
    source = make(tmp_path)
    out = tmp_path / "out.mp4"
    with pytest.raises(EdgeConvError, match=match) as caught:
        upscale_video(VideoJob(str(source), str(out)), upscaler)
    assert str(source.name) in str(caught.value) and "\n" not in str(caught.value)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_full_disk_names_the_output_and_leaves_nothing(upscaler, tmp_path: Path, monkeypatch) -> None:
    import edgeconv.runtime.video.segments as segments

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segments, "write_packet", full)
    source = make_clip(tmp_path / "in.mp4", frames=4, audio=False)
    out = tmp_path / "out.mp4"
    with pytest.raises(EdgeConvError, match="No space left on device"):
        upscale_video(VideoJob(str(source), str(out)), upscaler)
    assert not out.exists()
