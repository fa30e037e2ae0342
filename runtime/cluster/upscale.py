"""``edgeconv upscale DIR OUT --ray``: a folder's files over a pool of Ray actors, each loading the model once.

Each actor (``UpscaleWorker``) asks for ``threads`` CPUs (1 unless ``--threads``: single-thread workers, one
per core) and a GPU when the model runs on CUDA or TensorRT. The driver keeps ``IN_FLIGHT`` files queued per
actor, so no worker waits for its next file. Files run through the per-file function of a local folder run
(``upscale_folder_file``: images, and videos on the video path), so the outputs are byte-identical to it; outputs
already there are skipped, each is written atomically. A worker process that dies is restarted by Ray and its
calls retried (``RETRIES``): a retried call whose output exists returns at once, and temp files a killed writer
left behind are removed at the end. Input, output and a model file must lie on a file system every node mounts
at the same path: each actor checks that before any work, and the run is refused with one line otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

from edgeconv.errors import UsageError
from edgeconv.runtime.choices import BackendName, InferenceDevice
from edgeconv.runtime.cluster.session import LOCAL, check_fits, import_ray, raised_on_ray, ray_session
from edgeconv.runtime.imaging.sr_runner import LoadedModel, load_model
from edgeconv.runtime.imaging.upscale import (
    OnProgress,
    UpscaleResult,
    UpscaleSettings,
    folder_jobs,
    upscale_folder_file,
)
from edgeconv.runtime.model_facts import read_model_facts
from edgeconv.runtime.shipped_models import SHIPPED_MODELS

RETRIES = 3  # restarts of a dead worker, and retries of the calls it was running
IN_FLIGHT = 2  # files queued per worker


@dataclass
class WorkerStart:
    """What a worker found when it started: its node, the paths it cannot see, and the model as loaded."""

    node: str
    unseen: list[str]
    label: str = ""
    scale: int = 0
    overlap: int = 0


class UpscaleWorker:
    """One Ray actor's share of a folder: the model loaded once (and again after a restart), files one by one."""

    def __init__(self, settings: UpscaleSettings) -> None:
        self.settings = settings
        self.model: LoadedModel | None = None

    def start(self) -> WorkerStart:
        """Check that this node sees the input, the output folder and the model file; if so, load the model."""
        import ray

        here = f"{ray.util.get_node_ip_address()} (node {ray.get_runtime_context().get_node_id()[:8]})"
        wanted = (self.settings.source, self.settings.target, self.settings.model_file)
        unseen = [str(p) for p in wanted if not Path(p).exists()]
        if unseen:
            return WorkerStart(here, unseen)
        self.model = self.model or self._load()
        return WorkerStart(here, [], self.model.label, self.model.facts.scale or 0, self.model.overlap)

    def upscale(self, src: Path, dst: Path) -> str | None:
        """One file (nothing to do when a retried call's first try wrote it); its failure as one line, else None."""
        if dst.exists():
            return None
        self.model = self.model or self._load()
        return upscale_folder_file(self.settings, self.model, src, dst)

    def _load(self) -> LoadedModel:
        """The model on its back end, as a local folder run loads it (once per actor process)."""
        s = self.settings
        return load_model(s.backend, s.model_file, s.backend_options, s.tile > 0)


def upscale_on_ray(settings: UpscaleSettings, address: str | None = LOCAL, workers: int = 0,
                   progress: OnProgress | None = None) -> UpscaleResult:
    """``upscale_path`` for a folder on a Ray cluster: its files over ``workers`` actors (0, and at most: one per
    ``threads`` CPUs the cluster has). ``address``: ``local`` starts a private cluster here; else one is joined."""
    import_ray()  # a missing extra is one line before anything is written
    resolved = settings.resolve()
    settings = for_cluster(resolved)
    if not settings.source_is_folder:
        raise UsageError("--ray", f"spreads the files of a folder over a cluster; {settings.source} is one file",
                         "give a folder (one image or video runs here without --ray)")
    settings.target.mkdir(exist_ok=True)
    jobs, already = folder_jobs(settings.source, settings.target)
    scale = read_model_facts(settings.model_file).scale or 0
    done = UpscaleResult(resolved.target, 0, already, scale, str(settings.backend), settings.tile, 0)
    if not jobs:
        return done
    try:
        with ray_session(address) as ray:
            pool = start_pool(ray, settings, workers, len(jobs), done)
            run_pool(ray, pool, jobs, done, progress)
    finally:
        sweep_temp_files(settings.target, [dst for _, dst in jobs])
    return done


def for_cluster(settings: UpscaleSettings) -> UpscaleSettings:
    """Settings every node reads alike: absolute paths (a worker does not run in the driver's folder), and one
    thread per worker unless ``--threads`` says otherwise."""
    model = settings.model if str(settings.model) in SHIPPED_MODELS else Path(settings.model).absolute()
    return replace(settings, source=Path(settings.source).absolute(), target=Path(settings.target).absolute(),
                   model=model, threads=settings.threads or 1)


def actor_resources(settings: UpscaleSettings) -> dict[str, int]:
    """What one worker asks of a node: its threads as CPUs, and a GPU when the model runs on CUDA or TensorRT."""
    gpu = settings.backend == BackendName.TENSORRT or settings.device in (InferenceDevice.CUDA,
                                                                           InferenceDevice.TENSORRT)
    return {"num_cpus": settings.threads, "num_gpus": 1 if gpu else 0}


def start_pool(ray: ModuleType, settings: UpscaleSettings, workers: int, files: int, done: UpscaleResult) -> list:
    """Start the actors and check each node sees the paths (one line naming the node and path if not)."""
    need = actor_resources(settings)
    check_fits(ray, need["num_cpus"], need["num_gpus"])
    total = ray.cluster_resources()
    kind, per = ("GPU", need["num_gpus"]) if need["num_gpus"] else ("CPU", need["num_cpus"])
    capacity = max(1, int(total.get(kind, 1) // per))  # more actors than that would wait for resources forever
    count = min(workers or capacity, capacity, files)
    actor = ray.remote(UpscaleWorker).options(max_restarts=RETRIES, max_task_retries=RETRIES, **need)
    pool = [actor.remote(settings) for _ in range(count)]
    try:
        starts = ray.get([a.start.remote() for a in pool])
    except ray.exceptions.RayError as exc:
        raise raised_on_ray(exc, str(settings.model_file)) from exc
    for start in starts:
        if start.unseen:
            raise UsageError(start.unseen[0], f"is not visible on the Ray worker at {start.node}",
                             "put input, output and model on a file system every node mounts at the same path")
    done.backend, done.scale, done.overlap = starts[0].label, starts[0].scale, starts[0].overlap
    return pool


def run_pool(ray: ModuleType, pool: list, jobs: list[tuple[Path, Path]], done: UpscaleResult,
             progress: OnProgress | None) -> None:
    """Feed the files to the actors, ``IN_FLIGHT`` each, counting written and failed files into ``done``."""
    queue, running, total = list(reversed(jobs)), {}, len(jobs) + done.already_done

    def submit(actor: object) -> None:
        if queue:
            src, dst = queue.pop()
            running[actor.upscale.remote(src, dst)] = (actor, src)  # type: ignore[attr-defined]

    for actor in pool * IN_FLIGHT:
        submit(actor)
    while running:
        ray.wait(list(running), num_returns=1)  # one is done; then every one done by now, in one pass
        for ref in ray.wait(list(running), num_returns=len(running), timeout=0)[0]:
            actor, src = running.pop(ref)
            try:
                failed = ray.get(ref)
            except ray.exceptions.RayError as exc:
                raise raised_on_ray(exc, str(src)) from exc
            done.written += failed is None
            done.failed += [failed] if failed else []
            submit(actor)
            if progress is not None:
                progress(src.name, done.already_done + done.written + len(done.failed), total)


def sweep_temp_files(folder: Path, outputs: list[Path]) -> None:
    """Remove the temp files (``.NAME.*.tmp``, ``write_atomic``'s) that a killed writer left beside ``outputs``."""
    names = {p.name for p in outputs}
    for temp in folder.glob(".*.tmp"):
        if temp.name[1:].rsplit(".", 2)[0] in names:
            temp.unlink(missing_ok=True)
