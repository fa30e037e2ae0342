"""Tiled super-resolution with seams that do not show: the same pixels as whole-image inference.

Each output pixel of a conv net depends on the input pixels within its receptive field, radius
``r`` (LR pixels). Cutting the input into tiles that overlap their neighbours by ``r`` and
keeping only each tile's core means every kept pixel saw exactly the inputs it sees in the whole
image (at true image borders the tile border *is* the image border, padded the same way). The
radius is measured, not declared: an impulse at the centre of a probe input and the extent of
the output change, on any back end, no gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

Run = Callable[[np.ndarray], np.ndarray]


def receptive_radius(run: Run, scale: int, probe: int = 33, max_probe: int = 1025, seed: int = 0) -> int:
    """Receptive-field radius in input pixels of an SR model, measured with an impulse.

    Runs a random probe image and the same image with its centre pixel changed; the changed
    output pixels, mapped back by ``scale``, give the radius. The probe grows until the change
    stays clear of its border.

    Args:
        run: the model, (1, 3, h, w) float32 in [0, 1] -> (1, C, scale * h, scale * w).
        scale: the model's upscaling factor.
        probe: the first probe's side (odd).
        max_probe: the largest probe's side; its radius is returned even if the change reaches its border.
        seed: seeds the random probe.

    Returns:
        The radius r >= 0 in LR pixels: output pixels depend on inputs at most r away.
    """
    rng = np.random.default_rng(seed)
    while True:
        base = rng.random((1, 3, probe, probe), dtype=np.float32)
        poked = base.copy()
        c = probe // 2
        poked[:, :, c, c] = 1.0 - poked[:, :, c, c] + 0.25
        diff = np.abs(run(poked) - run(base)).max(axis=(0, 1))
        ys, xs = np.nonzero(diff > 1e-7)
        if ys.size == 0:
            return 0
        # output pixel o covers input position o // scale; distance from the poked pixel c
        radius = int(max(np.abs(ys // scale - c).max(), np.abs(xs // scale - c).max()))
        if radius < c - 1 or probe >= max_probe:
            return radius
        probe = probe * 2 - 1


def tile_spans(size: int, tile: int, overlap: int) -> Iterator[tuple[int, int, int, int]]:
    """The tiles along one axis: cores that cover it, inputs grown by ``overlap`` (clipped to the axis).

    Args:
        size: the axis length in input pixels.
        tile: core length (the last core may be shorter).
        overlap: context added on each side (the receptive radius).

    Yields:
        ``(core_start, core_end, in_start, in_end)`` in input pixels.
    """
    for start in range(0, size, tile):
        end = min(start + tile, size)
        yield start, end, max(0, start - overlap), min(size, end + overlap)


def run_tiles(
    run: Run, h: int, w: int, scale: int, tile: int, overlap: int,
    read: Callable[[int, int, int, int], np.ndarray],
    write: Callable[[int, int, int, int, np.ndarray], None],
    on_tile: Callable[[int, int], None] | None = None,
) -> None:
    """Run ``run`` tile by tile over an H x W input; nothing is held whole.

    Memory stays at a few tiles plus what the caller keeps; each written core equals the same box of
    whole-image inference when ``overlap`` >= the receptive radius.

    Args:
        run: the model, (1, C, h, w) float32 -> (1, C', scale * h, scale * w).
        h: input height.
        w: input width.
        scale: the model's upscaling factor.
        tile: core side in input pixels, >= 1.
        overlap: context around each core in input pixels (``receptive_radius``).
        read: ``read(y0, y1, x0, x1)`` returns the (1, C, y1 - y0, x1 - x0) input window.
        write: ``write(y0, y1, x0, x1, pixels)`` takes the output core's HR box and its (1, C', y1 - y0, x1 - x0)
            pixels.
        on_tile: called with (tiles done, tiles in all) after each tile.

    Raises:
        ValueError: ``tile < 1`` (callers check ``--tile`` first).
    """
    if tile < 1:
        raise ValueError(f"tile must be >= 1, got {tile}")
    spans_y, spans_x = list(tile_spans(h, tile, overlap)), list(tile_spans(w, tile, overlap))
    total, done = len(spans_y) * len(spans_x), 0
    for y0, y1, iy0, iy1 in spans_y:
        for x0, x1, ix0, ix1 in spans_x:
            y = run(np.ascontiguousarray(read(iy0, iy1, ix0, ix1)))
            oy, ox = (y0 - iy0) * scale, (x0 - ix0) * scale
            core = y[:, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale]
            write(y0 * scale, y1 * scale, x0 * scale, x1 * scale, core)
            done += 1
            if on_tile is not None:
                on_tile(done, total)


def tile_overlap(run: Run, scale: int) -> int:
    """The overlap tiles of this model get: its measured receptive radius plus one LR pixel of margin.

    The radius comes from one random probe (``receptive_radius``); the margin covers a dependency that probe
    could hide (an activation that happens to be flat there). The shipped x2 models: radius 4 (four 3x3
    convolutions; the bicubic skip reaches 2), overlap 5 - what ``edgeconv upscale`` prints.

    Args:
        run: the model, (1, 3, h, w) float32 -> (1, C, scale * h, scale * w).
        scale: the model's upscaling factor.

    Returns:
        The overlap in LR pixels.
    """
    return receptive_radius(run, scale) + 1


def tiled_run(run: Run, scale: int, tile: int) -> Run:
    """``run`` for whole images of any size: an input with a side over ``tile`` runs in tiles, the same pixels.

    The overlap (``tile_overlap``) is measured once, at the first input that needs tiles; smaller inputs run
    whole. The output is held whole (the caller scores it), the model never sees more than a tile.

    Args:
        run: the model, (1, C, h, w) float32 -> (1, C', scale * h, scale * w).
        scale: the model's upscaling factor.
        tile: the largest input side run whole (LR pixels), >= 1.

    Returns:
        input -> output, as ``run`` on the whole input would give (within float rounding).
    """
    overlap: list[int] = []

    def tiled(x: np.ndarray) -> np.ndarray:
        n, _, h, w = x.shape
        if max(h, w) <= tile:
            return run(x)
        if not overlap:
            overlap.append(tile_overlap(run, scale))
        out: list[np.ndarray] = []

        def write(y0: int, y1: int, x0: int, x1: int, core: np.ndarray) -> None:
            if not out:
                out.append(np.empty((n, core.shape[1], h * scale, w * scale), dtype=core.dtype))
            out[0][:, :, y0:y1, x0:x1] = core

        run_tiles(run, h, w, scale, tile, overlap[0], lambda y0, y1, x0, x1: x[:, :, y0:y1, x0:x1], write)
        return out[0]

    return tiled
