"""A PNG quicklook of a class map with a legend of the classes present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from cropcube.classes import ClassTable
from cropcube.io import atomic_output

MAX_LEGEND_ENTRIES = 20


def write_quicklook(
    path: str | Path, classes: npt.NDArray[np.uint8], table: ClassTable, title: str = "", dpi: int = 100
) -> Path:
    """:func:`render_quicklook` to ``path``, atomically."""
    with atomic_output(path) as tmp:
        render_quicklook(tmp, classes, table, title, dpi)
    return Path(path)


def render_quicklook(
    path: str | Path, classes: npt.NDArray[np.uint8], table: ClassTable, title: str = "", dpi: int = 100
) -> Path:
    """Write a palette rendering of ``classes`` (rows, cols) with a legend as a PNG to ``path``.

    The legend lists the classes present, most frequent first (at most 20, the rest summed as
    "other classes"); class 0 (no data) is drawn white.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    lut = np.full((256, 3), 255, dtype=np.uint8)
    for c in table:
        lut[c.index] = c.rgb
    rgb = lut[classes]
    counts = np.bincount(classes.ravel(), minlength=256)
    present = [int(i) for i in np.argsort(-counts) if i > 0 and counts[i] > 0]
    total = max(int(counts[1:].sum()), 1)
    handles = []
    for i in present[:MAX_LEGEND_ENTRIES]:
        c = table.by_index(i)
        handles.append(
            Patch(
                color=c.color,
                label=f"{i} {c.name_en} ({100 * counts[i] / total:.1f} %)",
            )
        )
    if len(present) > MAX_LEGEND_ENTRIES:
        rest = sum(int(counts[i]) for i in present[MAX_LEGEND_ENTRIES:])
        handles.append(
            Patch(
                color="0.8",
                label=f"{len(present) - MAX_LEGEND_ENTRIES} other classes ({100 * rest / total:.1f} %)",
            )
        )
    h, w = classes.shape
    fig_w = min(max(w / dpi, 3.0), 12.0) + 3.5
    fig_h = min(max(h / dpi, 3.0), 12.0)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=dpi)
    try:
        ax.imshow(rgb, interpolation="nearest")
        ax.set_axis_off()
        if title:
            ax.set_title(title, fontsize=9)
        if handles:
            ax.legend(
                handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False
            )
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return Path(path)
