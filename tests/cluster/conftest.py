"""Real Ray clusters for the scale-out tests, bound to 127.0.0.1 with usage statistics off.

``local_ray``: the private cluster ``--ray`` starts (``ray_session("local")``), 2 CPUs. ``two_nodes``: Ray's own
multi-node test cluster (``ray.cluster_utils.Cluster``), two simulated nodes of 1 CPU each, joined the way
``--ray HOST:PORT`` joins one. ``Killer`` kills a Ray worker process mid-run by its title, as a crash would.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from edgeconv.runtime.imaging.upscale import UpscaleSettings, upscale_path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # before any import of ray in this process
NO_RAY = "ray is not installed (pip install 'edgeconv[cluster]')"
FILES = 12


def need_ray() -> ModuleType:
    """Ray, or the test is skipped: the only reason these tests skip."""
    return pytest.importorskip("ray", reason=NO_RAY)


def loopback_only(ray: ModuleType) -> None:
    """Every node of the connected cluster is on 127.0.0.1, and usage statistics are off."""
    assert {n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]} == {"127.0.0.1"}
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[ModuleType]:
    need_ray()
    from edgeconv.runtime.cluster.session import ray_session

    with ray_session("local", cpus=2) as ray:
        loopback_only(ray)
        yield ray
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[tuple[ModuleType, str]]:
    """(ray, the head's address) of a 2-node cluster, 1 CPU a node, this process joined to it."""
    ray = need_ray()
    from ray.cluster_utils import Cluster

    from edgeconv.runtime.cluster.session import ray_session

    assert not ray.is_initialized(), "another Ray session is open: use two_nodes in its own test module"
    cluster = Cluster(initialize_head=True, head_node_args={"node_ip_address": "127.0.0.1", "num_cpus": 1,
                                                            "include_dashboard": False})
    try:
        cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1)
        with ray_session(cluster.address) as joined:
            loopback_only(joined)
            assert [n["Resources"].get("CPU") for n in joined.nodes() if n["Alive"]] == [1.0, 1.0]
            yield ray, cluster.address
    finally:
        cluster.shutdown()


def worker_pids(title: str) -> list[int]:
    """PIDs of this machine's Ray worker processes whose title starts with ``ray::<title>``."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(f"ray::{title}".encode()):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


class Killer(threading.Thread):
    """SIGKILL the first Ray worker seen running ``ray::<title>`` (a task or an actor), once."""

    def __init__(self, title: str, timeout: float = 120.0) -> None:
        super().__init__(daemon=True)
        self.title, self.deadline, self.killed = title, time.monotonic() + timeout, 0

    def run(self) -> None:
        while not self.killed and time.monotonic() < self.deadline:
            for pid in worker_pids(self.title)[:1]:
                os.kill(pid, signal.SIGKILL)
                self.killed = pid
            time.sleep(0.02)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 small images (RGB, grey, RGBA; PNG and JPEG) of real structure plus noise."""
    root = tmp_path_factory.mktemp("photos") / "in"
    root.mkdir()
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:48, :64]
    for i in range(FILES):
        rgb = np.stack([(x * (i + 1)) % 256, (y * 3 + i * 20) % 256, (x + y) * 2 % 256], -1)
        img = Image.fromarray(np.clip(rgb + rng.integers(0, 30, rgb.shape), 0, 255).astype(np.uint8))
        img = img.convert(("RGB", "L", "RGBA")[i % 3])
        img.save(root / f"img{i:02d}.{'jpg' if i % 4 == 3 and img.mode != 'RGBA' else 'png'}")
    return root


@pytest.fixture(scope="module")
def local_outputs(folder: Path) -> dict[str, bytes]:
    """The local folder run (one thread, ONNX Runtime): name -> bytes."""
    out = folder.parent / "local"
    done = upscale_path(UpscaleSettings(folder, out, backend="onnxruntime", threads=1))
    assert done.written == FILES and not done.failed
    return {p.name: p.read_bytes() for p in out.iterdir()}


def outputs(out: Path) -> dict[str, bytes]:
    """A folder run's outputs, name -> bytes; no temp file may be left."""
    assert not list(out.glob(".*")), "a temp file was left behind"
    return {p.name: p.read_bytes() for p in out.iterdir()}
