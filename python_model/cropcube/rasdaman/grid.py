"""What petascope needs of a grid: EPSG code, square pixel size, and the subsets that select pixels.

There is one grid type, :class:`cropcube.readers.grid.Grid` (a cube file's grid and a coverage's grid are
the same thing); this module holds only petascope's conventions about it, as functions.

Conventions (those of petascope): axes ``E`` (grid order 0) and ``N`` (grid order 1); the grid origin
of a coverage description is the CENTRE of its first pixel; a read subset is given in CRS coordinates.
Reads ask for the centres of the first and last wanted pixels (unambiguous whatever rounding the server
uses); WCS-T updates give the outer pixel edges, as wcst_import does.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasterio.windows import Window

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.readers.grid import Grid


def format_number(value: float) -> str:
    """A coordinate as short exact text (no exponent, no trailing zeros)."""
    text = f"{ids.finite(value, 'coordinate'):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class AxisSubset:
    """A trim ``axis(lo, hi)`` in CRS coordinates, or a slice ``axis("date")`` on a time axis.

    Every value is validated on construction, so a subset can be pasted into a query as it is.
    """

    axis: str
    lo: float | None = None
    hi: float | None = None
    date: str | None = None

    def __post_init__(self) -> None:
        ids.axis_name(self.axis)
        if self.date is not None:
            object.__setattr__(self, "date", ids.iso_date(self.date, f"subset on {self.axis}"))
            if self.lo is not None or self.hi is not None:
                raise InputError(f"subset on {self.axis}", "a date slice takes no numeric bounds")
            return
        if self.lo is None or self.hi is None:
            raise InputError(f"subset on {self.axis}", "needs both bounds or a date")
        lo, hi = ids.interval(self.lo, self.hi, f"subset on {self.axis}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def kvp(self) -> str:
        """WCS KVP form: ``E(677400,677500)`` or ``ansi("2018-01-08")``."""
        if self.date is not None:
            return f'{self.axis}("{self.date}")'
        return f"{self.axis}({format_number(self.lo or 0.0)},{format_number(self.hi or 0.0)})"

    def wcps(self) -> str:
        """WCPS form: ``E(677400:677500)`` or ``ansi("2018-01-08")``."""
        if self.date is not None:
            return f'{self.axis}("{self.date}")'
        return f"{self.axis}({format_number(self.lo or 0.0)}:{format_number(self.hi or 0.0)})"


# -- petascope's view of the one grid type (readers.grid.Grid) --------------------------------------------


def epsg(grid: Grid) -> int:
    """The EPSG code of the grid's CRS (petascope names CRSs by EPSG code).

    Raises:
        InputError: the CRS has no EPSG code.
    """
    code = grid.rasterio_crs.to_epsg()
    if code is None:
        raise InputError(grid.source or "grid", f"CRS {grid.crs} has no EPSG code; petascope needs one")
    return int(code)


def pixel_size(grid: Grid) -> float:
    """The side of the grid's square pixels (cropcube's coverages have square pixels).

    Raises:
        InputError: the pixels are not square.
    """
    xres, yres = grid.resolution
    if abs(xres - yres) > 1e-9 * max(xres, yres):
        raise InputError(grid.source or "grid", f"pixels are {xres:g} x {yres:g}, not square")
    return xres


def read_subsets(grid: Grid, col: int, row: int, width: int, height: int) -> tuple[AxisSubset, AxisSubset]:
    """E and N subsets through the centres of the first and last pixels of a window."""
    r, left, top = pixel_size(grid), grid.transform.c, grid.transform.f
    e0 = left + (col + 0.5) * r
    e1 = left + (col + width - 0.5) * r
    n_top = top - (row + 0.5) * r
    n_bottom = top - (row + height - 0.5) * r
    if width == 1:  # a trim needs lo < hi: widen by a quarter pixel, still inside the pixel
        e0, e1 = e0 - r / 4, e1 + r / 4
    if height == 1:
        n_bottom, n_top = n_bottom - r / 4, n_top + r / 4
    return AxisSubset("E", e0, e1), AxisSubset("N", n_bottom, n_top)


def edge_subsets(grid: Grid, col: int, row: int, width: int, height: int) -> tuple[AxisSubset, AxisSubset]:
    """E and N subsets along the outer pixel edges of a window (the WCS-T UpdateCoverage form)."""
    r, left, top = pixel_size(grid), grid.transform.c, grid.transform.f
    return (
        AxisSubset("E", left + col * r, left + (col + width) * r),
        AxisSubset("N", top - (row + height) * r, top - row * r),
    )


def window(grid: Grid, col: int, row: int, width: int, height: int) -> Grid:
    """The sub-grid of ``width`` x ``height`` pixels starting at (col, row); it must lie inside.

    Raises:
        InputError: the window reaches outside the grid.
    """
    if (
        col < 0
        or row < 0
        or width < 1
        or height < 1
        or col + width > grid.width
        or row + height > grid.height
    ):
        raise InputError(
            "window", f"({col},{row},{width},{height}) is outside the {grid.width}x{grid.height} grid"
        )
    return grid.subgrid(Window(col, row, width, height))


def locate(grid: Grid, e_lo: float, e_hi: float, n_lo: float, n_hi: float) -> tuple[int, int, int, int]:
    """Pixel window ``(col, row, width, height)`` of the pixels whose centres lie in a box.

    Raises:
        InputError: the box selects no pixel of the grid.
    """
    e_lo, e_hi = ids.interval(e_lo, e_hi, "area E")
    n_lo, n_hi = ids.interval(n_lo, n_hi, "area N")
    r, left, top = pixel_size(grid), grid.transform.c, grid.transform.f
    c0 = max(0, _ceil_index((e_lo - left) / r - 0.5))
    c1 = min(grid.width - 1, _floor_index((e_hi - left) / r - 0.5))
    r0 = max(0, _ceil_index((top - n_hi) / r - 0.5))
    r1 = min(grid.height - 1, _floor_index((top - n_lo) / r - 0.5))
    if c1 < c0 or r1 < r0:
        raise InputError("area", f"E({e_lo},{e_hi}) N({n_lo},{n_hi}) selects no pixel of the coverage")
    return c0, r0, c1 - c0 + 1, r1 - r0 + 1


def _floor_index(x: float) -> int:
    return int(x // 1) if abs(x - round(x)) > 1e-9 else round(x)


def _ceil_index(x: float) -> int:
    return -_floor_index(-x)
