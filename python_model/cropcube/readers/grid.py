"""A raster grid (CRS + affine transform + size): the common ground of cubes, labels and parcels."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rasterio
from rasterio.crs import CRS
from rasterio.errors import CRSError, RasterioIOError
from rasterio.transform import Affine
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from cropcube.cube_spec import CubeSpec
from cropcube.errors import InputError
from cropcube.io.checks import require_file

# Offsets closer than this (in pixels) to an integer count as aligned: float noise in transforms.
_ALIGN_TOLERANCE = 1e-6


def _crs(value: str | CRS, what: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise InputError(what, f"{value!r} is not a coordinate reference system: {exc}") from None


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid.

    Attributes:
        crs: coordinate reference system, as a string GDAL understands (``"EPSG:32631"``, WKT).
        transform: affine geotransform (pixel corner -> CRS coordinates); no rotation.
        width: columns.
        height: rows.
        source: the file the grid was read from, for error messages (not part of equality).
    """

    crs: str
    transform: Affine
    width: int
    height: int
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        what = self.source or "grid"
        if int(self.width) < 1 or int(self.height) < 1:
            raise InputError(what, f"grid size {self.width}x{self.height} must be at least 1x1")
        t = self.transform
        if not all(math.isfinite(v) for v in tuple(t)[:6]):
            raise InputError(what, f"grid transform {tuple(t)[:6]} has a non-finite number")
        if t.b != 0 or t.d != 0:
            raise InputError(what, f"rotated or sheared grids are not supported (transform {tuple(t)[:6]})")
        if not (t.a > 0 and t.e < 0):
            raise InputError(
                what, f"grid must be north-up with positive pixel size (transform {tuple(t)[:6]})"
            )
        object.__setattr__(self, "crs", _crs(self.crs, what).to_string())
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    # -- construction ------------------------------------------------------------------------------

    @classmethod
    def from_bbox(
        cls,
        bbox: tuple[float, float, float, float],
        crs: str,
        resolution: float = 10.0,
        bbox_crs: str | None = None,
    ) -> Grid:
        """The grid of square ``resolution`` pixels covering ``bbox``, snapped outward to multiples of it.

        Snapping to multiples of the resolution keeps grids built from different boxes aligned
        with each other and with Sentinel-2 tiles (whose corners are multiples of 10 m in UTM).

        Args:
            bbox: (minx, miny, maxx, maxy).
            crs: CRS of the grid.
            resolution: pixel size in CRS units.
            bbox_crs: CRS of ``bbox`` when it is not ``crs`` (the box is reprojected first).
        """
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or minx >= maxx or miny >= maxy:
            raise InputError("bbox", f"{bbox!r} must be finite minx,miny,maxx,maxy with min < max")
        if not resolution > 0:
            raise InputError("resolution", f"{resolution} must be positive")
        crs_obj = _crs(crs, "crs")
        if bbox_crs is not None:
            minx, miny, maxx, maxy = transform_bounds(
                _crs(bbox_crs, "bbox crs"), crs_obj, minx, miny, maxx, maxy
            )
        left = math.floor(minx / resolution + _ALIGN_TOLERANCE) * resolution
        bottom = math.floor(miny / resolution + _ALIGN_TOLERANCE) * resolution
        right = math.ceil(maxx / resolution - _ALIGN_TOLERANCE) * resolution
        top = math.ceil(maxy / resolution - _ALIGN_TOLERANCE) * resolution
        width = round((right - left) / resolution)
        height = round((top - bottom) / resolution)
        return cls(crs_obj.to_string(), Affine(resolution, 0.0, left, 0.0, -resolution, top), width, height)

    @classmethod
    def from_origin(
        cls, crs: str, left: float, top: float, resolution: float, width: int, height: int
    ) -> Grid:
        """The grid of ``width`` x ``height`` square pixels whose north-west corner is (left, top)."""
        return cls(crs, Affine(resolution, 0.0, left, 0.0, -resolution, top), width, height)

    @classmethod
    def of_dataset(cls, dataset: Any, source: str | None = None) -> Grid:
        """The grid of an open rasterio dataset."""
        name = source or str(dataset.name)
        if dataset.crs is None:
            raise InputError(name, "raster has no coordinate reference system")
        return cls(dataset.crs.to_string(), dataset.transform, dataset.width, dataset.height, source=name)

    @classmethod
    def of(cls, path: str | Path) -> Grid:
        """The grid of a raster file.

        Raises:
            InputError: the file cannot be opened or has no CRS / a rotated transform.
        """
        require_file(path, "raster")
        try:
            with rasterio.open(path) as ds:
                return cls.of_dataset(ds, source=str(path))
        except RasterioIOError as exc:
            raise InputError(
                str(path), f"cannot open as a raster (not a raster, or corrupt): {exc}"
            ) from None

    # -- properties --------------------------------------------------------------------------------

    @property
    def rasterio_crs(self) -> CRS:
        """The CRS as a rasterio object."""
        return CRS.from_user_input(self.crs)

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size (x, y), both positive."""
        return self.transform.a, -self.transform.e

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return self.height, self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in CRS units."""
        left, top = self.transform.c, self.transform.f
        return left, top + self.transform.e * self.height, left + self.transform.a * self.width, top

    # -- comparison --------------------------------------------------------------------------------

    def differences(self, other: Grid) -> list[str]:
        """What differs between two grids, in words (empty when they are the same grid)."""
        out = []
        if self.rasterio_crs != other.rasterio_crs:
            out.append(f"CRS {self.crs} vs {other.crs}")
        if not _close(self.resolution, other.resolution):
            out.append(f"resolution {self.resolution} vs {other.resolution}")
        if not _close((self.transform.c, self.transform.f), (other.transform.c, other.transform.f)):
            out.append(
                f"origin ({self.transform.c}, {self.transform.f}) "
                f"vs ({other.transform.c}, {other.transform.f})"
            )
        if self.shape != other.shape:
            out.append(f"size {self.width}x{self.height} vs {other.width}x{other.height}")
        return out

    def require_same(self, other: Grid, what: str = "raster") -> None:
        """Raise unless ``other`` is the same grid, naming both sources and what differs.

        Args:
            other: the grid that must match this one.
            what: what ``other`` is (e.g. "label raster"), for the message.
        """
        diff = self.differences(other)
        if diff:
            raise InputError(
                other.source or what,
                f"{what} grid does not match {self.source or 'the cube grid'}: " + "; ".join(diff),
            )

    def window_of(self, other: Grid) -> Window:
        """The window of this grid that ``other`` covers; both must share CRS, resolution and alignment.

        The window may reach outside this grid (negative offsets or beyond the size) when ``other``
        is not contained in it; use :meth:`contains` to check.

        Raises:
            InputError: different CRS or resolution, or ``other`` is not aligned to whole pixels.
        """
        diff = [d for d in self.differences(other) if not d.startswith(("origin", "size"))]
        if diff:
            raise InputError(
                other.source or "grid", f"not on the grid of {self.source or 'the cube'}: {diff}"
            )
        col = (other.transform.c - self.transform.c) / self.transform.a
        row = (other.transform.f - self.transform.f) / self.transform.e
        if abs(col - round(col)) > _ALIGN_TOLERANCE or abs(row - round(row)) > _ALIGN_TOLERANCE:
            raise InputError(
                other.source or "grid",
                f"origin is offset by a fraction of a pixel ({col:.3f}, {row:.3f}) "
                f"from {self.source or 'the cube'}",
            )
        return Window(round(col), round(row), other.width, other.height)

    def contains(self, other: Grid) -> bool:
        """True when ``other`` lies on this grid and inside it."""
        w = self.window_of(other)
        return (
            w.col_off >= 0
            and w.row_off >= 0
            and w.col_off + w.width <= self.width
            and w.row_off + w.height <= self.height
        )

    def subgrid(self, window: Window) -> Grid:
        """The grid of a window of this grid."""
        col, row = int(window.col_off), int(window.row_off)
        return Grid(
            self.crs,
            self.transform @ Affine.translation(col, row),
            int(window.width),
            int(window.height),
            source=self.source,
        )

    def intersects_bounds(self, bounds: tuple[float, float, float, float], crs: str | CRS) -> bool:
        """True when a box in some CRS overlaps this grid's area."""
        left, bottom, right, top = transform_bounds(_crs(crs, "crs"), self.rasterio_crs, *bounds)
        g_left, g_bottom, g_right, g_top = self.bounds
        return left < g_right and right > g_left and bottom < g_top and top > g_bottom

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "crs": self.crs,
            "transform": list(self.transform)[:6],
            "width": self.width,
            "height": self.height,
        }

    def __str__(self) -> str:
        left, bottom, right, top = self.bounds
        xres, yres = self.resolution
        box = f"({left:.10g}, {bottom:.10g}, {right:.10g}, {top:.10g})"
        return f"{self.width}x{self.height} px of {xres:g}x{yres:g} in {self.crs}, bounds {box}"


RESOLUTION_TOLERANCE = 0.01
"""Relative difference between a cube's pixel size and the bundle's that still counts as equal."""


def require_model_grid(grid: Grid, spec: CubeSpec, cube: str, bundle: str) -> None:
    """A cube's grid has the pixel size a bundle was trained on, in a projected CRS in metres.

    The rule: the CRS must be projected with metre units (any zone: a model trained in UTM 31N
    classifies UTM 32N alike), and both pixel sides must equal the bundle's declared resolution
    (``input.resolution``, 10 m for Sentinel-2) within 1 %. A geographic CRS (degrees, e.g.
    EPSG:4326) or another pixel size (20 m) would feed the network fields of another size than it
    learnt, and the map would be silently wrong.

    Args:
        grid: the cube's grid.
        spec: the bundle's cube layout (``resolution``, ``crs``).
        cube: the cube, for the message.
        bundle: the bundle, for the message.

    Raises:
        InputError: naming the cube, what it has and what the bundle expects.
    """
    crs = grid.rasterio_crs
    want = float(spec.resolution)
    fix = f"make the cube with `cropcube cube build --crs {spec.crs} --resolution {want:g}`"
    if not crs.is_projected:
        raise InputError(
            cube,
            f"CRS {grid.crs} is geographic (degrees); the model {bundle} expects {want:g} m pixels in a "
            f"projected CRS such as {spec.crs}: {fix}",
        )
    units = (crs.linear_units or "").lower()
    if units not in ("metre", "meter", "m", "metres", "meters"):
        raise InputError(
            cube, f"CRS {grid.crs} has units {crs.linear_units!r}; the model {bundle} expects metres: {fix}"
        )
    xres, yres = grid.resolution
    if abs(xres - want) > RESOLUTION_TOLERANCE * want or abs(yres - want) > RESOLUTION_TOLERANCE * want:
        raise InputError(
            cube,
            f"pixel size {xres:g} x {yres:g} m, but the model {bundle} was trained on {want:g} m "
            f"pixels: {fix}",
        )


def _close(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6) for x, y in zip(a, b, strict=True))
