"""``edgeconv upscale`` on videos, through a real subprocess: pipes, folders of images and videos, bad input."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.runtime.test_video import assert_same_video
from tests.runtime.video_clips import av, make_clip, stream_summary

EDGECONV = [sys.executable, "-m", "edgeconv.cli.app"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*EDGECONV, "upscale", *args], input=stdin, capture_output=True, timeout=240)


def test_y4m_pipe_in_and_out(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", 48, 32, frames=6, audio=False)
    y4m = tmp_path / "in.y4m"
    with av.open(str(clip)) as c, av.open(str(y4m), "w") as out:
        stream = out.add_stream("wrapped_avframe", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for frame in c.decode(video=0):
            for packet in stream.encode(frame):
                out.mux(packet)
    done = run("-", "-o", "-", "--threads", "1", stdin=y4m.read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(b"YUV4MPEG2 W96 H64")
    out = tmp_path / "out.y4m"
    out.write_bytes(done.stdout)
    assert stream_summary(out)["frames"] == 6 and b"wrote -" in done.stderr


def test_folder_of_images_and_videos(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    make_clip(src / "clip.mp4", frames=5)
    Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(src / "grey.png")
    done = run(str(src), str(tmp_path / "out"), "--threads", "1")
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip.mp4", "grey.png"]
    assert stream_summary(tmp_path / "out" / "clip.mp4")["size"] == (128, 96)
    again = run(str(src), str(tmp_path / "out"), "--threads", "1")
    assert again.returncode == 0 and b"2 already done" in again.stdout


def test_default_name_and_refusal_to_overwrite(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mkv", frames=3)
    assert run(str(clip), "--threads", "1").returncode == 0
    assert (tmp_path / "clip_x2.mkv").is_file()
    again = run(str(clip), "--threads", "1")
    assert again.returncode != 0 and b"clip_x2.mkv" in again.stderr and b"Traceback" not in again.stderr


def test_bad_video_gets_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    shutil.copy(Path(__file__).resolve().parents[2] / "pyproject.toml", bad)
    done = run(str(bad), "--threads", "1")
    lines = [line for line in done.stderr.decode().splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "broken.mp4" in lines[0]
    assert "not a readable video" in lines[0] or "has no video stream" in lines[0]  # FFmpeg reads text as subtitles
    assert not (tmp_path / "broken_x2.mp4").exists()


def test_ctrl_c_then_resume_gives_the_uninterrupted_video(tmp_path: Path) -> None:
    import os
    import signal
    import time

    clip = make_clip(tmp_path / "long.mp4", 32, 24, frames=1000)
    whole = tmp_path / "whole.mp4"
    assert run(str(clip), str(whole), "--threads", "1").returncode == 0
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([*EDGECONV, "upscale", str(clip), str(out), "--threads", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = tmp_path / ".out.mp4.edgeconv-work" / "seg_00000.pkts"
    deadline = time.time() + 120
    while time.time() < deadline and not first.exists() and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and b"--resume" in err and b"Traceback" not in err, err.decode()
    assert not out.exists()
    resumed = run(str(clip), str(out), "--threads", "1", "--resume")
    assert resumed.returncode == 0 and re.search(rb"resumed at frame (250|500|750)\b", resumed.stderr), resumed.stderr
    assert_same_video(out, whole)


def test_a_url_source_streams_through(tmp_path: Path) -> None:
    """A source FFmpeg opens by URL (here file://, as rtsp:// or a v4l2 device would be): one pass, video only."""
    clip = make_clip(tmp_path / "cam.mp4", frames=4)
    done = run(f"file://{clip}", str(tmp_path / "out.mkv"), "--threads", "1")
    assert done.returncode == 0, done.stderr.decode()
    summary = stream_summary(tmp_path / "out.mkv")
    assert summary["frames"] == 4 and summary["size"] == (128, 96) and summary["others"] == {}
    refused = run(f"file://{clip}", "--threads", "1")
    assert refused.returncode == 2 and b"is a stream: give an output file" in refused.stderr


def test_short_help_and_version() -> None:
    from edgeconv import __version__

    version = subprocess.run([*EDGECONV, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == __version__
    for args in (["-h"], ["upscale", "-h"], ["quantize", "-h"]):
        done = subprocess.run([*EDGECONV, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "Usage: " in done.stdout and "-h" in done.stdout, args
