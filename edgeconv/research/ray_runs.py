"""``edgeconv compare --ray``: the runs not done yet as Ray tasks, on this machine or on any Ray cluster.

A run is one task; a dtd10 run is three (one per net: ``dtd_task.DTD10_PARTS``) and a fourth that measures the
run and writes its record once they are done. Each task asks for ``threads`` CPUs (a GPU when nets train on
CUDA). A finished net leaves a marker beside its checkpoint (``seed<k>.<part>.done.json``), so a rerun after a
failure trains only what is missing (a run with a record is never submitted: ``run_compare`` reuses it); a task
whose worker dies is retried by Ray (``RETRIES``), and every file is written atomically, so a retry starts clean.
Records come back in ``run_compare``'s order, so the tables are those of a local run. Data and ``--out`` must lie
on a file system every node mounts at the same path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from edgeconv.research.compare import (
    CompareSettings,
    RunRecord,
    Trained,
    _train_and_measure,
    erf_inputs,
    record_run,
    train_dtd10_net,
)
from edgeconv.research.dtd_task import DTD10_PARTS, NetResult, dtd10_folders, dtd10_run
from edgeconv.runtime.atomic_write import write_bytes_atomic
from edgeconv.runtime.cluster.session import check_fits, raised_on_ray, ray_session

if TYPE_CHECKING:
    from edgeconv.research.compare import RemoteRuns

RETRIES = 3  # retries of a task whose worker died
OnRun = Callable[[str, int, str], None]


@contextmanager
def ray_runs(address: str | None) -> Iterator[RemoteRuns | None]:
    """``run_compare``'s ``remote`` for the block: None without an address (runs train here); else runs go to
    Ray, whose session starts at the first run to train (not at all when every run is done) and ends here."""
    if address is None:
        yield None
        return
    with ExitStack() as stack:
        yield lambda settings, runs, on_run: train_on_ray(
            stack.enter_context(ray_session(address)), settings, runs, on_run)


def train_on_ray(ray: ModuleType, settings: CompareSettings, runs: list[tuple[str, int, Path]],
                 on_run: OnRun) -> list[RunRecord]:
    """Train and record ``runs`` (variant, seed, record path) as Ray tasks; ``on_run`` hears of each as it ends."""
    if settings.task == "dtd10":  # the split's symlink folders laid out once, not raced to by every task
        dtd10_folders(settings.data, settings.out / "dtd10" / "data")
    gpu = settings.device.startswith("cuda")
    settings = replace(settings, device="cuda") if gpu else settings  # Ray shows a task only the GPU it gave it
    options = {"num_cpus": max(settings.threads, 1), "num_gpus": int(gpu), "max_retries": RETRIES}
    check_fits(ray, options["num_cpus"], options["num_gpus"])
    run, net, record = (ray.remote(f).options(**options) for f in (train_run, train_net, record_nets))
    refs = []
    for variant, seed, path in runs:
        if settings.task != "dtd10":
            refs.append(run.remote(settings, variant, seed, path))
            continue
        nets = [net.remote(settings, variant, seed, path, part) for part in DTD10_PARTS]
        refs.append(record.remote(settings, variant, seed, path, *nets))
    return _gather(ray, settings.task, dict(zip(refs, runs, strict=True)), on_run)


def _gather(ray: ModuleType, task: str, runs: dict, on_run: OnRun) -> list[RunRecord]:
    """Wait for every run's record, telling ``on_run`` as each ends; a failed run stops the job with one line."""
    waiting = list(runs)
    while waiting:
        (ref,), waiting = ray.wait(waiting, num_returns=1)
        variant, seed, _ = runs[ref]
        try:
            ray.get(ref)
        except ray.exceptions.RayError as exc:
            raise raised_on_ray(exc, f"{task} run {variant} seed {seed}") from exc
        on_run(variant, seed, "trained on Ray")
    return ray.get(list(runs))


def train_run(settings: CompareSettings, variant: str, seed: int, record_path: Path) -> RunRecord:
    """A whole run on a worker (sr, texture, cifar100): train, measure, write its record."""
    return _train_and_measure(settings, variant, seed, record_path, erf_inputs(settings))


def net_marker(record_path: Path, part: str) -> Path:
    """Where a finished dtd10 net leaves its result: ``seed<k>.<part>.done.json`` beside the run's record."""
    return record_path.with_name(f"{record_path.stem}.{part}.done.json")


def train_net(settings: CompareSettings, variant: str, seed: int, record_path: Path, part: str) -> NetResult:
    """One net of a dtd10 run on a worker; a net finished before (its marker is there) is read, not retrained."""
    marker = net_marker(record_path, part)
    if marker.is_file():
        return NetResult(**json.loads(marker.read_text()))
    record_path.parent.mkdir(parents=True, exist_ok=True)
    done = train_dtd10_net(settings, variant, seed, record_path.with_suffix(".pt"), part)
    write_bytes_atomic(marker, json.dumps(asdict(done)).encode())
    return done


def record_nets(settings: CompareSettings, variant: str, seed: int, record_path: Path, *nets: NetResult) -> RunRecord:
    """A dtd10 run's record from its trained nets (measured on a worker), then their markers removed."""
    record = record_run(settings, variant, seed, record_path, Trained(*dtd10_run(list(nets))), erf_inputs(settings))
    for part in DTD10_PARTS:
        net_marker(record_path, part).unlink(missing_ok=True)
    return record
