"""Video SR on a real clip at x2: quality against the clip's own frames (Part A) and end-to-end speed (Part B).

Part A - quality (default). Ground truth is the decoded clip (``--clip``, default
``shared/data/video/bigbuckbunny.mp4``, 1280x720 yuv420p): its Y plane as decoded (8-bit limited range) is
the HR luma; its RGB makes the LR frames. LR videos, one per protocol, all 640x360 yuv420p:

- ``bicubic`` / ``cubic-aliased``: each HR RGB frame through ``degrade(rgb, 2, protocol)``, then back to
  yuv420p by PyAV (``from_ndarray(rgb, 'rgb24').reformat(format='yuv420p')``), kept in memory;
- ``h264 crf23`` / ``h264 crf28``: the ``bicubic`` LR frames encoded with libx264 (yuv420p, preset medium,
  that CRF) into an in-memory MP4 and decoded back: what a streamed or archived small video looks like.

HR RGB is the decoded frame converted by swscale with ``ACCURATE_RND | FULL_CHR_H_INT``: swscale's default
yuv420p -> rgb24 (``frame.to_ndarray(format='rgb24')``) is about one 8-bit level dark in luma on coloured
pixels (-1.05 on this clip's first frame; a round trip back to yuv420p returns Y - 1), which would shift
every contestant's output by that level. The accurate conversion round-trips Y exactly (mean |dY| 0.0006).
The OpenCV peers get their BGR input the same way.

Contestants on each LR video (yuv420p frame in -> 1280x720 yuv420p frame out; the Y plane is scored):
edgeconv ``photo`` and ``bicubic`` through their Y-plane forms (``load_upscaler``; the faster of OpenVINO and
ONNX Runtime, measured here first, 2 threads); a plain bicubic resize of all planes (``bicubic_upscale_plane``,
the models' own skip, clipped to the nominal range as the models' path is); FFmpeg's lanczos scaler
(``reformat(..., interpolation='LANCZOS')``); the OpenCV ``dnn_superres`` peers FSRCNN, FSRCNN-small and ESPCN
(x2 graphs of ``shared/peers/opencv_dnn_superres``, on the frame's BGR, 2 OpenCV threads, output back to
yuv420p as the LR frames were made) on the first ``--peer-frames`` frames only (table column ``frames``).

Scores, per contestant and protocol, on the Y plane (8-bit, border 2 cropped): PSNR-Y (``psnr_y``) and SSIM-Y
(``ssim_y``'s formula, with OpenCV's separable filter, checked against ``ssim_y`` on one frame of every run)
as means of per-frame values; temporal flicker, the mean over t of mean |(SR_t - SR_t-1) - (GT_t - GT_t-1)|;
``@K``: PSNR-Y and flicker over the first K frames (the peers' frames) for every contestant; fps of the SR step alone
(median ms of one frame upscale). The summary line gives photo's PSNR-Y gain over the bicubic resize and
whether its flicker is no higher.

Part B - end-to-end speed (``--speed``): LR clips written as real H.264 files (CRF 18, preset medium) in a
temporary folder: 640x360 and 960x540 (PyAV bicubic downscale of the 720p clip), the clip looped ``--loops``
times; ``upscale_video(VideoJob(lr, out), upscaler)`` with the ``photo`` model on OpenVINO and on ONNX
Runtime, 2 threads, default encoding (libx264 CRF 23 veryfast): fps end to end and ms per frame of decode,
SR, encode (the consumer thread's busy time: encoding and muxing) and the encoder's wait for SR
(``StageTimes.per_frame_ms``); and the SR step on the first 30 decoded LR frames
through the Y-plane form (``LumaPlaneUpscaler``) vs the shipped RGB model (``RgbModelUpscaler``), median ms.
``--memory``: peak RSS (``ru_maxrss``) of a 960x540 -> 1920x1080 run of 100 and of 1000 frames (OpenVINO), one
process each, started from a small launcher: a child's ``ru_maxrss`` begins at the peak of the process it was
spawned from, so spawned from this one it would report this benchmark's own peak (``VmHWM`` is kept as a
cross-check). ``--memory`` alone updates the memory rows of an existing ``video_speed.json``.

Run::

    python benchmarks/video_sr.py                               # Part A, every frame: ~9 min on 2 cores
    python benchmarks/video_sr.py --frames 20 --peer-frames 5   # a quick check of Part A: ~1 min
    python benchmarks/video_sr.py --speed --memory              # Part B only (--quality: A too): ~10 min

(Times on 2 shared cores with a training job on one; ``--memory`` alone: ~4 min.) Writes
``benchmarks/results/video_sr.json`` (Part A) and ``video_speed.json`` (Part B), each with the machine record
and the command line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation

from edgeconv.runtime.backends.base import BackendOptions
from edgeconv.runtime.backends.registry import create_backend
from edgeconv.runtime.choices import BackendName
from edgeconv.runtime.imaging.degradations import degrade
from edgeconv.runtime.profiling.device_facts import backend_versions, machine_record
from edgeconv.runtime.shipped_models import resolve_model
from edgeconv.runtime.validation.sr_metrics import psnr_y, ssim_y
from edgeconv.runtime.video.frames import LumaPlaneUpscaler, RgbModelUpscaler, read_plane, write_plane
from edgeconv.runtime.video.job import load_upscaler
from edgeconv.runtime.video.planes import bicubic_upscale_plane
from edgeconv.runtime.video.transcode import VideoJob, upscale_video

RESULTS = Path(__file__).parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_CLIP = SHARED / "data" / "video" / "bigbuckbunny.mp4"
PEERS = SHARED / "peers" / "opencv_dnn_superres"
OPENCV_PEERS = (("FSRCNN", "fsrcnn"), ("FSRCNN-small", "fsrcnn"), ("ESPCN", "espcn"))
SCALE, BORDER, THREADS = 2, 2, 2
EXACT_RGB = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
H264_CRFS = (23, 28)
PROTOCOLS = ("bicubic", "cubic-aliased", *(f"h264 crf{crf}" for crf in H264_CRFS))
BACKENDS = (BackendName.OPENVINO, BackendName.ONNXRUNTIME)
SSIM_CHECK_TOLERANCE = 1e-9

FrameStep = Callable[[av.VideoFrame], av.VideoFrame]


# ---------------------------------------------------------------- frames and LR videos


def decoded(source: Path | io.BytesIO, limit: int | None = None) -> Iterator[av.VideoFrame]:
    """The first ``limit`` (None: all) frames of a video's first video stream (a file or bytes), in order.

    Slice threads only (PyAV's default): a frame-threaded decoder closed before its end hangs the process once
    ``av.logging.set_level`` has been called, as ``edgeconv.runtime.video.source.import_av`` does (PyAV 18)."""
    with av.open(source if isinstance(source, io.BytesIO) else str(source)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if limit is not None and index >= limit:
                return
            yield frame


def frame_rate(path: Path | str) -> Fraction:
    """The first video stream's average frame rate (25 when the container does not say)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return Fraction(stream.average_rate or stream.guessed_rate or 25)


def to_rgb(frame: av.VideoFrame, fmt: str = "rgb24") -> np.ndarray:
    """uint8 (H, W, 3) RGB (or ``bgr24``) of a frame, converted with exact rounding (see the module docstring)."""
    return frame.reformat(format=fmt, interpolation=EXACT_RGB).to_ndarray()


def to_yuv420p(image: np.ndarray, fmt: str = "rgb24") -> av.VideoFrame:
    """A uint8 (H, W, 3) RGB/BGR image as a yuv420p frame, PyAV's default conversion (how every LR frame is made)."""
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt).reformat(format="yuv420p")


def lr_degraded(hr_rgb: np.ndarray, protocol: str) -> av.VideoFrame:
    """The LR yuv420p frame of one HR RGB frame under an image protocol (``bicubic``, ``cubic-aliased``)."""
    return to_yuv420p(degrade(hr_rgb, SCALE, protocol))


def h264_round_trip(frames: list[av.VideoFrame], crf: int, rate: Fraction) -> tuple[list[av.VideoFrame], int]:
    """``frames`` through libx264 (yuv420p, preset medium, ``crf``) in an in-memory MP4 and decoded back;
    also the MP4's size in bytes."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for index, frame in enumerate(frames):
            frame.pts, frame.time_base = index, 1 / rate
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = buffer.getvalue()
    back = list(decoded(io.BytesIO(data)))
    if len(back) != len(frames):
        raise RuntimeError(f"h264 crf{crf}: {len(frames)} frames encoded, {len(back)} decoded")
    return back, len(data)


@dataclass
class Videos:
    """The ground truth (Y planes, uint8) and the LR frames of every protocol."""

    gt_y: list[np.ndarray]
    lr: dict[str, list[av.VideoFrame]]
    rate: Fraction
    notes: dict[str, object] = field(default_factory=dict)


def make_videos(clip: Path, limit: int | None) -> Videos:
    """Decode the clip once: GT Y planes, the ``bicubic`` and ``cubic-aliased`` LR frames; then the H.264 ones."""
    gt_y, lr = [], {p: [] for p in ("bicubic", "cubic-aliased")}
    for frame in decoded(clip, limit):
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        h, w = frame.height - frame.height % (2 * SCALE), frame.width - frame.width % (2 * SCALE)
        gt_y.append(read_plane(frame, 0)[:h, :w])
        rgb = to_rgb(frame)[:h, :w]
        for protocol, frames in lr.items():
            frames.append(lr_degraded(rgb, protocol))
    videos = Videos(gt_y, lr, frame_rate(clip))
    for crf in H264_CRFS:
        frames, size = h264_round_trip(lr["bicubic"], crf, videos.rate)
        lr[f"h264 crf{crf}"] = frames
        kbps = 8 * size / (len(frames) / videos.rate) / 1000
        videos.notes[f"h264 crf{crf}"] = {"bytes": size, "kbps": round(float(kbps), 1)}
    return videos


# ---------------------------------------------------------------- contestants


@dataclass
class Contestant:
    """One way to upscale a yuv420p frame by 2; ``peer``: runs on the first ``--peer-frames`` frames only."""

    name: str
    how: str
    step: FrameStep
    peer: bool = False


def planes_frame(planes: list[np.ndarray], like: av.VideoFrame) -> av.VideoFrame:
    """A yuv420p frame of the size of ``planes[0]`` holding the three uint8 planes."""
    out = av.VideoFrame(planes[0].shape[1], planes[0].shape[0], "yuv420p")
    out.color_range, out.colorspace = like.color_range, like.colorspace
    for index, plane in enumerate(planes):
        write_plane(out, index, plane)
    return out


def bicubic_resize(frame: av.VideoFrame) -> av.VideoFrame:
    """Every plane through the models' bicubic skip; luma clipped to 16-235 and chroma to 16-240 as the models'
    path clips them (``SampleRange``), so this is the model with a zero residual."""
    planes = []
    for index, (lo, hi) in enumerate(((16, 235), (16, 240), (16, 240))):
        up = bicubic_upscale_plane(read_plane(frame, index), SCALE)
        planes.append(np.clip(np.rint(up), lo, hi).astype(np.uint8))
    return planes_frame(planes, frame)


def lanczos_resize(frame: av.VideoFrame) -> av.VideoFrame:
    """FFmpeg's swscale lanczos, yuv420p to yuv420p."""
    return frame.reformat(width=SCALE * frame.width, height=SCALE * frame.height, interpolation="LANCZOS")


def opencv_peer(graph: Path, algorithm: str) -> FrameStep:
    """An OpenCV ``dnn_superres`` graph as a frame step: BGR in (exact conversion), yuv420p out (PyAV's default)."""
    if not graph.is_file():
        raise SystemExit(f"video_sr.py | {graph}: not found (the OpenCV dnn_superres x2 graphs)")
    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    sr.readModel(str(graph))
    sr.setModel(algorithm, SCALE)
    return lambda frame: to_yuv420p(sr.upsample(to_rgb(frame, "bgr24")), "bgr24")


def model_step(model: str, backend: BackendName) -> FrameStep:
    """A shipped model's Y-plane form in ``backend``, 2 threads (what ``edgeconv upscale clip.mp4`` runs)."""
    upscaler, _ = load_upscaler(model, backend, BackendOptions(threads=THREADS))
    if not isinstance(upscaler, LumaPlaneUpscaler):
        raise SystemExit(f"video_sr.py | {model}: loaded without its Y-plane form")
    return upscaler


def median_ms(step: Callable[[], object], runs: int, warmup: int = 3) -> float:
    """Median ms of ``runs`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        samples.append(1e3 * (time.perf_counter() - start))
    return statistics.median(samples)


def pick_backend(frame: av.VideoFrame, runs: int = 15) -> tuple[BackendName, dict[str, float]]:
    """The faster back end for ``photo``'s Y-plane form on one LR frame (median ms of a frame upscale)."""
    times = {}
    for backend in BACKENDS:
        step = model_step("photo", backend)
        times[str(backend)] = median_ms(lambda s=step: s(frame), runs)
    fastest = min(times, key=times.get)
    return BackendName(fastest), times


def model_label(model: str) -> str:
    """``edgeconv photo`` for a shipped name, ``edgeconv FILE-STEM`` for an .onnx path."""
    return f"edgeconv {Path(model).name.removesuffix('.onnx').removesuffix('.y') if model.endswith('.onnx') else model}"


def contestants(backend: BackendName, models: list[str], with_peers: bool = True) -> list[Contestant]:
    """Every contestant of Part A, edgeconv models first (``photo`` always: the summary compares it)."""
    ours = [Contestant(model_label(m), f"{m} Y-plane model, {backend}, {THREADS} threads", model_step(m, backend))
            for m in dict.fromkeys(["photo", *models])]
    plain = [Contestant("bicubic resize", "bicubic_upscale_plane on Y, U, V (the models' skip)", bicubic_resize),
             Contestant("FFmpeg lanczos", "swscale LANCZOS, yuv420p -> yuv420p", lanczos_resize)]
    peers = [Contestant(label, f"OpenCV dnn_superres {label}_x2.pb on BGR, {THREADS} threads",
                        opencv_peer(PEERS / f"{label}_x{SCALE}.pb", algo), peer=True)
             for label, algo in (OPENCV_PEERS if with_peers else ())]
    return ours + plain + peers


# ---------------------------------------------------------------- scores


def _gauss_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    radius = window.size // 2
    return cv2.sepFilter2D(image, cv2.CV_64F, window, window)[radius:-radius, radius:-radius]


def ssim_fast(a: np.ndarray, b: np.ndarray) -> float:
    """``ssim_y``'s SSIM (11x11 Gaussian, sigma 1.5, valid region, 8-bit constants) of two float64 Y planes on
    the 0..255 scale (border already cropped), the Gaussian by OpenCV's separable filter (~8x faster)."""
    x = np.arange(11) - 5
    window = np.exp(-(x**2) / (2 * 1.5**2))
    window /= window.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _gauss_valid(a, window), _gauss_valid(b, window)
    var_a = _gauss_valid(a * a, window) - mu_a**2
    var_b = _gauss_valid(b * b, window) - mu_b**2
    cov = _gauss_valid(a * b, window) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def _crop(y: np.ndarray) -> np.ndarray:
    return y[BORDER:-BORDER, BORDER:-BORDER].astype(np.float64)


@dataclass
class Tally:
    """Per-frame numbers of one contestant on one LR video."""

    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    flicker: list[float] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    ssim_check: float = 0.0  # |ssim_fast - ssim_y| on the first frame

    def add(self, sr: np.ndarray, gt: np.ndarray, prev: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Score one output Y plane against its GT Y plane (``prev``: the previous pair, cropped, for flicker)."""
        self.psnr.append(psnr_y(sr / 255.0, gt / 255.0, crop_border=BORDER))
        a, b = _crop(sr), _crop(gt)
        self.ssim.append(ssim_fast(a, b))
        if not self.ssim_check and len(self.ssim) == 1:
            self.ssim_check = abs(self.ssim[0] - ssim_y(sr / 255.0, gt / 255.0, crop_border=BORDER))
            if self.ssim_check > SSIM_CHECK_TOLERANCE:
                raise RuntimeError(f"ssim_fast differs from ssim_y by {self.ssim_check:.2e}")
        if prev is not None:
            self.flicker.append(float(np.mean(np.abs((a - prev[0]) - (b - prev[1])))))


def run_contestant(c: Contestant, lr: list[av.VideoFrame], gt_y: list[np.ndarray], limit: int) -> Tally:
    """Upscale the first ``limit`` LR frames with ``c`` (each call timed) and score every output."""
    tally, prev = Tally(), None
    for frame, gt in zip(lr[:limit], gt_y[:limit], strict=True):
        start = time.perf_counter()
        out = c.step(frame)
        tally.ms.append(1e3 * (time.perf_counter() - start))
        sr = read_plane(out, 0)
        if sr.shape != gt.shape:
            sr = sr[: gt.shape[0], : gt.shape[1]]
        tally.add(sr, gt, prev)
        prev = (_crop(sr), _crop(gt))
    return tally


def summarize(c: Contestant, tally: Tally, k: int) -> dict[str, object]:
    """The row of one contestant: means, fps from the median ms, PSNR-Y over the first ``k`` frames."""
    ms = statistics.median(tally.ms)
    return {"how": c.how, "frames": len(tally.psnr), "psnr_y": float(np.mean(tally.psnr)),
            "ssim_y": float(np.mean(tally.ssim)), "flicker": float(np.mean(tally.flicker)) if tally.flicker else None,
            "psnr_y_first_k": float(np.mean(tally.psnr[:k])),
            "flicker_first_k": float(np.mean(tally.flicker[: k - 1])) if k > 1 else None,
            "ms_median": ms, "fps": 1e3 / ms,
            "ssim_check_abs_diff": tally.ssim_check, "psnr_y_per_frame": tally.psnr}


def score_protocol(field_: list[Contestant], lr: list[av.VideoFrame], gt_y: list[np.ndarray],
                   peer_frames: int) -> dict[str, dict[str, object]]:
    """Every contestant on one LR video (peers on the first ``peer_frames`` frames)."""
    rows, k = {}, min(peer_frames, len(lr))
    for c in field_:
        tally = run_contestant(c, lr, gt_y, k if c.peer else len(lr))
        rows[c.name] = summarize(c, tally, k)
        print(f"  {c.name}: {rows[c.name]['psnr_y']:.2f} dB, {rows[c.name]['ms_median']:.1f} ms", file=sys.stderr,
              flush=True)
    return rows


# ---------------------------------------------------------------- Part A output


def quality_table(protocol: str, rows: dict[str, dict[str, object]], k: int) -> str:
    """Markdown table of one protocol."""
    head = ["contestant", "frames", "PSNR-Y", "SSIM-Y", "flicker", "fps (SR step)", f"PSNR-Y @{k}", f"flicker @{k}"]
    lines = [f"LR: {protocol}", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, r in rows.items():
        flicker, flicker_k = (f"{x:.3f}" if x is not None else "-" for x in (r["flicker"], r["flicker_first_k"]))
        cells = [name, str(r["frames"]), f"{r['psnr_y']:.2f}", f"{r['ssim_y']:.4f}", flicker, f"{r['fps']:.1f}",
                 f"{r['psnr_y_first_k']:.2f}", flicker_k]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results: dict[str, dict[str, dict[str, object]]]) -> tuple[str, dict[str, object]]:
    """photo's PSNR-Y gain over the bicubic resize and flicker comparison, per protocol."""
    parts, data = [], {}
    for protocol, rows in results.items():
        photo, base = rows["edgeconv photo"], rows["bicubic resize"]
        gain = photo["psnr_y"] - base["psnr_y"]
        calmer = photo["flicker"] is None or photo["flicker"] <= base["flicker"]
        data[protocol] = {"psnr_gain_db": gain, "flicker_le_bicubic": calmer}
        parts.append(f"{protocol} {gain:+.2f} dB, flicker {'<=' if calmer else '>'} bicubic")
    return "photo vs bicubic resize: " + "; ".join(parts), data


def part_a(args: argparse.Namespace) -> dict[str, object]:
    """Quality on the clip under every protocol; prints the tables and returns the JSON document."""
    start = time.perf_counter()
    videos = make_videos(args.clip, args.frames)
    print(f"{len(videos.gt_y)} GT frames, LR videos made in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    backend, backend_ms = pick_backend(videos.lr["bicubic"][0])
    print(f"back end: {backend} (photo, ms per 640x360 frame: {backend_ms})", file=sys.stderr)
    cv2.setNumThreads(THREADS)
    field_ = contestants(backend, args.models, not args.no_peers)
    results = {}
    for protocol in PROTOCOLS:
        print(f"{protocol}:", file=sys.stderr, flush=True)
        results[protocol] = score_protocol(field_, videos.lr[protocol], videos.gt_y, args.peer_frames)
    k = min(args.peer_frames, len(videos.gt_y))
    for protocol, rows in results.items():
        print(quality_table(protocol, rows, k) + "\n")
    line, gains = summary(results)
    print(line)
    return {"clip": str(args.clip), "frames": len(videos.gt_y), "peer_frames": k, "scale": SCALE,
            "border": BORDER, "threads": THREADS, "backend": str(backend), "backend_choice_ms": backend_ms,
            "lr_notes": videos.notes, "protocols": results, "summary": gains, "summary_line": line,
            "wall_s": time.perf_counter() - start}


# ---------------------------------------------------------------- Part B


def write_lr_clip(clip: Path, out: Path, size: tuple[int, int], frames: int) -> int:
    """The clip bicubic-downscaled by PyAV to ``size`` (W, H), looped to ``frames`` frames, as H.264 CRF 18."""
    rate = frame_rate(clip)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "18", "preset": "medium"}
        index = 0
        while index < frames:
            for frame in decoded(clip, frames - index):
                small = frame.reformat(width=size[0], height=size[1], format="yuv420p", interpolation="BICUBIC")
                small.pts, small.time_base = index, 1 / rate
                container.mux(stream.encode(small))
                index += 1
        container.mux(stream.encode(None))
    return index


def pipeline_run(lr: Path, out: Path, backend: BackendName) -> dict[str, object]:
    """``upscale_video`` with ``photo`` in ``backend`` (default encoding): fps and the per-frame breakdown."""
    upscaler, model = load_upscaler("photo", backend, BackendOptions(threads=THREADS))
    start = time.perf_counter()
    result = upscale_video(VideoJob(str(lr), str(out)), upscaler, str(model))
    wall = time.perf_counter() - start
    times = result.times
    stages = times.per_frame_ms()  # encode: the consumer's time between frames (encoding, muxing)
    stages["encode_derived"] = stages["encode"]
    return {"backend": str(backend), "model": model.name, "frames": result.frames, "fps": times.fps,
            "fps_incl_flush_remux": result.frames / wall, "wall_s": wall, "pipeline_wall_s": times.wall,
            "per_frame_ms": stages, "output_bytes": out.stat().st_size}


def sr_paths(lr: Path, backend: BackendName, frames: int) -> dict[str, float]:
    """Median ms of the SR step on the same decoded frames: Y-plane form vs the shipped RGB model."""
    options = BackendOptions(threads=THREADS)
    luma, _ = load_upscaler("photo", backend, options)
    rgb = RgbModelUpscaler(create_backend(str(backend), resolve_model("photo", str(backend)), options))
    sample = list(decoded(lr, frames))
    result = {}
    for name, step in (("y_plane_ms", luma), ("rgb_ms", rgb)):
        step(sample[0])  # warm-up (first-shape compile)
        times = []
        for frame in sample:
            start = time.perf_counter()
            step(frame)
            times.append(1e3 * (time.perf_counter() - start))
        result[name] = statistics.median(times)
    return result


def speed_case(clip: Path, work: Path, size: tuple[int, int], frames: int) -> dict[str, object]:
    """One LR size: write the LR clip, run the pipeline on both back ends, time the two SR paths."""
    lr = work / f"lr_{size[0]}x{size[1]}.mp4"
    written = write_lr_clip(clip, lr, size, frames)
    case: dict[str, object] = {"lr": f"{size[0]}x{size[1]}", "out": f"{SCALE * size[0]}x{SCALE * size[1]}",
                               "frames": written, "runs": []}
    for backend in BACKENDS:
        run = pipeline_run(lr, work / f"out_{size[0]}_{backend}.mp4", backend)
        run["sr_paths"] = sr_paths(lr, backend, min(30, written))
        stages, rgb_ms = run["per_frame_ms"], run["sr_paths"]["rgb_ms"]
        run["sr_share"] = stages["sr"] / (stages["decode"] + stages["sr"] + stages["encode_derived"])
        run["sr_share_rgb_path"] = rgb_ms / (stages["decode"] + rgb_ms + stages["encode_derived"])
        case["runs"].append(run)
        print(f"  {case['out']} {backend}: {run['fps']:.1f} fps", file=sys.stderr, flush=True)
    return case


def vm_hwm_mib() -> float | None:
    """This process's own peak resident set (``VmHWM`` of /proc/self/status, MiB); None off Linux."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split()[1]) / 1024.0 for line in lines if line.startswith("VmHWM:")), None)


def memory_child(args: argparse.Namespace) -> None:
    """One memory run in this process: upscale ``--memory-child LR`` and print its peak RSS (MiB) as JSON."""
    lr = Path(args.memory_child)
    upscaler, model = load_upscaler("photo", BackendName(args.backend), BackendOptions(threads=THREADS))
    result = upscale_video(VideoJob(str(lr), str(lr.with_name(f"{lr.stem}_x2.mp4"))), upscaler, str(model))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"frames": result.frames, "peak_rss_mib": peak, "vm_hwm_mib": vm_hwm_mib(),
                      "fps": result.times.fps}))


# A child's ru_maxrss starts at its parent's peak (Linux keeps the high-water mark of the address space the
# child was spawned from across exec): each run starts from this small launcher, not from this process.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def memory_runs(clip: Path, work: Path, backend: BackendName, counts: tuple[int, ...]) -> list[dict[str, object]]:
    """Peak RSS of a 960x540 -> 1920x1080 run of each frame count, one subprocess each."""
    rows = []
    for count in counts:
        lr = work / f"mem_{count}.mp4"
        write_lr_clip(clip, lr, (960, 540), count)
        command = [sys.executable, __file__, "--memory-child", str(lr), "--backend", str(backend)]
        done = subprocess.run([sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True, check=True)
        rows.append({"backend": str(backend), **json.loads(done.stdout.strip().splitlines()[-1])})
        print(f"  memory {count} frames: {rows[-1]['peak_rss_mib']:.0f} MiB", file=sys.stderr, flush=True)
    return rows


def speed_table(cases: list[dict[str, object]]) -> str:
    """Markdown: one row per (output size, back end)."""
    head = ["output", "back end", "frames", "fps end to end", "decode ms", "SR ms", "encode ms*", "waiting ms",
            "SR share", "SR ms Y-plane / RGB path", "SR share with RGB path"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for case in cases:
        for run in case["runs"]:
            s, p = run["per_frame_ms"], run["sr_paths"]
            cells = [case["out"], run["backend"], str(run["frames"]), f"{run['fps']:.1f}", f"{s['decode']:.1f}",
                     f"{s['sr']:.1f}", f"{s['encode_derived']:.1f}", f"{s['waiting']:.1f}", f"{run['sr_share']:.0%}",
                     f"{p['y_plane_ms']:.1f} / {p['rgb_ms']:.1f}", f"{run['sr_share_rgb_path']:.0%}"]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("* encode = the consumer thread's busy time per frame (encode + mux, StageTimes.encode); "
                 "SR share = SR / (decode + SR + encode), stages overlap; "
                 "Y-plane / RGB path: median ms of the SR step alone on the first 30 decoded LR frames")
    return "\n".join(lines)


def speed_section(args: argparse.Namespace, work: Path) -> dict[str, object]:
    """``--speed``: both LR sizes, both back ends; prints the table."""
    start = time.perf_counter()
    frames = sum(1 for _ in decoded(args.clip)) * args.loops
    cases = [speed_case(args.clip, work, size, frames) for size in ((640, 360), (960, 540))]
    print(speed_table(cases))
    return {"clip": str(args.clip), "loops": args.loops, "threads": THREADS,
            "encoding": "libx264 CRF 23 veryfast yuv420p (VideoEncoding defaults)",
            "lr_clips": "PyAV bicubic downscale, libx264 CRF 18 preset medium", "cases": cases,
            "speed_command": command_line(), "speed_load_average_1_5_15": list(os.getloadavg()),
            "speed_wall_s": time.perf_counter() - start}


def memory_section(args: argparse.Namespace, work: Path) -> dict[str, object]:
    """``--memory``: peak RSS of 100- and 1000-frame 1080p-output runs (OpenVINO); prints one line each."""
    start = time.perf_counter()
    memory = memory_runs(args.clip, work, BackendName.OPENVINO, (100, 1000))
    for row in memory:
        print(f"peak RSS, 960x540 -> 1920x1080, {row['frames']} frames ({row['backend']}): ru_maxrss "
              f"{row['peak_rss_mib']:.0f} MiB, VmHWM {row['vm_hwm_mib']:.0f} MiB ({row['fps']:.1f} fps)")
    return {"memory": memory, "memory_command": command_line(), "memory_wall_s": time.perf_counter() - start,
            "memory_note": "one process per run, started from a small launcher (ru_maxrss would otherwise start "
                           "at this benchmark's own peak); VmHWM: the run's own address space, a cross-check"}


def part_b(args: argparse.Namespace) -> dict[str, object]:
    """End-to-end speed (``--speed``) and peak RSS (``--memory``) on LR H.264 clips made from the clip."""
    body: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="video_sr_") as folder:
        if args.speed:
            body.update(speed_section(args, Path(folder)))
        if args.memory:
            body.update(memory_section(args, Path(folder)))
    return body


# ---------------------------------------------------------------- main


def command_line() -> str:
    """How this run was started."""
    return " ".join([Path(sys.executable).name, *sys.argv])


def write_json(path: Path, body: dict[str, object], merge: bool = False) -> None:
    """The document with the machine record, the command and the load average; ``merge``: keep what an existing
    file holds that this run did not measure (``--memory`` alone keeps the speed cases)."""
    document = json.loads(path.read_text()) if merge and path.is_file() else {}
    document |= {"what": __doc__.splitlines()[0], "command": command_line(), "machine": machine_record(),
                 "versions": {**backend_versions(), "av": av.__version__, "opencv": cv2.__version__},
                 "load_average_1_5_15": list(os.getloadavg()), **body}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {path}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="the HR video (ground truth)")
    parser.add_argument("--frames", type=int, default=None, help="Part A: the first N frames (default: all)")
    parser.add_argument("--peer-frames", type=int, default=40, help="Part A: frames the OpenCV peers run on")
    parser.add_argument("--speed", action="store_true", help="run Part B (end-to-end speed)")
    parser.add_argument("--quality", action="store_true", help="run Part A too when --speed/--memory is given")
    parser.add_argument("--loops", type=int, default=2, help="Part B: the clip looped N times")
    parser.add_argument("--memory", action="store_true",
                        help="Part B: peak RSS of 100- and 1000-frame runs (alone: kept beside earlier speed cases)")
    parser.add_argument("--models", nargs="+", default=["photo", "bicubic"], metavar="NAME|ONNX",
                        help="Part A: edgeconv models (shipped names or .onnx files; a NAME.y.onnx beside one is "
                             "its Y-plane form); photo is always scored")
    parser.add_argument("--no-peers", action="store_true", help="Part A: leave out the OpenCV peers")
    parser.add_argument("--out", type=Path, default=RESULTS / "video_sr.json")
    parser.add_argument("--speed-out", type=Path, default=RESULTS / "video_speed.json")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="openvino", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args)
        return
    if not (args.speed or args.memory) or args.quality:
        write_json(args.out, part_a(args))
    if args.speed or args.memory:
        write_json(args.speed_out, part_b(args), merge=True)


if __name__ == "__main__":
    main()
