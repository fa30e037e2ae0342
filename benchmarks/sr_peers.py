"""edgeconv x2 SR models beside the tools users run today: quality under every LR protocol, and speed.

Contestants, all on the same HR images and the same LR images:

- ``bicubic``: Pillow ``BICUBIC`` x2 of the LR image (the floor every SR model must beat);
- OpenCV ``dnn_superres`` with the x2 graphs in ``shared/peers/opencv_dnn_superres`` (FSRCNN,
  FSRCNN-small, ESPCN; ``DnnSuperResImpl.upsample`` on BGR uint8, OpenCV threads = ``--threads``);
- edgeconv ONNX models (``--models``), once per back end (ONNX Runtime, OpenVINO), through
  ``edgeconv.runtime.backends.registry.create_backend``.

Quality: for every protocol of ``edgeconv.runtime.imaging.degradations.PROTOCOLS`` the HR images
(read keeping grey, centre crop of 512 px as ``edgeconv validate`` does, cropped to a multiple of 2)
are degraded with ``degrade(hr, 2, protocol)``; PSNR-Y and SSIM-Y come from the project's one scorer
(``score_sr``; edgeconv models through ``sr_validation_pairs`` + ``score_output``, exactly as
``edgeconv validate`` scores). "Worst gain" is a contestant's smallest PSNR-Y gain over bicubic
across protocols: what a user can count on when they do not know how their LR image was made.

Speed: median ms of one x2 upscale of a 640x360 (W x H) uint8 RGB image to a 1280x720 uint8 image
(what ``upsample`` does for the OpenCV peers; for edgeconv models ``to_input`` -> back end ->
``to_image``, with the back end's own model-only time in the JSON too), after warm-up, ``--runs``
timed calls each, every contestant back to back in this one process. Pillow's resize is single-threaded.

Run::

    edgeconv export models/weights/jitter_sr_x2.pt -o /tmp/jitter_sr_x2.onnx
    python benchmarks/sr_peers.py --models runtime/shipped/sr_x2_photo.onnx \\
        runtime/shipped/sr_x2_bicubic.onnx /tmp/jitter_sr_x2.onnx --threads 2 --runs 20

Writes ``benchmarks/results/sr_peers.json`` (every number, the machine record) and
``benchmarks/results/sr_peers.png`` (PSNR-Y vs ms, under bicubic and cubic-aliased LR), and prints
a Markdown table.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from edgeconv.errors import EdgeConvError, UsageError
from edgeconv.runtime.atomic_write import write_atomic, write_bytes_atomic
from edgeconv.runtime.backends.base import Backend, BackendOptions
from edgeconv.runtime.backends.registry import BACKENDS, create_backend
from edgeconv.runtime.imaging.degradations import PROTOCOLS, degrade
from edgeconv.runtime.imaging.images import center_crop, crop_to_multiple, image_files, read_image
from edgeconv.runtime.model_facts import ModelFacts, read_model_facts
from edgeconv.runtime.profiling.device_facts import machine_record
from edgeconv.runtime.validation.sr_eval import default_images, score_output, sr_validation_pairs
from edgeconv.runtime.validation.sr_metrics import score_sr

RESULTS = Path(__file__).parent / "results"
SCALE = 2
MAX_SIDE = 512  # centre crop, as sr_validation_pairs (and so edgeconv validate) does
MAX_IMAGES = 32
TIMING_WH = (640, 360)
WARMUP = 5
EDGECONV_BACKENDS = ("onnxruntime", "openvino")
PLOT_PROTOCOLS = ("bicubic", "cubic-aliased")
# (label, graph file, dnn_superres algorithm name); see shared/peers/opencv_dnn_superres/SOURCES.md
OPENCV_PEERS = (
    ("FSRCNN", "FSRCNN_x2.pb", "fsrcnn"),
    ("FSRCNN-small", "FSRCNN-small_x2.pb", "fsrcnn"),
    ("ESPCN", "ESPCN_x2.pb", "espcn"),
)

Upscale = Callable[[np.ndarray], np.ndarray]


@dataclass
class LRImage:
    """One HR image (uint8 (H, W, 3), or (H, W) when grey) and its LR under one protocol (uint8 RGB, grey repeated)."""

    name: str
    hr: np.ndarray
    lr_rgb: np.ndarray


@dataclass
class Contestant:
    """Something that upscales x2. Peers give ``upscale`` (uint8 RGB (h, w, 3) -> float RGB in [0, 1],
    (2h, 2w, 3)); edgeconv models give ``backend`` (scored through ``score_output``)."""

    name: str
    runtime: str
    kind: str  # "baseline" | "opencv-dnn" | "edgeconv"
    source: str
    upscale: Upscale | None = None
    backend: Backend | None = None
    results: dict[str, object] = field(default_factory=dict)


# ---------------------------------------------------------------- images


def lr_images(folder: Path, protocol: str) -> list[LRImage]:
    """The HR images of ``folder`` and their LR made by ``protocol`` (the steps of ``sr_validation_pairs``)."""
    images = []
    for path in image_files(folder)[:MAX_IMAGES]:
        hr = crop_to_multiple(center_crop(read_image(path, keep_grey=True), MAX_SIDE), SCALE)
        lr = degrade(hr, SCALE, protocol)
        images.append(LRImage(path.name, hr, lr if lr.ndim == 3 else np.repeat(lr[..., None], 3, 2)))
    return images


def timing_image() -> np.ndarray:
    """A fixed 640x360 (W x H) uint8 RGB image: the speed input of every contestant."""
    width, height = TIMING_WH
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


# ---------------------------------------------------------------- contestants


def bicubic_upscale(lr_rgb: np.ndarray) -> np.ndarray:
    """Pillow bicubic x2: uint8 RGB (h, w, 3) -> float RGB (2h, 2w, 3) in [0, 1]."""
    h, w = lr_rgb.shape[:2]
    return np.asarray(Image.fromarray(lr_rgb).resize((w * SCALE, h * SCALE), Image.BICUBIC)) / 255.0


def opencv_upscale(graph: Path, algorithm: str) -> Upscale:
    """An OpenCV ``dnn_superres`` x2 model as uint8 RGB -> float RGB in [0, 1] (BGR uint8 inside)."""
    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    sr.readModel(str(graph))
    sr.setModel(algorithm, SCALE)

    def upscale(lr_rgb: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(np.ascontiguousarray(lr_rgb), cv2.COLOR_RGB2BGR)
        return cv2.cvtColor(sr.upsample(bgr), cv2.COLOR_BGR2RGB) / 255.0

    upscale(np.zeros((16, 16, 3), np.uint8))  # a graph that loads but cannot run fails here, at load
    return upscale


def peer_folder(given: Path | None) -> Path | None:
    """``--peers``, else ``shared/peers/opencv_dnn_superres`` in a parent folder of this file."""
    if given is not None:
        return given
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "peers" / "opencv_dnn_superres"
        if candidate.is_dir():
            return candidate
    return None


def peer_contestants(folder: Path | None, skipped: list[dict[str, str]]) -> list[Contestant]:
    """Bicubic and every OpenCV peer that loads; one that does not is recorded in ``skipped``."""
    contestants = [Contestant("bicubic", "Pillow", "baseline", "PIL.Image.BICUBIC", upscale=bicubic_upscale)]
    for label, file, algorithm in OPENCV_PEERS:
        graph = (folder or Path("shared/peers/opencv_dnn_superres")) / file
        if not graph.is_file():
            skipped.append({"name": label, "runtime": "opencv-dnn", "reason": f"{graph} not found (--peers DIR)"})
            continue
        try:
            upscale = opencv_upscale(graph, algorithm)
        except cv2.error as exc:
            skipped.append({"name": label, "runtime": "opencv-dnn", "reason": str(exc).strip().splitlines()[-1]})
            print(f"skipped {label}: {skipped[-1]['reason']}", file=sys.stderr)
            continue
        contestants.append(Contestant(label, "opencv-dnn", "opencv-dnn", str(graph), upscale=upscale))
    return contestants


def edgeconv_contestants(models: list[Path], threads: int, skipped: list[dict[str, str]]) -> list[Contestant]:
    """Each ``--models`` file on each usable edgeconv back end; an x2 SR model is required."""
    contestants = []
    for path in models:
        facts = read_model_facts(path)
        if facts.task != "sr" or facts.scale != SCALE:
            raise UsageError(str(path), f"is not an x{SCALE} SR model (task {facts.task!r}, scale {facts.scale})",
                             "export an x2 SR checkpoint with edgeconv export")
        name = f"{path.stem} ({facts.model})"
        for backend_name in EDGECONV_BACKENDS:
            usable, why = BACKENDS[backend_name].status()
            if not usable:
                skipped.append({"name": name, "runtime": backend_name, "reason": why})
                continue
            try:
                backend = create_backend(backend_name, path, BackendOptions(threads=threads))
            except EdgeConvError as exc:
                skipped.append({"name": name, "runtime": backend_name, "reason": exc.one_line()})
                continue
            contestants.append(Contestant(name, backend_name, "edgeconv", str(path), backend=backend))
    return contestants


# ---------------------------------------------------------------- quality


def mean_scores(per_image: dict[str, tuple[float, float]]) -> dict[str, object]:
    """Means (as ``sr_quality`` takes them) plus the per-image numbers."""
    scores = list(per_image.values())
    return {"psnr_y": float(np.mean([s[0] for s in scores])), "ssim_y": float(np.mean([s[1] for s in scores])),
            "per_image": {name: {"psnr_y": p, "ssim_y": s} for name, (p, s) in per_image.items()}}


def score_peer(upscale: Upscale, images: list[LRImage]) -> dict[str, object]:
    """PSNR-Y / SSIM-Y of a peer on ``images``: ``score_sr`` of its float RGB output."""
    return mean_scores({im.name: score_sr(upscale(im.lr_rgb), im.hr, SCALE) for im in images})


def score_edgeconv(backend: Backend, folder: Path, protocol: str, images: list[LRImage]) -> dict[str, object]:
    """PSNR-Y / SSIM-Y of an edgeconv model as ``edgeconv validate`` scores it, on the peers' very images."""
    facts: ModelFacts = backend.facts
    pairs = sr_validation_pairs(folder, facts, MAX_IMAGES, MAX_SIDE, degradation=protocol)
    same = len(pairs) == len(images) and all(
        p.name == im.name and np.array_equal(p.hr, im.hr) and np.array_equal(p.lr_input, facts.to_input(im.lr_rgb))
        for p, im in zip(pairs, images, strict=False))
    if not same:
        raise EdgeConvError(str(backend.path), f"its {protocol} validation pairs differ from the peers' images",
                            "sr_validation_pairs and lr_images must make the same HR and LR")
    return mean_scores({p.name: score_output(backend.run(p.lr_input), p, facts) for p in pairs})


def score_all(contestants: list[Contestant], folder: Path) -> None:
    """Fill ``results["quality"][protocol]`` of every contestant for every protocol."""
    for protocol in PROTOCOLS:
        images = lr_images(folder, protocol)
        for c in contestants:
            quality = c.results.setdefault("quality", {})
            if c.backend is not None:
                quality[protocol] = score_edgeconv(c.backend, folder, protocol, images)
            else:
                quality[protocol] = score_peer(c.upscale, images)
        print(f"scored {protocol}", file=sys.stderr, flush=True)


def add_gains(contestants: list[Contestant]) -> None:
    """PSNR-Y gain over bicubic per protocol, and the worst one, for every contestant."""
    base = next(c for c in contestants if c.kind == "baseline").results["quality"]
    for c in contestants:
        gains = {p: c.results["quality"][p]["psnr_y"] - base[p]["psnr_y"] for p in PROTOCOLS}
        worst = min(gains, key=gains.get)
        c.results |= {"gain_over_bicubic_db": gains, "worst_gain_db": gains[worst], "worst_protocol": worst}


# ---------------------------------------------------------------- speed


def sample_ms(call: Callable[[], object], runs: int, warmup: int = WARMUP) -> list[float]:
    """Latency samples (ms) of ``runs`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def image_call(c: Contestant, image: np.ndarray) -> Callable[[], object]:
    """One uint8 RGB 640x360 -> uint8 RGB 1280x720 upscale by ``c``, as a call."""
    if c.backend is None:
        return lambda: c.upscale(image)
    backend, facts = c.backend, c.backend.facts
    return lambda: facts.to_image(backend.run(facts.to_input(image)))


def time_all(contestants: list[Contestant], runs: int) -> None:
    """Median / p90 ms and fps of every contestant, back to back; edgeconv models also model-only."""
    image = timing_image()
    for c in contestants:
        samples = sample_ms(image_call(c, image), runs)
        median = statistics.median(samples)
        c.results |= {"ms": median, "p90_ms": float(np.percentile(samples, 90)), "fps": 1e3 / median,
                      "samples_ms": samples}
        if c.backend is not None:
            model_only = c.backend.time_runs(c.backend.facts.to_input(image), runs, warmup=WARMUP)
            c.results["model_only_ms"] = statistics.median(model_only)
        print(f"timed {c.name} [{c.runtime}]: {median:.1f} ms", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- output


def table(contestants: list[Contestant]) -> str:
    """Markdown: PSNR-Y per protocol, worst gain over bicubic, ms and fps at 640x360."""
    head = ["contestant", "runtime", *PROTOCOLS, "worst gain dB (protocol)", "ms 640x360", "fps"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for c in contestants:
        r = c.results
        psnr = [f"{r['quality'][p]['psnr_y']:.2f}" for p in PROTOCOLS]
        worst = f"{r['worst_gain_db']:+.2f} ({r['worst_protocol']})"
        lines.append("| " + " | ".join([c.name, c.runtime, *psnr, worst, f"{r['ms']:.1f}", f"{r['fps']:.1f}"]) + " |")
    return "\n".join(lines)


def plot_label(c: Contestant) -> str:
    """A short point label: the model (file stem for edgeconv) and its runtime."""
    short = {"onnxruntime": "ORT", "openvino": "OV", "opencv-dnn": "OpenCV", "Pillow": "PIL"}
    name = Path(c.source).stem if c.kind == "edgeconv" else c.name
    return f"{name} [{short.get(c.runtime, c.runtime)}]"


def plot_png(contestants: list[Contestant], title: str) -> bytes:
    """Two panels: x = ms at 640x360 (log), y = PSNR-Y under bicubic / cubic-aliased LR; points labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"baseline": "tab:gray", "opencv-dnn": "tab:orange", "edgeconv": "tab:blue"}
    markers = {"onnxruntime": "o", "openvino": "s"}
    fig, axes = plt.subplots(1, len(PLOT_PROTOCOLS), figsize=(13, 5.5), constrained_layout=True)
    for ax, protocol in zip(axes, PLOT_PROTOCOLS, strict=True):
        points = [(c.results["ms"], c.results["quality"][protocol]["psnr_y"], c) for c in contestants]
        span = max(p[1] for p in points) - min(p[1] for p in points) or 1.0
        placed: list[tuple[float, float]] = []
        for x, y, c in sorted(points, key=lambda p: -p[1]):
            ax.scatter(x, y, color=colors[c.kind], marker=markers.get(c.runtime, "o"), zorder=3)
            # labels of points close in both ms and dB stack downwards instead of overprinting
            crowd = sum(1 for px, py in placed if abs(np.log10(px / x)) < 0.35 and abs(py - y) < 0.08 * span)
            placed.append((x, y))
            # a label that would run over a point to its right goes on the left of its own point
            blocked = any(0 < np.log10(px / x) < 0.6 and abs(py - y) < 0.04 * span for px, py, _ in points)
            ax.annotate(plot_label(c), (x, y), textcoords="offset points", fontsize=7,
                        xytext=(-6 if blocked else 6, 2 - 10 * crowd), ha="right" if blocked else "left")
        ax.set_xscale("log")
        ax.set_xlabel("ms per x2 upscale, 640x360 -> 1280x720 (log)")
        ax.set_ylabel(f"PSNR-Y (dB), LR by {protocol}")
        ax.set_title(f"LR made by {protocol}")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return buffer.getvalue()


def record(contestants: list[Contestant], skipped: list[dict[str, str]], args: argparse.Namespace,
           images_note: str, load: dict[str, list[float]]) -> dict[str, object]:
    """The JSON document: setup, machine, every number of every contestant."""
    return {
        "what": __doc__.splitlines()[0],
        "note": args.note,
        "machine": machine_record(),
        "threads": args.threads,
        "runs": args.runs,
        "warmup": WARMUP,
        "images": str(args.images),
        "images_note": images_note,
        "scale": SCALE,
        "protocols": list(PROTOCOLS),
        "timing": f"{TIMING_WH[0]}x{TIMING_WH[1]} (W x H) uint8 RGB -> x2 uint8 RGB, median of runs",
        "load_average_1_5_15": load,
        "versions": {"opencv": cv2.__version__},
        "contestants": [{"name": c.name, "runtime": c.runtime, "kind": c.kind, "source": c.source, **c.results}
                        for c in contestants],
        "skipped": skipped,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Example: python benchmarks/sr_peers.py --models a.onnx b.onnx")
    parser.add_argument("--models", type=Path, nargs="*", default=[], help="edgeconv x2 SR ONNX files")
    parser.add_argument("--images", type=Path, default=None, help="folder of HR images (default: Set5)")
    parser.add_argument("--peers", type=Path, default=None,
                        help="folder of the OpenCV x2 graphs (default: shared/peers/opencv_dnn_superres)")
    parser.add_argument("--threads", type=int, default=2, help="threads of every runtime (Pillow uses one)")
    parser.add_argument("--runs", type=int, default=20, help="timed calls per contestant after warm-up")
    parser.add_argument("--out", type=Path, default=RESULTS / "sr_peers.json", help="JSON with every number")
    parser.add_argument("--plot", type=Path, default=RESULTS / "sr_peers.png", help="PNG: PSNR-Y vs ms")
    parser.add_argument("--note", default="", help="what else ran on the machine, stored in the JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.runs < 1 or args.threads < 1:
        raise SystemExit("sr_peers.py | --runs and --threads must be >= 1.")
    images_note = f"--images {args.images}"
    if args.images is None:
        args.images, images_note = default_images("--images", "Set5")
    cv2.setNumThreads(args.threads)
    skipped: list[dict[str, str]] = []
    contestants = peer_contestants(peer_folder(args.peers), skipped)
    contestants += edgeconv_contestants(args.models, args.threads, skipped)
    score_all(contestants, args.images)
    add_gains(contestants)
    load = {"before_timing": list(os.getloadavg())}
    time_all(contestants, args.runs)
    load["after_timing"] = list(os.getloadavg())
    print(table(contestants))
    for s in skipped:
        print(f"skipped {s['name']} [{s['runtime']}]: {s['reason']}")
    for path in (args.out, args.plot):
        path.parent.mkdir(parents=True, exist_ok=True)
    document = record(contestants, skipped, args, images_note, load)
    write_atomic(args.out, lambda f: f.write((json.dumps(document, indent=2) + "\n").encode()))
    title = (f"x{SCALE} SR on {args.images.name}: PSNR-Y vs speed, {args.threads} threads, "
             f"{document['machine']['cpu']}")
    write_bytes_atomic(args.plot, plot_png(contestants, title))
    print(f"wrote {args.out} and {args.plot}")


if __name__ == "__main__":
    try:
        main()
    except EdgeConvError as exc:
        raise SystemExit(exc.one_line()) from None
