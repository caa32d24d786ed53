"""A PNG quicklook of a class map with a legend of the classes present, never clipped.

The canvas is sized from the measured text, not guessed: the map is drawn at an integer zoom (or
shrunk to at most :data:`MAX_MAP_PIXELS`), the legend's labels are measured with the renderer that
draws them, and the figure is made as wide as the map plus the widest label and as tall as the map
or the legend, whichever is taller. When the classes present need more lines than the legend may
take (:data:`MIN_LEGEND_PIXELS` or the map's height, whichever is more), the least frequent ones are
folded into one "N other classes" line. Long names wrap at :data:`WRAP_CHARS` characters.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.classes import ClassTable
from cropcube.io import atomic_output

DPI = 100
MAX_MAP_PIXELS = 1024
"""Longest map side on the canvas (a larger map is shrunk; a small one is zoomed by an integer)."""
MIN_MAP_PIXELS = 400
"""A small map is zoomed (by an integer factor) until its longest side reaches this."""
MIN_LEGEND_PIXELS = 360
"""The legend may always take this height, however flat the map."""
WRAP_CHARS = 40
FONT_SIZE = 8.0
MARGIN = 10  # pixels round everything
GAP = 12  # pixels between the map and the legend
SWATCH = 12  # pixels


@dataclass(frozen=True)
class Box:
    """A rectangle in image pixels, origin at the top left."""

    x0: float
    y0: float
    x1: float
    y1: float

    def inside(self, width: int, height: int) -> bool:
        """Whether the box lies within an image of this size."""
        return 0 <= self.x0 <= self.x1 <= width and 0 <= self.y0 <= self.y1 <= height


@dataclass(frozen=True)
class QuicklookLayout:
    """Where :func:`write_quicklook` put things (for checks; the PNG is the product).

    Attributes:
        path: the PNG written.
        size: (width, height) of the PNG in pixels.
        map_box: the map's rectangle.
        text_boxes: the rendered extent of every text (title, legend labels), in drawing order.
        labels: the legend labels as drawn (wrapped lines joined by newlines).
        folded_classes: classes present but folded into the "other classes" line (0 when all shown).
    """

    path: Path
    size: tuple[int, int]
    map_box: Box
    text_boxes: tuple[Box, ...]
    labels: tuple[str, ...]
    folded_classes: int


def _map_zoom(height: int, width: int) -> float:
    longest = max(height, width)
    if longest > MAX_MAP_PIXELS:
        return MAX_MAP_PIXELS / longest
    return float(max(1, MIN_MAP_PIXELS // longest))


_Entry = tuple[int, str, str]  # class index (-1 for "other classes"), colour, label


def _entries(classes: npt.NDArray[np.uint8], table: ClassTable) -> tuple[list[_Entry], list[int], int]:
    """(index, colour, label) of every class present, most frequent first; the counts and their total."""
    counts = np.bincount(classes.ravel(), minlength=256).astype(np.int64)
    total = max(int(counts[1:].sum()), 1)
    present = [int(i) for i in np.argsort(-counts, kind="stable") if i > 0 and counts[i] > 0]
    out = []
    for i in present:
        if i <= table.num_classes:
            c = table.by_index(i)
            color, name = c.color, f"{i} {c.name_en}"
        else:  # a value outside the table: shown, not hidden, so that the map is never misread
            color, name = "#000000", f"{i} (not in the class table)"
        label = textwrap.fill(
            f"{name} ({100 * counts[i] / total:.1f}\u00a0%)", WRAP_CHARS, subsequent_indent="  "
        )
        out.append((i, color, label))
    return out, counts.tolist(), total


def _fold(entries: list[_Entry], max_lines: int, counts: list[int], total: int) -> tuple[list[_Entry], int]:
    """Keep the most frequent entries that fit ``max_lines`` text lines, the rest as one line."""
    lines = [e[2].count("\n") + 1 for e in entries]
    if sum(lines) <= max_lines:
        return entries, 0
    kept, used = [], 1  # one line is kept for the "other classes" entry
    for e, n in zip(entries, lines, strict=True):
        if used + n > max_lines:
            break
        kept.append(e)
        used += n
    folded = len(entries) - len(kept)
    rest = 100 * (total - sum(counts[i] for i, _, _ in kept)) / total
    kept.append((-1, "#cccccc", f"{folded} other classes ({rest:.1f}\u00a0%)"))
    return kept, folded


def write_quicklook(
    path: str | Path, classes: npt.NDArray[np.uint8], table: ClassTable, title: str = ""
) -> QuicklookLayout:
    """:func:`render_quicklook` to ``path``, atomically (the PNG appears only when complete)."""
    with atomic_output(path) as tmp:
        layout = render_quicklook(tmp, classes, table, title)
    return replace(layout, path=Path(path))


def render_quicklook(
    path: str | Path, classes: npt.NDArray[np.uint8], table: ClassTable, title: str = ""
) -> QuicklookLayout:
    """Write a palette rendering of ``classes`` (rows, cols) with a legend as a PNG to ``path``.

    The legend lists the classes present, most frequent first, with their share of the classified
    pixels; class 0 (no parcel / no data) is drawn white and not listed.

    Returns:
        The layout of the image (its size and every text's extent), for checks.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    classes = np.asarray(classes, dtype=np.uint8)
    if classes.ndim != 2 or classes.size == 0:
        raise ValueError(f"quicklook needs a non-empty (rows, cols) class map, got shape {classes.shape}")
    lut = np.full((256, 3), 255, dtype=np.uint8)
    for c in table:
        lut[c.index] = c.rgb
    rgb = lut[classes]
    zoom = _map_zoom(*classes.shape)
    map_w, map_h = max(1, round(classes.shape[1] * zoom)), max(1, round(classes.shape[0] * zoom))

    fig = plt.figure(figsize=(4, 4), dpi=DPI)
    try:
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]

        def measure(text: str, **kw: Any) -> tuple[float, float]:
            t = fig.text(0, 0, text, fontsize=FONT_SIZE, **kw)
            bb = t.get_window_extent(renderer)
            t.remove()
            return bb.width, bb.height

        title_text = textwrap.fill(title, max(WRAP_CHARS, map_w // 6)) if title else ""
        title_w, title_h = measure(title_text, fontweight="bold") if title_text else (0.0, 0.0)
        line_h = measure("Xg")[1] * 1.25
        entries, counts, total = _entries(classes, table)
        legend_room = max(map_h, MIN_LEGEND_PIXELS)
        entries, folded = _fold(entries, max(1, int(legend_room // line_h)), counts, total)
        sizes = [measure(label) for _, _, label in entries]
        legend_w = (SWATCH + 6 + max((w for w, _ in sizes), default=0.0)) if entries else 0.0
        legend_h = sum(max(h, SWATCH) + 0.25 * line_h for _, h in sizes)

        top = MARGIN + (title_h + 6 if title_text else 0)
        width = int(np.ceil(max(MARGIN + map_w + GAP + legend_w + MARGIN, title_w + 2 * MARGIN)))
        height = int(np.ceil(top + max(map_h, legend_h) + MARGIN))
        fig.set_size_inches(width / DPI, height / DPI)

        def to_fig(x: float, y: float) -> tuple[float, float]:  # top-left pixels -> figure fraction
            return x / width, 1.0 - y / height

        ax = fig.add_axes((MARGIN / width, 1.0 - (top + map_h) / height, map_w / width, map_h / height))
        ax.imshow(rgb, interpolation="nearest", aspect="auto")
        ax.set_axis_off()
        texts = []
        if title_text:
            texts.append(
                fig.text(*to_fig(MARGIN, MARGIN), title_text, fontsize=FONT_SIZE, fontweight="bold", va="top")
            )
        x, y = MARGIN + map_w + GAP, top
        for (_, color, label), (_, h) in zip(entries, sizes, strict=True):
            row_h = max(h, SWATCH)
            fig.patches.append(
                Rectangle(
                    to_fig(x, y + SWATCH),
                    SWATCH / width,
                    SWATCH / height,
                    transform=fig.transFigure,
                    facecolor=color,
                    edgecolor="0.3",
                    linewidth=0.5,
                )
            )
            texts.append(fig.text(*to_fig(x + SWATCH + 6, y), label, fontsize=FONT_SIZE, va="top"))
            y += row_h + 0.25 * line_h
        fig.canvas.draw()
        boxes = []
        for t in texts:
            bb = t.get_window_extent(renderer)
            boxes.append(Box(bb.x0, height - bb.y1, bb.x1, height - bb.y0))
        fig.savefig(path, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return QuicklookLayout(
        path=Path(path),
        size=(width, height),
        map_box=Box(MARGIN, top, MARGIN + map_w, top + map_h),
        text_boxes=tuple(boxes),
        labels=tuple(label for _, _, label in entries),
        folded_classes=folded,
    )
