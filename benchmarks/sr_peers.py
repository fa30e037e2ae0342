"""edgeconv SR models beside the tools users run today, at x2, x3 or x4: quality under every LR protocol, and speed.

Contestants at the scale ``--scale`` (2, 3 or 4), all on the same HR images and the same LR images:

- ``bicubic``: Pillow ``BICUBIC`` upscale of the LR image (the floor every SR model must beat);
- OpenCV ``dnn_superres`` with the graphs of that scale in ``shared/peers/opencv_dnn_superres`` (FSRCNN,
  FSRCNN-small, ESPCN ``*_x{scale}.pb``; ``DnnSuperResImpl.upsample`` on BGR uint8, OpenCV threads =
  ``--threads``). They need OpenCV 4.x (5.x has no TensorFlow importer): a graph that is missing or does not
  load stops the benchmark with a non-zero exit naming the file and the OpenCV version;
- edgeconv ONNX models of that scale, once per back end (ONNX Runtime, OpenVINO), through
  ``edgeconv.runtime.backends.registry.create_backend``: ``--models``, else every shipped
  ``runtime/shipped/sr_x{scale}_{name}.onnx`` (ONNX Runtime loads its ``.ort.onnx`` form). Only x2 models
  ship today, so at x3 and x4 the table is bicubic and the peers until a model of that scale is shipped.

Quality (the standard protocol, ``edgeconv.runtime.validation.sr_eval``): for every protocol of
``edgeconv.runtime.imaging.degradations.PROTOCOLS`` the HR and LR images come from the library's
``sr_image_pairs`` (whole images read keeping grey, cropped to a multiple of the scale, LR by ``degrade``),
the very images ``edgeconv validate`` scores; PSNR-Y and SSIM-Y (border = scale) come from the project's one
scorer (``score_sr``; edgeconv models through ``sr_scores``, as ``edgeconv validate`` runs and scores them).
"Worst gain" is a contestant's smallest PSNR-Y gain over bicubic across protocols: what a user can count on
when they do not know how their LR image was made.

Speed: median ms of one upscale of a 640x360 (W x H) uint8 RGB image to a (640 s)x(360 s) uint8 image
(what ``upsample`` does for the OpenCV peers; for edgeconv models ``to_input`` -> back end ->
``to_image``, with the back end's own model-only time in the JSON too), after warm-up, ``--runs``
timed calls each, every contestant back to back in this one process. Pillow's resize is single-threaded.

Run::

    python benchmarks/sr_peers.py --threads 2 --runs 20              # x2: the shipped x2 models + peers
    python benchmarks/sr_peers.py --scale 3                          # x3: bicubic + the x3 peers
    python benchmarks/sr_peers.py --models /tmp/jitter_sr_x2.onnx    # an exported model instead

Writes ``benchmarks/results/sr_peers.json`` and ``sr_peers.png`` at x2, ``sr_peers_x{scale}.json`` and
``sr_peers_x{scale}.png`` at x3 and x4 (every number, the machine record; PSNR-Y vs ms under bicubic and
cubic-aliased LR), and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
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
from edgeconv.runtime.imaging.degradations import PROTOCOLS
from edgeconv.runtime.model_facts import ModelFacts, read_model_facts
from edgeconv.runtime.profiling.device_facts import machine_record
from edgeconv.runtime.shipped_models import SHIPPED_DIR, for_onnxruntime
from edgeconv.runtime.validation.sr_eval import (
    SRImagePair,
    SRProtocol,
    default_images,
    image_label,
    sr_image_pairs,
    sr_scores,
    sr_validation_pairs,
)
from edgeconv.runtime.validation.sr_metrics import score_sr

RESULTS = Path(__file__).parent / "results"
SCALES = (2, 3, 4)
MAX_IMAGES = 32
TIMING_WH = (640, 360)
WARMUP = 5
EDGECONV_BACKENDS = ("onnxruntime", "openvino")
PLOT_PROTOCOLS = ("bicubic", "cubic-aliased")
# (label = graph file stem before _x{scale}.pb, dnn_superres algorithm name); see
# shared/peers/opencv_dnn_superres/SOURCES.md
OPENCV_PEERS = (("FSRCNN", "fsrcnn"), ("FSRCNN-small", "fsrcnn"), ("ESPCN", "espcn"))
OPENCV_NOTE = ("the dnn_superres graphs need OpenCV 4.x with contrib (5.x has no TensorFlow importer): "
               "pip install 'opencv-contrib-python-headless>=4.8,<5'")

Upscale = Callable[[np.ndarray], np.ndarray]


@dataclass
class Contestant:
    """Something that upscales by the benchmark's scale s. Peers give ``upscale`` (uint8 RGB (h, w, 3) -> float
    RGB in [0, 1], (s h, s w, 3)); edgeconv models give ``backend`` (scored through ``score_output``)."""

    name: str
    runtime: str
    kind: str  # "baseline" | "opencv-dnn" | "edgeconv"
    source: str
    upscale: Upscale | None = None
    backend: Backend | None = None
    results: dict[str, object] = field(default_factory=dict)


# ---------------------------------------------------------------- images


def timing_image() -> np.ndarray:
    """A fixed 640x360 (W x H) uint8 RGB image: the speed input of every contestant."""
    width, height = TIMING_WH
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


# ---------------------------------------------------------------- contestants


def bicubic_upscaler(scale: int) -> Upscale:
    """Pillow bicubic by ``scale``: uint8 RGB (h, w, 3) -> float RGB (s h, s w, 3) in [0, 1]."""

    def upscale(lr_rgb: np.ndarray) -> np.ndarray:
        h, w = lr_rgb.shape[:2]
        return np.asarray(Image.fromarray(lr_rgb).resize((w * scale, h * scale), Image.BICUBIC)) / 255.0

    return upscale


def opencv_upscale(graph: Path, algorithm: str, scale: int) -> Upscale:
    """An OpenCV ``dnn_superres`` model as uint8 RGB -> float RGB in [0, 1] (BGR uint8 inside).

    A graph that does not load, or loads but does not run or returns the wrong size, raises ``EdgeConvError``
    naming the file and the OpenCV version (OpenCV 5 cannot read these TensorFlow graphs).
    """
    probe = np.zeros((16, 16, 3), np.uint8)
    try:
        sr = cv2.dnn_superres.DnnSuperResImpl_create()
        sr.readModel(str(graph))
        sr.setModel(algorithm, scale)

        def upscale(lr_rgb: np.ndarray) -> np.ndarray:
            bgr = cv2.cvtColor(np.ascontiguousarray(lr_rgb), cv2.COLOR_RGB2BGR)
            return cv2.cvtColor(sr.upsample(bgr), cv2.COLOR_BGR2RGB) / 255.0

        shape = upscale(probe).shape  # a graph that loads but cannot run fails here, at load
    except (cv2.error, AttributeError) as exc:  # AttributeError: an OpenCV build without dnn_superres (not contrib)
        why = [line.strip() for line in str(exc).splitlines() if line.strip()]
        note = OPENCV_NOTE if not cv2.__version__.startswith("4.") else (
            "expected a dnn_superres TensorFlow graph (shared/peers/opencv_dnn_superres/SOURCES.md)")
        raise EdgeConvError(str(graph), f"does not load in OpenCV {cv2.__version__}: {why[-1] if why else exc!r}",
                            note) from exc
    if shape != (16 * scale, 16 * scale, 3):
        raise EdgeConvError(str(graph), f"upscales 16x16 to {shape[1]}x{shape[0]} in OpenCV {cv2.__version__}, "
                            f"not x{scale}", f"give the graph of this scale (*_x{scale}.pb)")
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


def peer_contestants(folder: Path | None, scale: int) -> list[Contestant]:
    """Bicubic and every OpenCV peer of ``scale``; a peer graph that is missing or does not load raises
    ``EdgeConvError`` (never a silent skip: a table without the peers would read as a win)."""
    contestants = [Contestant("bicubic", "Pillow", "baseline", "PIL.Image.BICUBIC", upscale=bicubic_upscaler(scale))]
    for label, algorithm in OPENCV_PEERS:
        graph = (folder or Path("shared/peers/opencv_dnn_superres")) / f"{label}_x{scale}.pb"
        if not graph.is_file():
            raise EdgeConvError(str(graph), "not found", "give the folder of the dnn_superres graphs: --peers DIR")
        upscale = opencv_upscale(graph, algorithm, scale)
        contestants.append(Contestant(label, "opencv-dnn", "opencv-dnn", str(graph), upscale=upscale))
    return contestants


def shipped_models(scale: int) -> list[Path]:
    """The shipped edgeconv models of ``scale``: ``runtime/shipped/sr_x{scale}_{name}.onnx``, the generic RGB form
    (not ``NAME.ort.onnx``, the ONNX Runtime form, nor ``NAME.y.onnx``, the Y-plane form for video)."""
    pattern = re.compile(rf"sr_x{scale}_[A-Za-z0-9_-]+\.onnx")
    return sorted(p for p in SHIPPED_DIR.glob(f"sr_x{scale}_*.onnx") if pattern.fullmatch(p.name))


def model_file(path: Path, backend_name: str, shipped: bool) -> Path:
    """The file ``backend_name`` loads: a shipped model's ``.ort.onnx`` form for ONNX Runtime, else ``path``."""
    ort_form = for_onnxruntime(path)
    return ort_form if shipped and backend_name == "onnxruntime" and ort_form.is_file() else path


def edgeconv_contestants(models: list[Path], scale: int, threads: int, skipped: list[dict[str, str]],
                         shipped: bool = False) -> list[Contestant]:
    """Each model file on each usable edgeconv back end; an SR model of ``scale`` is required."""
    contestants = []
    for path in models:
        facts = read_model_facts(path)
        if facts.task != "sr" or facts.scale != scale:
            raise UsageError(str(path), f"is not an x{scale} SR model (task {facts.task!r}, scale {facts.scale})",
                             f"export an x{scale} SR checkpoint with edgeconv export, or pass --scale {facts.scale}")
        name = f"{path.stem} ({facts.model})"
        for backend_name in EDGECONV_BACKENDS:
            usable, why = BACKENDS[backend_name].status()
            if not usable:
                skipped.append({"name": name, "runtime": backend_name, "reason": why})
                continue
            file = model_file(path, backend_name, shipped)
            try:
                backend = create_backend(backend_name, file, BackendOptions(threads=threads))
            except EdgeConvError as exc:
                skipped.append({"name": name, "runtime": backend_name, "reason": exc.one_line()})
                continue
            contestants.append(Contestant(name, backend_name, "edgeconv", str(file), backend=backend))
    return contestants


# ---------------------------------------------------------------- quality


def mean_scores(per_image: dict[str, tuple[float, float]]) -> dict[str, object]:
    """Means (as ``sr_quality`` takes them) plus the per-image numbers."""
    scores = list(per_image.values())
    return {"psnr_y": float(np.mean([s[0] for s in scores])), "ssim_y": float(np.mean([s[1] for s in scores])),
            "per_image": {name: {"psnr_y": p, "ssim_y": s} for name, (p, s) in per_image.items()}}


def score_peer(upscale: Upscale, images: list[SRImagePair], scale: int) -> dict[str, object]:
    """PSNR-Y / SSIM-Y (border = ``scale``) of a peer on ``images``: ``score_sr`` of its float RGB output."""
    return mean_scores({im.name: score_sr(upscale(im.lr), im.hr, scale) for im in images})


def score_edgeconv(backend: Backend, folder: Path, protocol: str) -> dict[str, object]:
    """PSNR-Y / SSIM-Y of an edgeconv model as ``edgeconv validate`` scores it (``sr_validation_pairs`` made by
    ``sr_image_pairs``, the peers' very images; ``sr_scores``)."""
    facts: ModelFacts = backend.facts
    pairs = sr_validation_pairs(folder, facts, MAX_IMAGES, degradation=protocol)
    return mean_scores(dict(zip([p.name for p in pairs], sr_scores(backend.run, pairs, facts), strict=True)))


def same_lr_as(protocol: str, images: list[SRImagePair], seen: dict[str, list[SRImagePair]]) -> str | None:
    """The earlier protocol whose LR images equal these pixel for pixel (at odd scales the aliased cubic and
    linear downscales both sample HR pixel ``s*i + (s-1)/2`` exactly: one LR set in two columns), or None."""
    for other, earlier in seen.items():
        if all(np.array_equal(a.lr, b.lr) for a, b in zip(images, earlier, strict=True)):
            return other
    return None


def score_all(contestants: list[Contestant], folder: Path, scale: int) -> tuple[str, dict[str, str]]:
    """Fill ``results["quality"][protocol]`` of every contestant for every protocol; returns what was scored
    (``SRProtocol.describe``, LR named per column) and the protocols whose LR equals an earlier one's."""
    seen: dict[str, list[SRImagePair]] = {}
    duplicates: dict[str, str] = {}
    for protocol in PROTOCOLS:
        images = sr_image_pairs(folder, SRProtocol(scale, protocol), MAX_IMAGES)
        if (same := same_lr_as(protocol, images, seen)) is not None:
            duplicates[protocol] = same
        seen[protocol] = images
        for c in contestants:
            quality = c.results.setdefault("quality", {})
            if c.backend is not None:
                quality[protocol] = score_edgeconv(c.backend, folder, protocol)
            else:
                quality[protocol] = score_peer(c.upscale, images, scale)
        print(f"scored {protocol}", file=sys.stderr, flush=True)
    return SRProtocol(scale).describe(image_label(folder), len(images), with_lr=False), duplicates


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
    """One uint8 RGB 640x360 -> uint8 RGB (640 s)x(360 s) upscale by ``c``, as a call."""
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


def plot_png(contestants: list[Contestant], title: str, scale: int) -> bytes:
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
        ax.set_xlabel(f"ms per x{scale} upscale, 640x360 -> {640 * scale}x{360 * scale} (log)")
        ax.set_ylabel(f"PSNR-Y (dB), LR by {protocol}")
        ax.set_title(f"LR made by {protocol}")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return buffer.getvalue()


def record(contestants: list[Contestant], skipped: list[dict[str, str]], args: argparse.Namespace,
           images_note: str, load: dict[str, list[float]], scored_on: str,
           same_lr: dict[str, str]) -> dict[str, object]:
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
        "scale": args.scale,
        "protocols": list(PROTOCOLS),
        "scored_on": scored_on,
        "same_lr_as": same_lr,
        "scoring": f"whole images cropped to a multiple of {args.scale}, PSNR-Y / SSIM-Y with border {args.scale}",
        "timing": f"{TIMING_WH[0]}x{TIMING_WH[1]} (W x H) uint8 RGB -> x{args.scale} uint8 RGB, median of runs",
        "load_average_1_5_15": load,
        "versions": {"opencv": cv2.__version__},
        "contestants": [{"name": c.name, "runtime": c.runtime, "kind": c.kind, "source": c.source, **c.results}
                        for c in contestants],
        "skipped": skipped,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Example: python benchmarks/sr_peers.py --scale 3 --models a.onnx b.onnx")
    parser.add_argument("--scale", type=int, choices=SCALES, default=2, help="the SR factor (default 2)")
    parser.add_argument("--models", type=Path, nargs="*", default=None,
                        help="edgeconv SR ONNX files of --scale (default: the shipped sr_x{scale}_*.onnx; "
                             "--models with no file: none)")
    parser.add_argument("--images", type=Path, default=None, help="folder of HR images (default: Set5)")
    parser.add_argument("--peers", type=Path, default=None,
                        help="folder of the OpenCV *_x{scale}.pb graphs (default: shared/peers/opencv_dnn_superres)")
    parser.add_argument("--threads", type=int, default=2, help="threads of every runtime (Pillow uses one)")
    parser.add_argument("--runs", type=int, default=20, help="timed calls per contestant after warm-up")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON with every number (default: results/sr_peers.json at x2, sr_peers_x{scale}.json)")
    parser.add_argument("--plot", type=Path, default=None, help="PNG: PSNR-Y vs ms (default: --out's name, .png)")
    parser.add_argument("--note", default="", help="what else ran on the machine, stored in the JSON")
    args = parser.parse_args(argv)
    stem = "sr_peers" if args.scale == 2 else f"sr_peers_x{args.scale}"
    args.out = args.out or RESULTS / f"{stem}.json"
    args.plot = args.plot or args.out.with_suffix(".png")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.runs < 1 or args.threads < 1:
        raise SystemExit("sr_peers.py | --runs and --threads must be >= 1.")
    images_note = f"--images {args.images}"
    if args.images is None:
        args.images, images_note = default_images("--images", "Set5")
    cv2.setNumThreads(args.threads)
    skipped: list[dict[str, str]] = []
    contestants = peer_contestants(peer_folder(args.peers), args.scale)
    if args.models is None:
        contestants += edgeconv_contestants(shipped_models(args.scale), args.scale, args.threads, skipped, shipped=True)
    else:
        contestants += edgeconv_contestants(args.models, args.scale, args.threads, skipped)
    if not any(c.kind == "edgeconv" for c in contestants):
        print(f"no edgeconv x{args.scale} model (none shipped as {SHIPPED_DIR}/sr_x{args.scale}_NAME.onnx, "
              "none given with --models): bicubic and the peers only", file=sys.stderr)
    scored_on, same_lr = score_all(contestants, args.images, args.scale)
    add_gains(contestants)
    load = {"before_timing": list(os.getloadavg())}
    time_all(contestants, args.runs)
    load["after_timing"] = list(os.getloadavg())
    print(f"PSNR-Y on {scored_on}; one column per LR protocol")
    print(table(contestants))
    for protocol, same in same_lr.items():
        print(f"{protocol} LR = {same} LR at x{args.scale}, pixel for pixel (one degradation, two columns)")
    for s in skipped:
        print(f"skipped {s['name']} [{s['runtime']}]: {s['reason']}")
    for path in (args.out, args.plot):
        path.parent.mkdir(parents=True, exist_ok=True)
    document = record(contestants, skipped, args, images_note, load, scored_on, same_lr)
    write_atomic(args.out, lambda f: f.write((json.dumps(document, indent=2) + "\n").encode()))
    title = (f"x{args.scale} SR on {scored_on}: PSNR-Y vs speed, {args.threads} threads, "
             f"{document['machine']['cpu']}")
    write_bytes_atomic(args.plot, plot_png(contestants, title, args.scale))
    print(f"wrote {args.out} and {args.plot}")


if __name__ == "__main__":
    try:
        main()
    except EdgeConvError as exc:
        raise SystemExit(exc.one_line()) from None
