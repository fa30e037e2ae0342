"""Impulse ERF: the same contribution map as the gradient ERF, from finite input perturbations.

No gradients, so it works on a deployed model on any back end (ONNX Runtime, OpenVINO,
TensorRT; FP32, FP16 or INT8): for every input pixel p and channel c,
g = (s(x + d e_pc) - s(x - d e_pc)) / 2d with s = sum_c relu(output at its centre pixel), and
P[p] = mean over images of sum_c relu(g). For a piecewise-linear net and small d this equals the
gradient; for INT8, d must span several quantisation steps of the input (0.02 = ~5 of 1/255).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgeconv.errors import UsageError
from edgeconv.runtime.erf.measures import ErfResult, erf_measures
from edgeconv.runtime.imaging.images import image_files, read_image

Run = Callable[[np.ndarray], np.ndarray]


def centre_scores(outputs: np.ndarray) -> np.ndarray:
    """Per batch item: sum over channels of relu(output at its centre pixel).

    Args:
        outputs: (N, C, H, W) model outputs.

    Returns:
        (N,) float64, >= 0.

    Raises:
        UsageError: the output is not 4-D.
    """
    if outputs.ndim != 4:
        raise UsageError(
            "model output", f"has shape {outputs.shape}", "the impulse ERF needs a spatial (N, C, H, W) output"
        )
    centre = outputs[:, :, outputs.shape[2] // 2, outputs.shape[3] // 2]
    return np.maximum(centre, 0).sum(axis=1, dtype=np.float64)


def perturbation_window(height: int, width: int, radius: int | None) -> tuple[int, int, int, int]:
    """The pixels to perturb: all, or a square of ``radius`` round the centre (clipped to the image).

    Args:
        height: H.
        width: W.
        radius: half-side of the square; None: every pixel.

    Returns:
        ``(top, bottom, left, right)``, bottom and right exclusive.
    """
    if radius is None:
        return 0, height, 0, width
    cy, cx = height // 2, width // 2
    return max(cy - radius, 0), min(cy + radius + 1, height), max(cx - radius, 0), min(cx + radius + 1, width)


def impulse_erf(
    run: Run,
    inputs: np.ndarray,
    delta: float = 0.02,
    radius: int | None = None,
    dither: int = 1,
    dither_amplitude: float = 2 / 255,
    batch: int = 128,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Contribution map P of the centre output of ``run``, from central differences (no gradients).

    ``dither`` > 1 averages each slope over that many copies of the image with uniform noise of
    ``dither_amplitude`` before the ReLU: an INT8 model's rounding makes single differences
    noisy, and ReLU would turn that noise into spurious positive mass.

    Args:
        run: model input -> output, NCHW float32 (spatial output).
        inputs: (N, C, H, W) model inputs, N >= 1, as the model expects them (already normalised).
        delta: the perturbation, in model-input units, > 0.
        radius: perturb only a square of this half-side round the centre (the rest count as 0): exact when
            it covers the model's receptive field, and (2r+1)^2 / (H W) of the cost. None: every pixel.
        dither: copies per image, >= 1.
        dither_amplitude: the copies' uniform noise, in model-input units.
        batch: perturbed sites per ``run`` call (each call holds 2 x batch images).
        seed: seeds the dithering noise.
        on_progress: called with (sites done, sites in all).

    Returns:
        (H, W) float64 map, >= 0, mean over images of the relu'd slopes summed over channels.

    Raises:
        UsageError: inputs that are not (N > 0, C, H, W), ``delta <= 0`` or ``dither < 1``.
    """
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 4 or inputs.shape[0] == 0:
        raise UsageError("ERF inputs", f"have shape {inputs.shape}", "expected (N>0, C, H, W)")
    if not delta > 0:
        raise UsageError("--delta", f"is {delta}", "the perturbation must be > 0")
    if dither < 1:
        raise UsageError("--dither", f"is {dither}", "use 1 (no dithering) or more")
    n, channels, height, width = inputs.shape
    top, bottom, left, right = perturbation_window(height, width, radius)
    sites = [(c, y, x) for c in range(channels) for y in range(top, bottom) for x in range(left, right)]
    rng = np.random.default_rng(seed)
    total = np.zeros((height, width), dtype=np.float64)
    done, work = 0, n * dither * len(sites)
    for image in inputs:
        slopes = np.zeros(len(sites), dtype=np.float64)
        for _ in range(dither):
            base = image
            if dither > 1:
                base = image + rng.uniform(-dither_amplitude, dither_amplitude, image.shape).astype(np.float32)
            for start in range(0, len(sites), batch):
                chunk = sites[start : start + batch]
                stack = np.repeat(base[None], 2 * len(chunk), axis=0)
                for i, (c, y, x) in enumerate(chunk):
                    stack[2 * i, c, y, x] += delta
                    stack[2 * i + 1, c, y, x] -= delta
                scores = centre_scores(np.asarray(run(stack)))
                slopes[start : start + len(chunk)] += (scores[0::2] - scores[1::2]) / (2 * delta)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done, work)
        for (_, y, x), g in zip(sites, np.maximum(slopes / dither, 0.0), strict=True):
            total[y, x] += g
    return total / n


def erf_images(source: str | Path | list[Path], size: int, count: int) -> np.ndarray:
    """Centre crops of real images for an ERF, at their native scale (an SR model sees what it upscales).

    An image smaller than ``size`` is refused by name rather than silently resized.

    Args:
        source: a folder of images, or a list of image files.
        size: the crop side S, >= 3.
        count: at most this many images.

    Returns:
        (N, 3, S, S) float32 RGB in [0, 1].

    Raises:
        UsageError: ``size < 3``, no images, or an image smaller than the crop.
    """
    if size < 3:
        raise UsageError("--crop", f"is {size}", "an ERF map needs at least 3 x 3 pixels")
    files = (list(source) if isinstance(source, list) else image_files(source))[:count]
    if not files:
        raise UsageError("ERF images", "none given")
    crops = []
    for path in files:
        img = read_image(path)
        h, w = img.shape[:2]
        if h < size or w < size:
            raise UsageError(str(path), f"is {w}x{h}, smaller than the {size}x{size} ERF crop", "use a smaller --crop")
        top, left = (h - size) // 2, (w - size) // 2
        crops.append(img[top : top + size, left : left + size])
    return np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def impulse_defaults(precision: str) -> tuple[float, int]:
    """(delta, dither) for a model's precision, measured on the default SR model and Set5 crops.

    FP32/FP16 with 0.01 and no dithering: r(t) within 1.2 % of the PyTorch gradient ERF; larger
    steps cross PReLU kinks (0.1: r(50 %) 31 % off). INT8 needs steps of several input quanta
    and dithering: 0.08 x 16 copies kept every measure within 11.3 %; 0.02 undithered was 4x off.

    Args:
        precision: the model's ``fp32``, ``fp16`` or ``int8``.

    Returns:
        ``(delta in [0, 1] image units, dither copies)``.
    """
    return (0.08, 16) if precision == "int8" else (0.01, 1)


def onnx_impulse_erf(
    path: str | Path,
    images: np.ndarray,
    backend: str = "onnxruntime",
    delta: float | None = None,
    dither: int | None = None,
    radius: int | None | str = "auto",
    threads: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
    device: str = "CPU",
) -> ErfResult:
    """Impulse ERF of an exported model on a back end.

    Inputs are prepared from the model's own metadata (range, normalisation).

    Args:
        path: the ONNX model.
        images: (N, 3, S, S) RGB in [0, 1] (``erf_images``).
        backend: the back end to run it in.
        delta: the perturbation in [0, 1] image units; None: ``impulse_defaults``.
        dither: copies per image; None: ``impulse_defaults``.
        radius: ``"auto"`` measures an SR model's receptive radius first and perturbs only inside it; None:
            every pixel; an int: that half-side.
        threads: the back end's threads (0: its default).
        on_progress: called with (sites done, sites in all).
        device: the back end's device (``BackendOptions.device``: CPU, GPU ...).

    Returns:
        ``ErfResult`` (method ``impulse``, target ``output``) with the (S, S) map and its measures.
    """
    from edgeconv.runtime.backends.base import BackendOptions
    from edgeconv.runtime.backends.registry import create_backend
    from edgeconv.runtime.imaging.tiling import receptive_radius
    from edgeconv.runtime.model_facts import read_model_facts

    facts = read_model_facts(path)
    auto_delta, auto_dither = impulse_defaults(facts.precision)
    delta = auto_delta if delta is None else delta
    dither = auto_dither if dither is None else dither
    runner = create_backend(backend, path, BackendOptions(threads=threads, device=device))
    inputs = facts.from_unit(images)
    if radius == "auto":
        radius = receptive_radius(runner.run, facts.scale) + 1 if facts.task == "sr" and facts.scale else None
    # steps are given in [0, 1] image units; the model sees them scaled by its range and normalisation
    unit = facts.unit_step()
    contributions = impulse_erf(
        runner.run, inputs, delta=delta * unit, radius=radius, dither=dither,
        dither_amplitude=2 / 255 * unit, on_progress=on_progress,
    )
    settings = {
        "backend": runner.label, "precision": facts.precision,
        "delta": delta, "dither": dither, "radius": radius, "images": int(len(images)), "size": int(images.shape[-1]),
    }
    return ErfResult(Path(path).name, "impulse", "output", settings, contributions, erf_measures(contributions))
