"""The one tiling plan: files, coverages, evaluation, training and the C++ kernel all cut areas this way.

Cores of ``tile_size`` pixels (a multiple of the network's downsampling factor, see
:func:`effective_tile_size`) tile an area from its origin; each core is read with a halo of ``halo``
pixels on every side, clipped to the extent that holds the area. A clipped side is cut back to a
multiple of the factor from the core, so every window keeps the alignment of the whole area and, with
``halo >= receptive_field / 2``, stitching the cores reproduces one pass over the whole area.

An area that starts at (0, 0) of its extent (an image in memory, a file) needs no alignment-keeping
clip; an area inside a larger coverage does. Both are the same plan here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cropcube.errors import InputError

DEFAULT_TILE_SIZE = 512
"""Default core edge in pixels (the C++ kernel's default is checked against it by a shared test table)."""


@dataclass(frozen=True)
class Tile:
    """One tile: its core (written to the output) and its window (read), as [start, stop) rows/cols."""

    core_rows: tuple[int, int]
    core_cols: tuple[int, int]
    window_rows: tuple[int, int]
    window_cols: tuple[int, int]

    @property
    def key(self) -> str:
        """Stable name, ``"r<row>_c<col>"`` of the core's upper-left pixel (resumable jobs record it)."""
        return f"r{self.core_rows[0]}_c{self.core_cols[0]}"

    @property
    def core_shape(self) -> tuple[int, int]:
        """(rows, cols) of the core."""
        return self.core_rows[1] - self.core_rows[0], self.core_cols[1] - self.core_cols[0]

    @property
    def window_shape(self) -> tuple[int, int]:
        """(rows, cols) of the window."""
        return self.window_rows[1] - self.window_rows[0], self.window_cols[1] - self.window_cols[0]

    @property
    def core(self) -> tuple[slice, slice]:
        """Slices of the core in the extent."""
        return slice(*self.core_rows), slice(*self.core_cols)

    @property
    def window(self) -> tuple[slice, slice]:
        """Slices of the window in the extent."""
        return slice(*self.window_rows), slice(*self.window_cols)

    @property
    def core_in_window(self) -> tuple[slice, slice]:
        """Slices that cut the core out of the window."""
        oy = self.core_rows[0] - self.window_rows[0]
        ox = self.core_cols[0] - self.window_cols[0]
        rows, cols = self.core_shape
        return slice(oy, oy + rows), slice(ox, ox + cols)

    @property
    def batch_key(self) -> tuple[int, ...]:
        """Tiles with equal keys can share one forward pass (same window shape and core position)."""
        r, c = self.core_in_window
        return (*self.window_shape, r.start, r.stop, c.start, c.stop)


def effective_tile_size(tile_size: int, downsampling_factor: int) -> int:
    """The core edge actually used: ``tile_size`` (0 = default) rounded up to the downsampling factor."""
    if tile_size < 0:
        raise InputError("tile_size", f"{tile_size} must be 0 (default) or positive")
    if downsampling_factor < 1:
        raise InputError("downsampling_factor", f"{downsampling_factor} must be at least 1")
    size = tile_size or DEFAULT_TILE_SIZE
    d = downsampling_factor
    return max(d, -(-size // d) * d)


def _window(start: int, stop: int, halo: int, limit: int, factor: int) -> tuple[int, int]:
    lo = start - halo
    if lo < 0:  # clip, keeping the offset from the core a multiple of the factor
        lo = start % factor
    return lo, min(stop + halo, limit)


def plan_tiles(
    height: int,
    width: int,
    tile_size: int,
    halo: int,
    *,
    factor: int = 1,
    area: tuple[int, int, int, int] | None = None,
) -> Iterator[Tile]:
    """Yield the tiles of an area of a ``height`` x ``width`` extent in row-major order.

    Args:
        height: extent rows (>= 1).
        width: extent columns (>= 1).
        tile_size: core edge, a positive multiple of ``factor`` (from :func:`effective_tile_size`).
        halo: pixels added on every side of a core (a multiple of ``factor``), clipped to the extent.
        factor: the network's downsampling factor.
        area: ``(row, col, rows, cols)`` inside the extent; default the whole extent.

    Raises:
        InputError: empty extent or area, area outside the extent, tile size or halo not fitting.
    """
    if height < 1 or width < 1:
        raise InputError("image extent", f"{height} x {width} must be at least 1 x 1")
    if factor < 1:
        raise InputError("downsampling factor", f"{factor} must be >= 1")
    if tile_size < 1 or tile_size % factor:
        raise InputError(
            "tile size", f"{tile_size} must be a positive multiple of the downsampling factor {factor}"
        )
    if halo < 0:
        raise InputError("halo", f"{halo} must be >= 0")
    row, col, rows, cols = area if area is not None else (0, 0, height, width)
    if row < 0 or col < 0 or rows < 1 or cols < 1 or row + rows > height or col + cols > width:
        raise InputError(
            "area", f"rows {row}+{rows}, cols {col}+{cols} is not inside the {height} x {width} extent"
        )
    for y in range(row, row + rows, tile_size):
        y1 = min(y + tile_size, row + rows)
        for x in range(col, col + cols, tile_size):
            x1 = min(x + tile_size, col + cols)
            yield Tile(
                core_rows=(y, y1),
                core_cols=(x, x1),
                window_rows=_window(y, y1, halo, height, factor),
                window_cols=_window(x, x1, halo, width, factor),
            )
