"""How a low-resolution image is made from a high-resolution one: named, reproducible protocols.

Benchmark tables use ``bicubic`` (Pillow's antialiased bicubic: the SR literature's protocol). Real
photos are not made that way, so a model is also scored on, and can be trained on, other protocols:

- ``bicubic``: Pillow bicubic resize (antialiased: the kernel widens with the factor).
- ``cubic-aliased``: what most software does (OpenCV ``INTER_CUBIC``): a 4-tap cubic (a = -0.75) sampled
  at ``(x + 0.5) * s - 0.5``, not widened, so high frequencies alias. The OpenCV ``dnn_superres``
  graphs were trained on it.
- ``bilinear``: 2-tap linear at the same sample points (OpenCV ``INTER_LINEAR``; aliased too).
- ``area``: the mean of each ``s x s`` block, halves rounded up (OpenCV ``INTER_AREA`` at integer factors;
  OpenCV rounds an exact half to even at x4, so there its output is one level lower on those ties).
- ``jpeg``: ``bicubic``, then JPEG at quality 75-95 (85 when scoring).
- ``blur``: Gaussian blur, sigma 0.2-1.5 (1.0 when scoring), then ``bicubic``.
- ``noise``: ``bicubic``, then Gaussian noise, sigma 1-8 of 255 (4 when scoring).
- ``h264``: ``bicubic``, then one H.264 frame (libx264, 4:2:0, CRF 18-32; 23 when scoring), what a streamed
  or archived video's frame looks like. Needs PyAV (``edgeconv[video]``); in a mixture only when named.
- ``mixed`` (training only): one of the above per image, parameters drawn from ``rng``; uniform, or
  weighted as ``mixed:cubic-aliased=3,noise=0.5`` (protocols not named weigh 1, ``h264`` 0; 0 leaves one out).

Every protocol is the same at every integer scale (x2, x3, x4): the HR image is cropped (bottom/right)
to a multiple of the scale first, so an LR pixel always covers the same ``s x s`` HR block; the aliased
resamplers then equal ``cv2.resize`` of the cropped image (within OpenCV's fixed-point rounding: one
8-bit level on a fraction of a percent of pixels at x2 and x4; exact at x3, where the sample points fall
on pixel centres). ``degrade(hr, scale, protocol)`` is deterministic (the scoring parameters); with ``rng``
it draws the training parameters. numpy and Pillow only: validation on a device uses it too.
"""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
from PIL import Image, ImageFilter

from edgeconv.errors import UsageError

PROTOCOLS = ("bicubic", "cubic-aliased", "bilinear", "area", "jpeg", "blur", "noise")
VIDEO_PROTOCOLS = ("h264",)  # need PyAV; weight 0 in a mixture unless named
ALL_PROTOCOLS = PROTOCOLS + VIDEO_PROTOCOLS
SCORING = {"jpeg_quality": 85, "blur_sigma": 1.0, "noise_sigma": 4.0, "h264_crf": 23}


def _resample_axis(img: np.ndarray, out_len: int, scale: int, axis: int, taps: str) -> np.ndarray:
    """Aliased resampling along one axis: source position ``(i + 0.5) * scale - 0.5``, edge pixels replicated."""
    n = img.shape[axis]
    pos = (np.arange(out_len) + 0.5) * scale - 0.5
    base = np.floor(pos).astype(np.int64)
    t = pos - base
    if taps == "cubic":
        a = -0.75
        offsets = np.arange(-1, 3)
        d = np.abs(t[:, None] - offsets[None, :])
        weights = np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                           np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, 0.0))
    else:  # linear
        offsets = np.arange(0, 2)
        weights = np.stack([1 - t, t], axis=1)
    index = np.clip(base[:, None] + offsets[None, :], 0, n - 1)
    moved = np.moveaxis(img, axis, 0)
    out = np.einsum("ok,ok...->o...", weights, moved[index])
    return np.moveaxis(out, 0, axis)


def aliased_downscale(hr: np.ndarray, scale: int, taps: str = "cubic") -> np.ndarray:
    """OpenCV-style ``INTER_CUBIC`` / ``INTER_LINEAR`` downscale (no antialiasing) by the integer ``scale``.

    Args:
        hr: uint8 (H, W, C) or (H, W); cropped bottom/right to a multiple of ``scale`` first (edge pixels of
            the crop are replicated, as ``cv2.resize`` of the cropped image does).
        scale: the integer factor (2, 3, 4, ...).
        taps: ``"cubic"`` (4 taps, a = -0.75) or ``"linear"`` (2 taps).

    Returns:
        uint8 (H // scale, W // scale, ...).
    """
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    x = hr[: h * scale, : w * scale].astype(np.float64)
    x = _resample_axis(_resample_axis(x, h, scale, 0, taps), w, scale, 1, taps)
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)  # half up, as OpenCV's saturate_cast


def _pil(img: np.ndarray) -> Image.Image:
    return Image.fromarray(img)


def _bicubic(hr: np.ndarray, scale: int) -> np.ndarray:
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    return np.asarray(_pil(hr).resize((w, h), Image.BICUBIC))


def mixture_weights(spec: str) -> dict[str, float] | None:
    """The protocol weights of a ``mixed`` spec.

    Args:
        spec: ``mixed`` (image protocols weigh 1, ``h264`` 0) or ``mixed:cubic-aliased=3,noise=0.5`` (those
            weights; protocols not named keep the defaults); anything else is not a mixture.

    Returns:
        ``{protocol: weight >= 0}`` over every protocol, or None when ``spec`` is not a mixture.

    Raises:
        UsageError: a part that is not ``PROTOCOL=WEIGHT`` with a known protocol and a finite weight >= 0, or
            every weight 0.
    """
    if spec != "mixed" and not spec.startswith("mixed:"):
        return None
    weights = dict.fromkeys(PROTOCOLS, 1.0) | dict.fromkeys(VIDEO_PROTOCOLS, 0.0)
    for part in filter(None, spec.removeprefix("mixed").removeprefix(":").split(",")):
        name, _, value = part.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if name.strip() not in weights or weight < 0 or not np.isfinite(weight):
            raise UsageError("--degradation", f"bad mixture part {part!r}",
                             f"write PROTOCOL=WEIGHT (weight >= 0) with PROTOCOL one of {', '.join(ALL_PROTOCOLS)}")
        weights[name.strip()] = weight
    if sum(weights.values()) <= 0:
        raise UsageError("--degradation", f"{spec!r} gives every protocol weight 0")
    return weights


def scored_protocols(spec: str) -> tuple[str, ...]:
    """The protocols a model trained on ``spec`` is scored on.

    Args:
        spec: a protocol name or a ``mixed`` spec.

    Returns:
        Every image protocol (``PROTOCOLS``), plus ``h264`` when ``spec`` is it or gives it a weight in a mixture.
    """
    weights = mixture_weights(spec) or {spec: 1.0}
    return PROTOCOLS + tuple(p for p in VIDEO_PROTOCOLS if weights.get(p, 0.0) > 0)


def check_protocol(spec: str, training: bool = True) -> None:
    """Refuse a protocol name that ``degrade`` does not know.

    Args:
        spec: the ``--degradation`` value.
        training: also accept ``mixed`` specs (they need an ``rng``).

    Raises:
        UsageError: an unknown protocol, naming the known ones.
    """
    if spec in ALL_PROTOCOLS or (training and mixture_weights(spec) is not None):
        return
    expected = ", ".join(ALL_PROTOCOLS) + (", mixed[:PROTOCOL=WEIGHT,...] (training)" if training else "")
    raise UsageError("--degradation", f"unknown protocol {spec!r}", f"expected one of {expected}")


def degrade(
    hr: np.ndarray, scale: int, protocol: str = "bicubic", rng: np.random.Generator | None = None
) -> np.ndarray:
    """The LR image of ``hr`` under ``protocol``: scoring parameters, or training ones drawn from ``rng``.

    Args:
        hr: uint8 (H, W, 3) or (H, W); cropped bottom/right to a multiple of ``scale`` first.
        scale: the integer factor (2, 3, 4).
        protocol: one of ``ALL_PROTOCOLS``, or (with ``rng``) a ``mixed`` spec, which draws the protocol too.
        rng: None: the fixed scoring parameters (deterministic); a generator: training parameters drawn from it.

    Returns:
        uint8 (H // scale, W // scale, ...) with ``hr``'s channels.

    Raises:
        UsageError: an unknown protocol, a mixture without ``rng``, or ``h264`` without PyAV.
    """
    check_protocol(protocol, training=rng is not None)
    hr = hr[: hr.shape[0] - hr.shape[0] % scale, : hr.shape[1] - hr.shape[1] % scale]
    weights = mixture_weights(protocol)
    if weights is not None:
        names = PROTOCOLS if all(weights[v] == 0 for v in VIDEO_PROTOCOLS) else ALL_PROTOCOLS
        p = np.asarray([weights[name] for name in names], np.float64)
        if np.all(p == p[0]):  # plain "mixed": the draw earlier runs made, so they reproduce
            protocol = names[int(rng.integers(len(names)))]
        else:
            protocol = names[int(rng.choice(len(names), p=p / p.sum()))]
    if protocol == "bicubic":
        return _bicubic(hr, scale)
    if protocol == "cubic-aliased":
        return aliased_downscale(hr, scale, "cubic")
    if protocol == "bilinear":
        return aliased_downscale(hr, scale, "linear")
    if protocol == "area":
        h, w = hr.shape[0] // scale, hr.shape[1] // scale
        blocks = hr.astype(np.float64).reshape(h, scale, w, scale, *hr.shape[2:])
        return np.clip(np.floor(blocks.mean(axis=(1, 3)) + 0.5), 0, 255).astype(np.uint8)
    if protocol == "jpeg":
        quality = int(rng.integers(75, 96)) if rng is not None else SCORING["jpeg_quality"]
        buffer = io.BytesIO()
        _pil(_bicubic(hr, scale)).save(buffer, "JPEG", quality=quality)
        return np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    if protocol == "h264":
        crf = int(rng.integers(18, 33)) if rng is not None else SCORING["h264_crf"]
        return h264_frame(_bicubic(hr, scale), crf)
    if protocol == "blur":
        sigma = float(rng.uniform(0.2, 1.5)) if rng is not None else SCORING["blur_sigma"]
        return _bicubic(soften(hr, sigma), scale)
    sigma = float(rng.uniform(1.0, 8.0)) if rng is not None else SCORING["noise_sigma"]  # noise
    noise_rng = rng if rng is not None else np.random.default_rng(0)
    lr = _bicubic(hr, scale).astype(np.float64)
    return np.clip(np.round(lr + noise_rng.normal(0.0, sigma, lr.shape)), 0, 255).astype(np.uint8)


def soften(hr: np.ndarray, sigma: float) -> np.ndarray:
    """``hr`` Gaussian-blurred (uint8, same shape): soft content such as video frames, as a ground truth.

    Unlike the ``blur`` protocol (a sharp original, a blurred LR), the soft image is the target too: a model
    trained on both learns that a soft LR need not hide detail to restore.
    """
    return np.asarray(_pil(hr).filter(ImageFilter.GaussianBlur(sigma)))


def h264_frame(image: np.ndarray, crf: int) -> np.ndarray:
    """``image`` coded as one H.264 frame (libx264, 4:2:0, ``crf``) and decoded.

    Args:
        image: uint8 (H, W, 3) RGB or (H, W) grey; odd sides are edge-padded for 4:2:0 and cropped back.
        crf: libx264's constant rate factor (18-32 in training, 23 when scoring).

    Returns:
        uint8 array of ``image``'s shape.

    Raises:
        UsageError: PyAV (``edgeconv[video]``) is not installed.
    """
    try:
        import av
    except ImportError as exc:
        raise UsageError("--degradation h264", "needs PyAV", "pip install 'edgeconv[video]'") from exc
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    h, w = rgb.shape[:2]
    even = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = even.shape[1], even.shape[0], "yuv420p"
    codec.time_base, codec.options = Fraction(1, 25), {"crf": str(crf), "preset": "medium", "threads": "1"}
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="rgb24").reformat(format="yuv420p")
    frame.pts = 0
    packets = [*codec.encode(frame), *codec.encode(None)]
    decoder = av.CodecContext.create("h264", "r")
    decoded = [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
    out = decoded[0].to_ndarray(format="rgb24")[:h, :w]
    return out if image.ndim == 3 else np.asarray(Image.fromarray(out).convert("L"))
