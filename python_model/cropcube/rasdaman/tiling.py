"""Tiles of an area: cores aligned to the model's downsampling factor, read windows with a halo.

Cores start at multiples of the tile size from the area's origin (tile size is a multiple of the
downsampling factor), so every core is aligned the same way as the whole area. The read window adds
the halo on every side, clipped to the coverage but kept on the same alignment (a clipped side is cut
back to a multiple of the factor from the core), so that predictions near tile seams equal those of one
pass over the whole area.

This is :func:`cropcube.inference.tiling.plan_tiles` generalised to an area that starts anywhere in a
larger coverage (whose edges need the alignment-keeping clip above) with stable tile keys for the
resumable write-back job; images in memory always start at (0, 0) and use the simpler planner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cropcube.errors import InputError


@dataclass(frozen=True)
class Tile:
    """One tile, in pixel coordinates of the coverage.

    Attributes:
        key: stable name, ``"r<row>_c<col>"`` of the core's upper-left pixel.
        col, row, width, height: the core (the pixels this tile writes).
        read_col, read_row, read_width, read_height: the window read (core + halo, clipped).
    """

    key: str
    col: int
    row: int
    width: int
    height: int
    read_col: int
    read_row: int
    read_width: int
    read_height: int

    @property
    def core_in_read(self) -> tuple[slice, slice]:
        """(rows, cols) slices of the core inside the read window."""
        r0, c0 = self.row - self.read_row, self.col - self.read_col
        return slice(r0, r0 + self.height), slice(c0, c0 + self.width)


def _expand(start: int, length: int, halo: int, limit: int, factor: int) -> tuple[int, int]:
    lo = start - halo
    if lo < 0:  # clip, keeping the offset from the core a multiple of the factor
        lo = start - (start // factor) * factor
    hi = min(start + length + halo, limit)
    return lo, hi - lo


def plan_tiles(
    area: tuple[int, int, int, int],
    coverage_size: tuple[int, int],
    tile_size: int,
    halo: int,
    factor: int = 1,
) -> Iterator[Tile]:
    """Tiles covering ``area = (col, row, width, height)`` of a coverage of ``(width, height)`` pixels.

    Raises:
        InputError: tile size not a positive multiple of the factor, negative halo, area outside.
    """
    col, row, width, height = area
    cov_w, cov_h = coverage_size
    if factor < 1:
        raise InputError("downsampling factor", f"{factor} must be >= 1")
    if tile_size < 1 or tile_size % factor:
        raise InputError(
            "tile size", f"{tile_size} must be a positive multiple of the downsampling factor {factor}"
        )
    if halo < 0:
        raise InputError("halo", f"{halo} must be >= 0")
    if col < 0 or row < 0 or width < 1 or height < 1 or col + width > cov_w or row + height > cov_h:
        raise InputError("area", f"pixel window {area} is outside the {cov_w}x{cov_h} coverage")
    for r in range(row, row + height, tile_size):
        h = min(tile_size, row + height - r)
        for c in range(col, col + width, tile_size):
            w = min(tile_size, col + width - c)
            rc, rw = _expand(c, w, halo, cov_w, factor)
            rr, rh = _expand(r, h, halo, cov_h, factor)
            yield Tile(f"r{r}_c{c}", c, r, w, h, rc, rr, rw, rh)
