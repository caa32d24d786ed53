"""Read Sentinel-2 time-series netCDF stacks (WorldCereal/openEO style) and build a cube from them.

A stack holds one variable per band with dimensions (timestamp, y, x), ``x``/``y`` pixel-centre
coordinates, ``timestamp`` in "seconds since ..." and the CRS in ``spatial_ref`` (or an ``epsg``
attribute). The 20 m stack carries the scene classification ``SCL``; classes 4 (vegetation) and 5
(bare soil) count as clear, everything else (cloud, shadow, snow, water, nodata) as not clear.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import numpy.typing as npt
from rasterio.transform import Affine
from rasterio.windows import Window

from cropcube.cube_spec import S2_BANDS, CubeSpec
from cropcube.errors import InputError
from cropcube.readers.grid import Grid
from cropcube.readers.writer import write_cube

log = logging.getLogger(__name__)

CLEAR_SCL_CLASSES = (4, 5)
"""SCL classes counted as clear: 4 vegetation, 5 not vegetated (bare soil)."""


@dataclass(frozen=True)
class NetcdfStack:
    """The layout of one netCDF stack.

    Attributes:
        path: the file.
        grid: its raster grid (from the x/y pixel centres).
        dates: acquisition date of each timestamp.
        variables: names of its (timestamp, y, x) variables.
    """

    path: Path
    grid: Grid
    dates: tuple[dt.date, ...]
    variables: tuple[str, ...]


def _dataset(path: str | Path) -> Any:
    if not Path(path).is_file():
        raise InputError(str(path), "file does not exist")
    try:
        ds = netCDF4.Dataset(path)
    except OSError as exc:
        raise InputError(str(path), f"cannot open as netCDF (unreadable or corrupt): {exc}") from None
    ds.set_auto_maskandscale(False)  # raw digital numbers, as stored
    return ds


def _crs_of(ds: Any, where: str) -> str:
    if "spatial_ref" in ds.variables:
        ref = ds.variables["spatial_ref"]
        for attr in ("crs_wkt", "spatial_ref"):
            if attr in ref.ncattrs():
                return str(ref.getncattr(attr))
    for holder in (ds, *ds.variables.values()):
        if "epsg" in holder.ncattrs():
            return f"EPSG:{int(holder.getncattr('epsg'))}"
    raise InputError(where, "no CRS (no spatial_ref variable and no epsg attribute)")


def _axis(ds: Any, name: str, where: str) -> npt.NDArray[np.float64]:
    if name not in ds.variables:
        raise InputError(where, f"no '{name}' coordinate variable")
    values = np.asarray(ds.variables[name][:], dtype=np.float64)
    steps = np.diff(values)
    if values.size < 2 or not np.all(np.isfinite(values)) or not np.allclose(steps, steps[0]):
        raise InputError(where, f"'{name}' coordinates are not a regular grid")
    return values


def _grid_of(ds: Any, where: str) -> Grid:
    x, y = _axis(ds, "x", where), _axis(ds, "y", where)
    xres, yres = x[1] - x[0], y[1] - y[0]
    if xres <= 0 or yres >= 0:
        raise InputError(where, "x must increase and y decrease (north-up)")
    transform = Affine(xres, 0.0, x[0] - xres / 2, 0.0, yres, y[0] - yres / 2)
    return Grid(_crs_of(ds, where), transform, x.size, y.size, source=where)


def _dates_of(ds: Any, where: str) -> tuple[dt.date, ...]:
    if "timestamp" not in ds.variables:
        raise InputError(where, "no 'timestamp' variable")
    t = ds.variables["timestamp"]
    try:
        times = netCDF4.num2date(t[:], t.units, getattr(t, "calendar", "standard"))
    except (AttributeError, ValueError) as exc:
        raise InputError(where, f"cannot decode timestamps: {exc}") from None
    return tuple(dt.date(x.year, x.month, x.day) for x in np.atleast_1d(np.asarray(times, dtype=object)))


def open_stack(path: str | Path) -> NetcdfStack:
    """Read the layout of a netCDF stack (no pixels).

    Raises:
        InputError: unreadable file, missing coordinates/timestamps/CRS.
    """
    where = str(path)
    with _dataset(path) as ds:
        variables = tuple(name for name, v in ds.variables.items() if v.dimensions == ("timestamp", "y", "x"))
        return NetcdfStack(Path(path), _grid_of(ds, where), _dates_of(ds, where), variables)


def clear_fractions(
    scl_path: str | Path,
    clear_classes: Sequence[int] = CLEAR_SCL_CLASSES,
    area: Grid | None = None,
) -> tuple[tuple[dt.date, ...], npt.NDArray[np.float64]]:
    """Fraction of clear SCL pixels per timestamp.

    Args:
        scl_path: the stack with the ``SCL`` variable.
        clear_classes: SCL classes that count as clear.
        area: count only SCL pixels whose centre lies in this grid's bounds (default: all).

    Returns:
        The dates and their clear fractions (0..1).
    """
    where = str(scl_path)
    with _dataset(scl_path) as ds:
        if "SCL" not in ds.variables:
            raise InputError(where, "no 'SCL' variable (scene classification); pass the 20 m stack")
        scl = np.asarray(ds.variables["SCL"][:])
        dates = _dates_of(ds, where)
        if area is not None:
            left, bottom, right, top = area.bounds
            x, y = _axis(ds, "x", where), _axis(ds, "y", where)
            cols = (x > left) & (x < right)
            rows = (y > bottom) & (y < top)
            if not cols.any() or not rows.any():
                raise InputError(where, f"no SCL pixel inside {area}")
            scl = scl[:, rows][:, :, cols]
    if scl.ndim != 3 or scl.shape[0] != len(dates):
        raise InputError(where, f"SCL has shape {scl.shape}, expected (timestamp, y, x)")
    clear = np.isin(scl, np.asarray(clear_classes)).mean(axis=(1, 2))
    return dates, clear


@dataclass(frozen=True)
class DateChoice:
    """The acquisition chosen for one wanted date.

    Attributes:
        wanted: the date asked for.
        chosen: the acquisition used.
        index: its timestamp index in the stack.
        clear_fraction: its fraction of clear pixels.
    """

    wanted: dt.date
    chosen: dt.date
    index: int
    clear_fraction: float


def choose_clearest(
    wanted: Sequence[dt.date],
    dates: Sequence[dt.date],
    clear: Sequence[float],
    max_days: int = 10,
    tolerance: float = 0.01,
    where: str = "netCDF stack",
) -> list[DateChoice]:
    """Per wanted date the clearest acquisition within ``max_days``.

    Acquisitions whose clear fraction is within ``tolerance`` of the best in the window count as
    equally clear; among them the one nearest the wanted date wins (then the earlier one), so
    that a 100 % clear scene ten days away does not replace a 99.5 % clear one on the day.

    Raises:
        InputError: no acquisition within the window, or two wanted dates share one acquisition.
    """
    if max_days < 0:
        raise InputError("max-days", f"{max_days} must be >= 0")
    out = []
    for w in wanted:
        window = [i for i, d in enumerate(dates) if abs((d - w).days) <= max_days]
        if not window:
            raise InputError(where, f"date {w.isoformat()} missing: no acquisition within {max_days} days")
        best = max(clear[i] for i in window)
        good = [i for i in window if clear[i] >= best - tolerance]
        i = min(good, key=lambda i: (abs((dates[i] - w).days), dates[i]))
        out.append(DateChoice(w, dates[i], i, float(clear[i])))
    for a, b in itertools.pairwise(out):
        if b.chosen <= a.chosen:
            raise InputError(
                where,
                f"wanted dates {a.wanted} and {b.wanted} both map to {a.chosen}/{b.chosen}: not increasing",
            )
    return out


@dataclass
class NetcdfBuildReport:
    """What :func:`build_cube_from_netcdf` did.

    Attributes:
        path: the written cube.
        grid: its grid.
        choices: the chosen acquisition per wanted date.
    """

    path: Path
    grid: Grid
    choices: list[DateChoice]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Human-readable lines (warnings last, where the eye lands)."""
        lines = [f"wrote {self.path}: {self.grid}"]
        for c in self.choices:
            shift = "" if c.chosen == c.wanted else f" ({(c.chosen - c.wanted).days:+d} days)"
            lines.append(
                f"  {c.wanted.isoformat()} -> {c.chosen.isoformat()}{shift}, clear {c.clear_fraction:.1%}"
            )
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)


def cloudy_choices(choices: Sequence[DateChoice], min_clear: float, max_days: int) -> list[str]:
    """Warnings for acquisitions chosen with less than ``min_clear`` of their pixels clear.

    That happens when the whole window around the wanted date is that cloudy: never silently.
    """
    return [
        f"{c.wanted.isoformat()}: the clearest acquisition within {max_days} days ({c.chosen.isoformat()}) "
        f"is only {c.clear_fraction:.0%} clear (below --min-clear {min_clear:.0%}); its pixels are mostly "
        "cloud or shadow: widen --max-days or choose another date"
        for c in choices
        if c.clear_fraction < min_clear
    ]


def build_cube_from_netcdf(
    stack_path: str | Path,
    scl_path: str | Path,
    dates: Sequence[str | dt.date],
    output: str | Path,
    *,
    max_days: int = 10,
    bands: Sequence[str] = S2_BANDS,
    tolerance: float = 0.01,
    cog: bool = True,
    grid: Grid | None = None,
    min_clear: float = 0.5,
) -> NetcdfBuildReport:
    """Write a cube of the clearest acquisitions near ``dates`` from a 10 m netCDF stack.

    Args:
        stack_path: the 10 m stack (B02, B03, B04, B08).
        scl_path: the 20 m stack with ``SCL`` (same timestamps and area).
        dates: wanted dates.
        output: destination GeoTIFF.
        max_days: search window around each wanted date.
        bands: bands per date.
        tolerance: clear fractions this close to the best count as equally clear.
        cog: write a COG.
        grid: write only this part of the stack (a grid aligned with the stack's, inside it); the
            clear fractions are then counted inside it too. Default: the whole stack.
        min_clear: a chosen acquisition with a smaller clear fraction is reported as a warning
            (logged and in the report's summary).

    Returns:
        A :class:`NetcdfBuildReport`.

    Raises:
        InputError: unreadable files, missing bands, different timestamps or area in the two
            stacks, no acquisition near a wanted date; nothing is written then.
    """
    stack = open_stack(stack_path)
    wanted = list(CubeSpec(dates=tuple(dates), bands=tuple(bands)).dates)  # type: ignore[arg-type]
    missing = [b for b in bands if b not in stack.variables]
    if missing:
        raise InputError(str(stack_path), f"bands {missing} missing (has {list(stack.variables)})")
    scl_stack = open_stack(scl_path)
    if scl_stack.dates != stack.dates:
        raise InputError(str(scl_path), f"timestamps differ from those of {stack_path}")
    if (
        not np.allclose(scl_stack.grid.bounds, stack.grid.bounds)
        or scl_stack.grid.rasterio_crs != stack.grid.rasterio_crs
    ):
        raise InputError(
            str(scl_path), f"area {scl_stack.grid} differs from that of {stack_path} ({stack.grid})"
        )
    target = stack.grid
    row0 = col0 = 0
    if grid is not None:
        if not stack.grid.contains(grid):  # also raises when not aligned with the stack's pixels
            raise InputError(
                grid.source or "target grid", f"{grid} is not inside {stack_path} ({stack.grid})"
            )
        offset = stack.grid.window_of(grid)
        row0, col0, target = int(offset.row_off), int(offset.col_off), grid
    scl_dates, clear = clear_fractions(scl_path, area=target)
    choices = choose_clearest(wanted, scl_dates, clear.tolist(), max_days, tolerance, str(stack_path))
    if not 0 <= min_clear <= 1:
        raise InputError("min-clear", f"{min_clear} is not a fraction 0..1")
    warnings = cloudy_choices(choices, min_clear, max_days)
    for w in warnings:
        log.warning("%s", w)
    with _dataset(stack_path) as ds:
        dtypes = {ds.variables[b].dtype.name for b in bands}
        if len(dtypes) != 1:
            raise InputError(str(stack_path), f"bands have mixed dtypes {sorted(dtypes)}")
        spec = CubeSpec(
            dates=tuple(c.chosen for c in choices),
            bands=tuple(bands),
            dtype=dtypes.pop(),
            crs=target.crs,
            resolution=target.resolution[0],
        )

        def fill(window: Window) -> npt.NDArray[Any]:
            rows = slice(row0 + int(window.row_off), row0 + int(window.row_off + window.height))
            cols = slice(col0 + int(window.col_off), col0 + int(window.col_off + window.width))
            return np.stack([ds.variables[b][c.index, rows, cols] for c in choices for b in bands])

        tags = {
            "CROPCUBE_WANTED_DATES": ",".join(d.isoformat() for d in wanted),
            "CROPCUBE_CLEAR_FRACTIONS": ",".join(f"{c.clear_fraction:.3f}" for c in choices),
            "CROPCUBE_SOURCE": Path(stack_path).name,
        }
        path = write_cube(output, target, spec, fill, cog=cog, tags=tags)
    return NetcdfBuildReport(Path(path), target, choices, warnings)
