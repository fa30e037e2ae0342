"""``upscale DIR OUT --ray``: byte-identical to the local run, resumable, and a killed worker loses nothing."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import ModuleType

import pytest

from edgeconv.errors import UsageError
from edgeconv.runtime.imaging.upscale import UpscaleSettings
from tests.cluster.conftest import FILES, outputs, worker_pids
from tests.conftest import run_cli


def test_ray_outputs_are_byte_identical_to_the_local_run(local_ray: ModuleType, folder: Path,
                                                          local_outputs: dict[str, bytes], tmp_path: Path) -> None:
    from edgeconv.runtime.cluster.upscale import upscale_on_ray

    heard: list[tuple[int, int | None]] = []
    done = upscale_on_ray(UpscaleSettings(folder, tmp_path / "out", backend="onnxruntime"), "local", workers=2,
                          progress=lambda _name, i, n: heard.append((i, n)))
    assert done.written == FILES and done.already_done == 0 and not done.failed and done.scale == 2
    assert done.overlap > 0 and "onnxruntime" in done.backend.lower()
    assert outputs(tmp_path / "out") == local_outputs
    assert heard == [(i, FILES) for i in range(1, FILES + 1)]  # files counted across the workers, one by one


def test_a_worker_killed_mid_run_is_restarted_and_loses_nothing(local_ray: ModuleType, folder: Path,
                                                               local_outputs: dict[str, bytes],
                                                               tmp_path: Path) -> None:
    """SIGKILL one of the two actors after the 3rd file: Ray restarts it (model loaded again) and retries its
    queued files; a temp file a killed writer left from an earlier run is cleared; outputs are identical."""
    from edgeconv.runtime.cluster.upscale import upscale_on_ray

    out = tmp_path / "out"
    out.mkdir()
    (out / ".img05.png.k1ll3d.tmp").write_bytes(b"half a png")  # what a writer killed mid-file leaves
    killed: list[int] = []

    def kill_one(_name: str, done: int, _total: int | None) -> None:
        if done == 3 and not killed:
            killed.append(worker_pids("UpscaleWorker")[0])
            os.kill(killed[0], signal.SIGKILL)

    done = upscale_on_ray(UpscaleSettings(folder, out, backend="onnxruntime"), "local", workers=2, progress=kill_one)
    assert killed and done.written == FILES and not done.failed
    assert outputs(out) == local_outputs


def test_finished_outputs_are_kept_and_skipped(local_ray: ModuleType, folder: Path, local_outputs: dict[str, bytes],
                                               tmp_path: Path) -> None:
    from edgeconv.runtime.cluster.upscale import upscale_on_ray

    out = tmp_path / "out"
    out.mkdir()
    (out / "img00.png").write_bytes(local_outputs["img00.png"])
    before = os.stat(out / "img00.png").st_mtime_ns
    done = upscale_on_ray(UpscaleSettings(folder, out, backend="onnxruntime"), "local", workers=2)
    assert done.already_done == 1 and done.written == FILES - 1
    assert os.stat(out / "img00.png").st_mtime_ns == before and outputs(out) == local_outputs
    again = upscale_on_ray(UpscaleSettings(folder, out, backend="onnxruntime"), "local")
    assert again.written == 0 and again.already_done == FILES  # nothing to do: no worker started


def test_a_path_a_worker_cannot_see_is_refused_in_one_line(local_ray: ModuleType, folder: Path,
                                                           tmp_path: Path) -> None:
    """The workers check the paths themselves: here a folder that exists nowhere stands for one on a disk the
    driver has and the nodes do not."""
    from edgeconv.runtime.cluster.upscale import for_cluster, start_pool
    from edgeconv.runtime.imaging.upscale import UpscaleResult

    unseen = for_cluster(UpscaleSettings(tmp_path / "only_on_the_driver", tmp_path / "out", backend="onnxruntime"))
    with pytest.raises(UsageError) as refused:
        start_pool(local_ray, unseen, 1, 1, UpscaleResult(tmp_path, 0, 0, 2, "", 0, 0))
    line = refused.value.one_line()
    assert "only_on_the_driver | is not visible on the Ray worker at 127.0.0.1" in line and "\n" not in line
    assert "every node mounts at the same path" in line


def test_one_file_is_refused_with_ray(local_ray: ModuleType, folder: Path, tmp_path: Path) -> None:
    from edgeconv.runtime.cluster.upscale import upscale_on_ray

    with pytest.raises(UsageError, match="spreads the files of a folder"):
        upscale_on_ray(UpscaleSettings(folder / "img00.png", tmp_path / "a.png", backend="onnxruntime"), "local")


def test_the_command_with_a_bare_ray_flag(folder: Path, local_outputs: dict[str, bytes], tmp_path: Path) -> None:
    """The real command starts its own private cluster (another process), prints one line, and stops it."""
    pytest.importorskip("ray", reason="ray is not installed (pip install 'edgeconv[cluster]')")
    done = run_cli("upscale", str(folder), str(tmp_path / "out"), "--backend", "onnxruntime", "--ray",
                   "--ray-workers", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f"wrote {FILES} file(s) to {tmp_path / 'out'}")
    assert outputs(tmp_path / "out") == local_outputs
    help_text = " ".join(run_cli("upscale", "--help").stdout.split())
    assert "--ray" in help_text and "every node mounts at the same path" in help_text


@pytest.mark.slow
def test_a_video_in_the_folder_runs_whole_on_one_worker(local_ray: ModuleType, tmp_path: Path) -> None:
    """The per-file function of a local folder run takes videos too: the same video as locally (frames, timestamps,
    streams; libx264's bytes vary run to run even here), and the image byte-identical."""
    pytest.importorskip("av", reason="PyAV is not installed (pip install 'edgeconv[video]')")
    from PIL import Image

    from edgeconv.runtime.cluster.upscale import upscale_on_ray
    from edgeconv.runtime.imaging.upscale import upscale_path
    from tests.runtime.test_video import assert_same_video
    from tests.runtime.video_clips import make_clip

    src = tmp_path / "in"
    src.mkdir()
    make_clip(src / "clip.mp4", frames=5)
    Image.new("RGB", (30, 20), (120, 30, 200)).save(src / "flat.png")
    upscale_path(UpscaleSettings(src, tmp_path / "local", backend="onnxruntime", threads=1))
    done = upscale_on_ray(UpscaleSettings(src, tmp_path / "ray", backend="onnxruntime"), "local", workers=2)
    assert done.written == 2 and not done.failed
    assert (tmp_path / "ray" / "flat.png").read_bytes() == (tmp_path / "local" / "flat.png").read_bytes()
    assert_same_video(tmp_path / "ray" / "clip.mp4", tmp_path / "local" / "clip.mp4")


def test_work_no_node_can_take_is_refused_not_left_waiting(local_ray: ModuleType, folder: Path,
                                                          tmp_path: Path) -> None:
    """Ray would wait forever for a node with more CPUs, or a GPU: both are one line instead."""
    from edgeconv.runtime.cluster.session import check_fits
    from edgeconv.runtime.cluster.upscale import upscale_on_ray

    with pytest.raises(UsageError, match="--threads \\| asks 4 CPU per Ray worker.*largest node has 2"):
        upscale_on_ray(UpscaleSettings(folder, tmp_path / "out", backend="onnxruntime", threads=4), "local")
    with pytest.raises(UsageError, match="--device \\| asks 1 GPU per Ray worker.*largest node has 0"):
        check_fits(local_ray, 1, 1)  # compare --device cuda on a cluster without GPUs
    assert not list((tmp_path / "out").iterdir())
