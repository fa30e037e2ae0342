"""ERF heat maps: one PNG per model and a grid to compare variants, all on one colour scale.

Every panel shows the normalised map A in [0, 1] (``erf_measures.normalised_erf``) with the same colour map
and limits, on a log colour scale from ``FIELD_FLOOR`` to 1 (the fall-off of a field spans decades: on a
linear scale a small field is one bright pixel in a black square). Every panel is cropped to the field - the
bounding box of the pixels with A >= ``FIELD_FLOOR``; in a grid, the box holding every panel's field, so sizes
compare by eye - and its axes count input pixels from the centre (the output pixel's place, marked +), which
is the map's scale; the colour bar is the brightness scale. The title carries r(50 %), r(99 %), anisotropy
and angular spread.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from edgeconv.errors import MissingExtraError
from edgeconv.runtime.atomic_write import write_atomic
from edgeconv.runtime.erf.measures import ErfMeasures, normalised_erf

COLOUR_MAP = "inferno"
FIELD_FLOOR = 1e-3  # A below this (0.1 % of the peak) is outside the field: the crop and the colour scale's floor


def _pyplot():  # noqa: ANN202 - matplotlib's module
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingExtraError("matplotlib", "plot", "ERF heat maps") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(name: str, m: ErfMeasures) -> str:
    return (
        f"{name}\nr50 {100 * m.r50:.2f}%  r99 {100 * m.r99:.1f}%\n"
        f"aniso {m.anisotropy:.2f}  spread {m.angular_spread:.2f}"
    )


def field_box(a: np.ndarray, floor: float = FIELD_FLOOR) -> tuple[int, int, int, int]:
    """The bounding box of an ERF's field: the pixels of the normalised map at or above ``floor``.

    Args:
        a: (H, W) normalised map in [0, 1] (``normalised_erf``).
        floor: the smallest value inside the field.

    Returns:
        ``(top, bottom, left, right)``, bottom and right exclusive; the whole map when no pixel reaches ``floor``.
    """
    rows, cols = np.nonzero(a >= floor)
    if rows.size == 0:
        return 0, a.shape[0], 0, a.shape[1]
    return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return min(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes), max(b[3] for b in boxes)


def erf_grid_figure(maps: dict[str, tuple[np.ndarray, ErfMeasures]], columns: int = 4):  # noqa: ANN201 - a Figure
    """One panel per named contribution map, each cropped to the same box (every panel's field), shared log colour
    scale and colour bar, axes in input pixels from the centre.

    Args:
        maps: ``{panel title: ((H, W) raw map, its measures)}``, all maps of one size.
        columns: panels per row at most.

    Returns:
        The figure (``plot_erf_grid`` saves it).

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    from matplotlib.colors import LogNorm

    plt = _pyplot()
    n = len(maps)
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    # square panels: each row is as tall as a panel is wide, plus its three-line title and its axis label
    fig, axes = plt.subplots(rows, cols, figsize=(2.7 * cols + 1.1, 3.9 * rows), squeeze=False, layout="constrained")
    normalised = {name: normalised_erf(contributions) for name, (contributions, _) in maps.items()}
    top, bottom, left, right = _union([field_box(a) for a in normalised.values()] or [(0, 1, 0, 1)])
    cmap = plt.get_cmap(COLOUR_MAP).with_extremes(bad="black", under="black")
    image = None
    for ax, (name, (_, measures)) in zip(axes.flat, maps.items(), strict=False):
        a = normalised[name]
        cy, cx = a.shape[0] // 2, a.shape[1] // 2
        # x = column - cx, y = cy - row (y up), each pixel centred on its integer offset
        extent = (left - cx - 0.5, right - 1 - cx + 0.5, cy - bottom + 0.5, cy - top + 0.5)
        image = ax.imshow(np.ma.masked_less_equal(a[top:bottom, left:right], 0.0), cmap=cmap,
                          norm=LogNorm(vmin=FIELD_FLOOR, vmax=1.0), extent=extent, interpolation="nearest")
        ax.plot([0], [0], marker="+", color="cyan", markersize=6, markeredgewidth=0.8)
        ax.set_title(_title(name, measures), fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_xlabel("input px from the centre", fontsize=6)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if image is not None:
        bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8)
        bar.set_label("normalised ERF A = log10(P+1)/max", fontsize=7)
        bar.ax.tick_params(labelsize=7)
    # constrained layout with square (fixed-aspect) panels settles on its second pass: run the first one here, so a
    # figure saved right away has no title or label past its edges
    fig.draw_without_rendering()
    return fig


def plot_erf_grid(maps: dict[str, tuple[np.ndarray, ErfMeasures]], out: Path, columns: int = 4) -> None:
    """Write ``erf_grid_figure(maps, columns)`` as a PNG.

    Args:
        maps: ``{panel title: ((H, W) raw map, its measures)}``.
        out: the PNG file.
        columns: panels per row at most.

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    plt = _pyplot()
    fig = erf_grid_figure(maps, columns)
    write_atomic(out, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def plot_erf_map(name: str, contributions: np.ndarray, measures: ErfMeasures, out: Path) -> None:
    """Write a single model's heat map (the same scale as the grid).

    Args:
        name: the panel title.
        contributions: (H, W) raw map.
        measures: its measures.
        out: the PNG file.

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    plot_erf_grid({name: (contributions, measures)}, out, columns=1)
