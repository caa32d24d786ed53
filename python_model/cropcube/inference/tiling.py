"""The tiling plan shared by the pure-Python path and the C++ kernel (udf/src/kernel.cpp).

Cores of ``tile_size`` pixels (a multiple of the network's downsampling factor) tile the image from
(0, 0); each core is read with a halo of ``halo`` pixels (also a multiple of the factor), clipped to
the image. With ``halo >= receptive_field / 2`` every core pixel sees exactly what it would see in a
whole-image pass, so stitching the cores reproduces whole-image inference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cropcube.errors import InputError

DEFAULT_TILE_SIZE = 512
"""Default core edge in pixels; keep equal to ``kDefaultTileCpu`` in udf/src/kernel.cpp."""


@dataclass(frozen=True)
class Tile:
    """One tile: its core (written to the output) and its input window, as [start, stop) rows/cols."""

    core_rows: tuple[int, int]
    core_cols: tuple[int, int]
    window_rows: tuple[int, int]
    window_cols: tuple[int, int]

    @property
    def window_shape(self) -> tuple[int, int]:
        """(rows, cols) of the input window."""
        return self.window_rows[1] - self.window_rows[0], self.window_cols[1] - self.window_cols[0]

    @property
    def core_in_window(self) -> tuple[slice, slice]:
        """Slices that cut the core out of the window."""
        oy = self.core_rows[0] - self.window_rows[0]
        ox = self.core_cols[0] - self.window_cols[0]
        return (
            slice(oy, oy + self.core_rows[1] - self.core_rows[0]),
            slice(ox, ox + self.core_cols[1] - self.core_cols[0]),
        )

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


def plan_tiles(height: int, width: int, tile_size: int, halo: int) -> Iterator[Tile]:
    """Yield the tiles of a ``height`` x ``width`` image in row-major order.

    Args:
        height: image rows (>= 1).
        width: image columns (>= 1).
        tile_size: core edge (from :func:`effective_tile_size`).
        halo: pixels added on every side of a core.
    """
    if height < 1 or width < 1:
        raise InputError("image extent", f"{height} x {width} must be at least 1 x 1")
    if tile_size < 1 or halo < 0:
        raise InputError("tiling", f"tile size {tile_size} / halo {halo} must be positive / non-negative")
    for y in range(0, height, tile_size):
        for x in range(0, width, tile_size):
            cy = (y, min(y + tile_size, height))
            cx = (x, min(x + tile_size, width))
            yield Tile(
                core_rows=cy,
                core_cols=cx,
                window_rows=(max(cy[0] - halo, 0), min(cy[1] + halo, height)),
                window_cols=(max(cx[0] - halo, 0), min(cx[1] + halo, width)),
            )
