"""The north-up grid of a coverage, and the subsets that select pixels of it.

Conventions (those of petascope): axes ``E`` (grid order 0) and ``N`` (grid order 1); the grid origin
of a coverage description is the CENTRE of its first pixel; a read subset is given in CRS coordinates.
Reads ask for the centres of the first and last wanted pixels (unambiguous whatever rounding the server
uses); WCS-T updates give the outer pixel edges, as wcst_import does.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasterio.transform import Affine

from cropcube.errors import InputError
from cropcube.rasdaman import ids


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


@dataclass(frozen=True)
class CoverageGrid:
    """A north-up 2-D grid: west edge, north edge, square pixel size, size in pixels.

    Attributes:
        crs: ``"EPSG:<code>"``.
        left: E of the west edge of column 0.
        top: N of the north edge of row 0.
        resolution: pixel size in CRS units (positive).
        width: number of columns (E).
        height: number of rows (N, top to bottom).
    """

    crs: str
    left: float
    top: float
    resolution: float
    width: int
    height: int

    def __post_init__(self) -> None:
        ids.finite(self.left, "grid west edge")
        ids.finite(self.top, "grid north edge")
        if not ids.finite(self.resolution, "grid resolution") > 0:
            raise InputError("grid resolution", f"{self.resolution} must be positive")
        if self.width < 1 or self.height < 1:
            raise InputError("grid size", f"{self.width}x{self.height} must be at least 1x1")
        if not self.crs.upper().startswith("EPSG:") or not self.crs[5:].isdigit():
            raise InputError("grid crs", f"{self.crs!r} is not 'EPSG:<code>'")

    @property
    def epsg(self) -> int:
        """The EPSG code."""
        return int(self.crs[5:])

    @property
    def transform(self) -> Affine:
        """GDAL affine transform of the grid."""
        return Affine(self.resolution, 0.0, self.left, 0.0, -self.resolution, self.top)

    def window(self, col: int, row: int, width: int, height: int) -> CoverageGrid:
        """The sub-grid of ``width`` x ``height`` pixels starting at (col, row); must lie inside."""
        if (
            col < 0
            or row < 0
            or width < 1
            or height < 1
            or col + width > self.width
            or row + height > self.height
        ):
            raise InputError(
                "window", f"({col},{row},{width},{height}) is outside the {self.width}x{self.height} grid"
            )
        return CoverageGrid(
            self.crs,
            self.left + col * self.resolution,
            self.top - row * self.resolution,
            self.resolution,
            width,
            height,
        )

    def read_subsets(self, col: int, row: int, width: int, height: int) -> tuple[AxisSubset, AxisSubset]:
        """E and N subsets through the centres of the first and last pixels of a window."""
        r = self.resolution
        e0 = self.left + (col + 0.5) * r
        e1 = self.left + (col + width - 0.5) * r
        n_top = self.top - (row + 0.5) * r
        n_bottom = self.top - (row + height - 0.5) * r
        if width == 1:  # a trim needs lo < hi: widen by a quarter pixel, still inside the pixel
            e0, e1 = e0 - r / 4, e1 + r / 4
        if height == 1:
            n_bottom, n_top = n_bottom - r / 4, n_top + r / 4
        return AxisSubset("E", e0, e1), AxisSubset("N", n_bottom, n_top)

    def edge_subsets(self, col: int, row: int, width: int, height: int) -> tuple[AxisSubset, AxisSubset]:
        """E and N subsets along the outer pixel edges of a window (the WCS-T UpdateCoverage form)."""
        r = self.resolution
        return (
            AxisSubset("E", self.left + col * r, self.left + (col + width) * r),
            AxisSubset("N", self.top - (row + height) * r, self.top - row * r),
        )

    def locate(self, e_lo: float, e_hi: float, n_lo: float, n_hi: float) -> tuple[int, int, int, int]:
        """Pixel window ``(col, row, width, height)`` of the pixels whose centres lie in a box.

        Raises:
            InputError: the box selects no pixel of the grid.
        """
        e_lo, e_hi = ids.interval(e_lo, e_hi, "area E")
        n_lo, n_hi = ids.interval(n_lo, n_hi, "area N")
        r = self.resolution
        c0 = max(0, _ceil_index((e_lo - self.left) / r - 0.5))
        c1 = min(self.width - 1, _floor_index((e_hi - self.left) / r - 0.5))
        r0 = max(0, _ceil_index((self.top - n_hi) / r - 0.5))
        r1 = min(self.height - 1, _floor_index((self.top - n_lo) / r - 0.5))
        if c1 < c0 or r1 < r0:
            raise InputError("area", f"E({e_lo},{e_hi}) N({n_lo},{n_hi}) selects no pixel of the coverage")
        return c0, r0, c1 - c0 + 1, r1 - r0 + 1


def _floor_index(x: float) -> int:
    return int(x // 1) if abs(x - round(x)) > 1e-9 else round(x)


def _ceil_index(x: float) -> int:
    return -_floor_index(-x)
