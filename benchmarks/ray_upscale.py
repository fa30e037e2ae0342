"""Ray scale-out of ``edgeconv upscale DIR OUT``: one folder upscaled locally vs on a local Ray cluster.

The folder: ``--images`` (200) centre crops of ``--crop`` (256) px from the shared SR photos (BSD200, then T91;
then corner crops when more are asked), saved as PNG in a temp folder. Each contestant writes a fresh output
folder with the shipped ``photo`` x2 model on ONNX Runtime (tile 256, one thread per process):

- ``local``: ``upscale_path`` (threads 1), in this process (the cluster idle meanwhile);
- ``ray 1 worker`` / ``ray 2 workers``: ``upscale_on_ray`` on a private cluster of ``--cpus`` CPUs (default: the
  cores here), started once first (its start-up is reported on its own); each run starts its actors, which load
  the model, so that is inside its wall time, as it is in a real run.

The three run in turn, ``--repeats`` (3) rounds, and the median wall time of each is kept (the rounds are stored).

Reported: wall seconds, ms per file, speed-up vs local and of 2 workers vs 1, whether every output is
byte-identical to the local run's; Ray's overheads: a no-op task's round trip (median of 200 sequential
calls), the per-task cost of 1000 no-op tasks in flight, a no-op actor call's round trip, one worker's start
(actor + model load + receptive-field probe), and per file ``(ray 1 worker - local) / files``.
Prints a table, writes ``benchmarks/results/ray_upscale.json`` (machine, load average, command).

Run::

    python benchmarks/ray_upscale.py                            # 200 images x 3 rounds: ~6 min on 2 idle cores
    python benchmarks/ray_upscale.py --images 40 --repeats 1    # a quick check that it works (~40 s)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from edgeconv.runtime.cluster.session import ray_session
from edgeconv.runtime.cluster.upscale import UpscaleWorker, for_cluster, upscale_on_ray
from edgeconv.runtime.imaging.images import image_files
from edgeconv.runtime.imaging.upscale import UpscaleSettings, upscale_path
from edgeconv.runtime.profiling.device_facts import machine_record
from edgeconv.runtime.validation.sr_eval import shared_sr_data

RESULTS = Path(__file__).with_name("results")


def make_folder(folder: Path, count: int, crop: int) -> list[str]:
    """``count`` crops of ``crop`` px from BSD200 then T91 (centre, then corners) as PNG; their sources."""
    root = shared_sr_data()
    if root is None:
        sys.exit("shared SR data not found (../shared/data/sr beside the checkout; or set EDGECONV_SR_DATA)")
    photos = [p for sub in ("BSD200", "T91") for p in image_files(root / sub)]
    sources: list[str] = []
    for corner in ("centre", "top-left", "bottom-right"):
        for photo in photos:
            if len(sources) == count:
                return sources
            with Image.open(photo) as img:
                w, h = img.size
                if min(w, h) < crop:
                    continue
                x, y = {"centre": ((w - crop) // 2, (h - crop) // 2), "top-left": (0, 0),
                        "bottom-right": (w - crop, h - crop)}[corner]
                img.convert("RGB").crop((x, y, x + crop, y + crop)).save(folder / f"{len(sources):04d}.png")
            sources.append(f"{photo.parent.name}/{photo.name} {corner}")
    sys.exit(f"only {len(sources)} crops of {crop} px found in {root}")


def timed(job) -> float:  # noqa: ANN001 - a no-argument callable
    """Wall seconds of ``job()``."""
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def same_bytes(a: Path, b: Path) -> bool:
    """Both folders hold the same file names with the same bytes."""
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)


def overheads(ray, settings: UpscaleSettings) -> dict[str, float]:  # noqa: ANN001 - the ray module
    """Ray's own costs on this cluster, in ms: no-op task and actor round trips, a no-op task in flight, and one
    upscale worker's start (actor process, model load, receptive-field probe)."""

    @ray.remote(num_cpus=1)
    def noop() -> None:
        return None

    @ray.remote(num_cpus=1)
    class Noop:
        def call(self) -> None:
            return None

    ray.get([noop.remote() for _ in range(20)])  # workers warm
    trips = [timed(lambda: ray.get(noop.remote())) * 1e3 for _ in range(200)]
    in_flight = timed(lambda: ray.get([noop.remote() for _ in range(1000)])) * 1e3 / 1000
    actor = Noop.remote()
    ray.get(actor.call.remote())
    calls = [timed(lambda: ray.get(actor.call.remote())) * 1e3 for _ in range(200)]
    worker = ray.remote(UpscaleWorker).options(num_cpus=1).remote(for_cluster(settings.resolve()))
    start_ms = timed(lambda: ray.get(worker.start.remote())) * 1e3
    for handle in (actor, worker):
        ray.kill(handle)
    return {"noop_task_round_trip_ms": statistics.median(trips), "noop_task_in_flight_ms": in_flight,
            "noop_actor_call_round_trip_ms": statistics.median(calls), "worker_start_ms": start_ms}


def run(args: argparse.Namespace, tmp: Path) -> dict:
    """Make the folder, run the three contestants ``--repeats`` times in turn, measure the overheads: the record."""
    src = tmp / "in"
    src.mkdir()
    sources = make_folder(src, args.images, args.crop)
    settings = {"backend": "onnxruntime", "model": "photo", "tile": 256}
    load = os.getloadavg()[0]
    walls: dict[int, list[float]] = {0: [], 1: [], 2: []}  # workers (0: local) -> wall seconds of each repeat
    same = {1: True, 2: True}
    start = time.perf_counter()
    with ray_session("local", cpus=args.cpus) as ray:
        cluster_start_s = time.perf_counter() - start
        for repeat in range(args.repeats):
            local = tmp / f"local{repeat}"
            walls[0].append(timed(lambda: upscale_path(UpscaleSettings(src, local, threads=1, **settings))))  # noqa: B023
            for workers in (1, 2):
                out = tmp / f"ray{workers}.{repeat}"
                walls[workers].append(timed(
                    lambda: upscale_on_ray(UpscaleSettings(src, out, **settings), workers=workers)))  # noqa: B023
                same[workers] &= same_bytes(local, out)
        costs = overheads(ray, UpscaleSettings(src, tmp / "probe", threads=1, **settings))
    rows = [{"name": "local (1 thread)" if w == 0 else f"ray {w} worker{'s' * (w > 1)}", "workers": w,
             "wall_s": statistics.median(walls[w]), "walls_s": walls[w], "identical": same.get(w)} for w in walls]
    for row in rows:
        row["per_file_ms"] = row["wall_s"] * 1e3 / args.images
        row["speedup_vs_local"] = rows[0]["wall_s"] / row["wall_s"]
    costs["per_file_overhead_ms"] = rows[1]["per_file_ms"] - rows[0]["per_file_ms"]
    return {"machine": machine_record(), "load_average_at_start": load, "command": " ".join(sys.argv),
            "images": args.images, "crop": args.crop, "sources": f"{sources[0]} .. {sources[-1]}",
            "settings": settings, "cluster_cpus": args.cpus, "cluster_start_s": cluster_start_s,
            "repeats": args.repeats, "rows": rows, "speedup_2_vs_1_workers": rows[1]["wall_s"] / rows[2]["wall_s"],
            "overheads": costs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200, help="Crops in the folder (default 200).")
    parser.add_argument("--crop", type=int, default=256, help="Crop side in px (default 256).")
    parser.add_argument("--repeats", type=int, default=3, help="Rounds of the three runs, in turn (median kept).")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="CPUs of the local Ray cluster.")
    parser.add_argument("--out", type=Path, default=RESULTS / "ray_upscale.json", help="The JSON written.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ray_upscale.") as tmp:
        record = run(args, Path(tmp))
    print(f"{args.images} crops of {args.crop} px, photo x2 on ONNX Runtime, 1 thread per process; load average "
          f"{record['load_average_at_start']:.2f} at start; cluster start {record['cluster_start_s']:.1f} s")
    print("| run | wall s | ms / file | speed-up vs local | identical to local |")
    print("|---|---|---|---|---|")
    for r in record["rows"]:
        same = {True: "yes", False: "NO"}.get(r.get("identical"), "-")
        print(f"| {r['name']} | {r['wall_s']:.2f} | {r['per_file_ms']:.1f} | {r['speedup_vs_local']:.2f}x | {same} |")
    print(f"2 workers vs 1: {record['speedup_2_vs_1_workers']:.2f}x")
    print("Ray overheads: " + ", ".join(f"{k} {v:.2f}" for k, v in record["overheads"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
