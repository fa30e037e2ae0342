"""Two simulated nodes (``ray.cluster_utils.Cluster``, 1 CPU each, 127.0.0.1): the same bytes and the same tables
as a local run, also when a worker is killed mid-run."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from edgeconv.research.job import ComparisonSettings, run_comparison
from edgeconv.research.texture_data import make_texture_folders
from edgeconv.runtime.imaging.upscale import UpscaleSettings
from tests.cluster.conftest import FILES, Killer, outputs
from tests.research.test_dtd_task import make_dtd_like

TASKS = ("texture", "dtd10")
RUNS = 8  # per comparison: 2 tasks x 2 variants x 2 seeds


def test_upscale_over_two_nodes_gives_the_same_bytes(two_nodes: tuple[ModuleType, str], folder: Path,
                                                      local_outputs: dict[str, bytes], tmp_path: Path) -> None:
    """Each worker asks 1 CPU and each node has 1: one worker per node, joined by the head's address."""
    from edgeconv.runtime.cluster.upscale import upscale_on_ray

    _, address = two_nodes
    done = upscale_on_ray(UpscaleSettings(folder, tmp_path / "out", backend="onnxruntime"), address)
    assert done.written == FILES and outputs(tmp_path / "out") == local_outputs


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(texture folders, a DTD10-like folder): the tiny data the harness's own tests train on."""
    root = tmp_path_factory.mktemp("data")
    make_texture_folders(root / "textures", train_per_class=12, val_per_class=4)
    return root / "textures", make_dtd_like(root / "DTD10")


def _settings(data: tuple[Path, Path], out: Path, ray: str | None = None) -> ComparisonSettings:
    """texture and dtd10 (supervised + zero-shot), 2 variants x 2 seeds, 3 steps, width 4, one thread per run."""
    return ComparisonSettings(tasks=list(TASKS), seeds=2, cls_variants=["plain", "jitter-random"], cls_steps=3,
                              cls_batch=8, width=4, textures=data[0], dtd10=data[1], crop=32, load_size=40,
                              threads=1, out=out, ray=ray)


@pytest.fixture(scope="module")
def local_run(data: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local")
    run_comparison(_settings(data, out))
    return out


def _tables(out: Path) -> dict[str, object]:
    """Per task: summary.md as written, runs.csv and every run record without the wall-clock minutes."""
    tables: dict[str, object] = {}
    for task in TASKS:
        folder = out / task
        rows = list(csv.DictReader(io.StringIO((folder / "runs.csv").read_text())))
        records = {str(p.relative_to(folder)): json.loads(p.read_text()) for p in folder.glob("*/seed*.json")}
        tables[task] = ((folder / "summary.md").read_text(),
                        [{k: v for k, v in r.items() if k != "minutes"} for r in rows],
                        {k: {f: v for f, v in r.items() if f != "minutes"} for k, r in records.items()})
        assert len(rows) == 4 and len(records) == 4
        assert not list(folder.rglob("*.done.json")) and not list(folder.rglob(".*.tmp"))
    return tables


def _on_ray(data: tuple[Path, Path], local: Path, out: Path, address: str) -> list[str]:
    """The same comparison on the cluster; latencies (timings, not results) taken from the local run's cache."""
    for task in TASKS:
        (out / task).mkdir(parents=True)
        shutil.copy(local / task / "latency.json", out / task / "latency.json")
    said: list[str] = []
    run_comparison(_settings(data, out, address), say=said.append)
    return said


@pytest.mark.slow
def test_compare_on_two_nodes_gives_the_local_tables_and_resumes(
    two_nodes: tuple[ModuleType, str], data: tuple[Path, Path], local_run: Path, tmp_path: Path
) -> None:
    _, address = two_nodes
    said = _on_ray(data, local_run, tmp_path / "runs", address)
    assert sum("trained on Ray" in line for line in said) == RUNS
    assert _tables(tmp_path / "runs") == _tables(local_run)
    again: list[str] = []
    run_comparison(_settings(data, tmp_path / "runs", address), say=again.append)
    assert sum(": reused" in line for line in again) == RUNS and not any("trained" in line for line in again)


@pytest.mark.slow
def test_killed_workers_still_give_the_local_tables(two_nodes: tuple[ModuleType, str], data: tuple[Path, Path],
                                                   local_run: Path, tmp_path: Path) -> None:
    """SIGKILL the first worker seen running a whole run (texture) and the first one training a dtd10 net: Ray
    retries both tasks, and the tables are those of the local run."""
    _, address = two_nodes
    killers = [Killer("train_run"), Killer("train_net")]
    for killer in killers:
        killer.start()
    said = _on_ray(data, local_run, tmp_path / "runs", address)
    for killer in killers:
        killer.join()
    assert all(k.killed for k in killers), "no worker was killed"
    assert sum("trained on Ray" in line for line in said) == RUNS
    assert _tables(tmp_path / "runs") == _tables(local_run)
