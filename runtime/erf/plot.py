"""ERF heat maps: one PNG per model and a grid to compare variants, all on one colour scale.

Every panel shows the normalised map A in [0, 1] (``erf_measures.normalised_erf``) with the same
colour map and limits, so brightness means the same thing in every panel, and the same centre window (1.5 x the widest
r(99 %) square) so sizes compare by eye; the title carries
r(50 %), r(99 %), anisotropy and angular spread.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from edgeconv.errors import MissingExtraError
from edgeconv.runtime.atomic_write import write_atomic
from edgeconv.runtime.erf.measures import ErfMeasures, normalised_erf

COLOUR_MAP = "inferno"


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


def _display_half_side(maps: dict[str, tuple[np.ndarray, ErfMeasures]]) -> int:
    """Half-side of the centre window every panel shows: 1.5 x the largest r(99 %) square, >= 4 px."""
    sides = [math.sqrt(m.r99 * m.height * m.width) for _, m in maps.values()]
    return max(4, math.ceil(0.75 * max(sides, default=0.0)))


def plot_erf_grid(maps: dict[str, tuple[np.ndarray, ErfMeasures]], out: Path, columns: int = 4) -> None:
    """Write one figure, one panel per named contribution map, shared colour scale and colour bar.

    Args:
        maps: ``{panel title: ((H, W) raw map, its measures)}``.
        out: the PNG file.
        columns: panels per row at most.

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    plt = _pyplot()
    n = len(maps)
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols + 0.6, 3.3 * rows), squeeze=False)
    image = None
    half = _display_half_side(maps)
    for ax, (name, (contributions, measures)) in zip(axes.flat, maps.items(), strict=False):
        a = normalised_erf(contributions)
        cy, cx = a.shape[0] // 2, a.shape[1] // 2
        a = a[max(cy - half, 0) : cy + half + 1, max(cx - half, 0) : cx + half + 1]
        image = ax.imshow(a, cmap=COLOUR_MAP, vmin=0.0, vmax=1.0)
        ax.set_title(_title(name, measures), fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="normalised ERF  log10(P+1)/max")
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
