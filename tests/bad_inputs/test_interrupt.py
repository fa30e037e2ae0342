"""Ctrl-C in the middle of a folder upscale: nothing half-written, and the next run finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from PIL import Image

from tests.conftest import EDGECONV, run_cli


def default_sigint() -> None:
    """In the child: Ctrl-C as a terminal delivers it. A suite started as a background job (``cmd &`` in a
    script) inherits SIGINT ignored, and Python then keeps ignoring it: the run would finish, not stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupted_folder_upscale_resumes(default_onnx: Path, tmp_path: Path) -> None:
    """SIGINT during a 20-image folder run: no partial file; a second run finishes; identical output."""
    from skimage import data

    src = tmp_path / "in"
    src.mkdir()
    base = data.astronaut()
    for i in range(20):
        Image.fromarray(base[i * 10 : i * 10 + 200, i * 8 : i * 8 + 300]).save(src / f"img{i:02d}.png")
    reference = tmp_path / "reference"
    assert run_cli("upscale", str(src), str(reference), "--model", str(default_onnx), "--tile", "64").returncode == 0

    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*EDGECONV, "upscale", str(src), str(out), "--model", str(default_onnx), "--tile", "64"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=default_sigint)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("*.png"))) < 3:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    done_first = sorted(p.name for p in out.glob("*.png"))
    assert proc.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    assert 3 <= len(done_first) < 20
    assert not list(out.glob(".*.tmp"))
    second = run_cli("upscale", str(src), str(out), "--model", str(default_onnx), "--tile", "64")
    assert second.returncode == 0, second.stderr
    assert f"{len(done_first)} already done" in second.stdout
    for ref in sorted(reference.glob("*.png")):
        assert (out / ref.name).read_bytes() == ref.read_bytes(), ref.name
