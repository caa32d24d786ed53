"""Open and read 28-band Sentinel-2 cubes and single-band label rasters, with checks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window

from cropcube.cube_spec import REFERENCE_2018_SPEC, CubeSpec
from cropcube.errors import InputError
from cropcube.io.checks import require_file
from cropcube.readers.grid import Grid

_DESCRIPTION = re.compile(r"^(\d{4}-\d{2}-\d{2})_(B\d{2}A?)$")


@dataclass(frozen=True)
class CubeInfo:
    """What :func:`open_cube` learned about a cube file.

    Attributes:
        path: the file.
        spec: dates, bands and dtype of the cube (from its band descriptions when present).
        grid: its raster grid.
        dtype: storage dtype of the bands.
        block_shape: internal (rows, cols) block size; reading whole blocks is fastest.
        nodata: the file's nodata value, if any.
        band_indexes: 1-based file band of each date-major channel (identity for date-major files;
            a band-major file is reordered on read).
        described: True when the spec came from the band descriptions (else it was assumed).
        descriptions: the file's band descriptions as GDAL reports them (None for a band without).
    """

    path: Path
    spec: CubeSpec
    grid: Grid
    dtype: str
    block_shape: tuple[int, int]
    nodata: float | None
    band_indexes: tuple[int, ...]
    described: bool
    descriptions: tuple[str | None, ...] = ()

    @property
    def count(self) -> int:
        """Number of channels (dates x bands)."""
        return len(self.band_indexes)


def _open(path: str | Path, what: str = "raster") -> Any:
    require_file(path, what)
    try:
        return rasterio.open(path)
    except RasterioError as exc:
        raise InputError(str(path), f"cannot open as a {what} (not a raster, or corrupt): {exc}") from None


def _parse_descriptions(descriptions: Sequence[str | None]) -> list[tuple[str, str]] | None:
    """(date, band) per file band, or None when any description is not ``YYYY-MM-DD_Bxx``."""
    parsed = []
    for d in descriptions:
        m = _DESCRIPTION.match(d or "")
        if not m:
            return None
        parsed.append((m.group(1), m.group(2)))
    return parsed


def _spec_from_parsed(
    parsed: list[tuple[str, str]], where: str, **kw: Any
) -> tuple[CubeSpec, tuple[int, ...]]:
    """Spec (dates sorted, bands in first-seen order) and the file band of each date-major channel."""
    if len(set(parsed)) != len(parsed):
        raise InputError(where, "band descriptions repeat a date/band pair")
    dates = sorted({d for d, _ in parsed})
    bands: list[str] = []
    for _, b in parsed:
        if b not in bands:
            bands.append(b)
    position = {pair: i + 1 for i, pair in enumerate(parsed)}
    missing = [f"{d}_{b}" for d in dates for b in bands if (d, b) not in position]
    if missing:
        raise InputError(
            where, f"band descriptions are not a full grid of dates x bands; missing {missing[:5]}"
        )
    try:
        spec = CubeSpec(dates=tuple(dt.date.fromisoformat(d) for d in dates), bands=tuple(bands), **kw)
    except ValueError as exc:
        raise InputError(where, f"bad band descriptions: {exc}") from None
    return spec, tuple(position[(d, b)] for d in dates for b in bands)


def open_cube(path: str | Path, spec: CubeSpec | None = None) -> CubeInfo:
    """Open a cube file and check that it is a cube.

    The layout comes from the band descriptions ``YYYY-MM-DD_Bxx`` when every band has one; a
    band-major file is accepted and reordered on read. Without descriptions, ``spec`` (default: the
    2018 reference layout) is assumed when the band count matches.

    Args:
        path: a GeoTIFF/COG (or any raster GDAL reads) with one band per (date, band).
        spec: the expected layout. When given and the descriptions say otherwise, that is an error.

    Returns:
        The cube's :class:`CubeInfo`.

    Raises:
        InputError: unreadable file, wrong band count, unsupported dtype, bad descriptions, no CRS,
            or a layout different from ``spec``; the message names the file.
    """
    where = str(path)
    with _open(path, "cube") as ds:
        grid = Grid.of_dataset(ds, source=where)
        dtypes = set(ds.dtypes)
        if len(dtypes) != 1:
            raise InputError(where, f"bands have mixed dtypes {sorted(dtypes)}")
        dtype = ds.dtypes[0]
        if dtype not in ("uint16", "int16", "float32"):
            raise InputError(where, f"dtype {dtype} is not a cube dtype (uint16, int16 or float32)")
        parsed = _parse_descriptions(ds.descriptions)
        xres = grid.resolution[0]
        kw = {"dtype": dtype, "crs": grid.crs, "resolution": xres}
        if spec is not None:
            kw["nodata"] = spec.nodata
            kw["dn_scale"] = spec.dn_scale
        if parsed is not None:
            found, indexes = _spec_from_parsed(parsed, where, **kw)
            if spec is not None and (found.dates != spec.dates or found.bands != spec.bands):
                raise InputError(
                    where,
                    f"band descriptions give dates {[d.isoformat() for d in found.dates]} and bands "
                    f"{list(found.bands)}, expected {[d.isoformat() for d in spec.dates]} "
                    f"and {list(spec.bands)}",
                )
            described = True
        else:
            assumed = spec or REFERENCE_2018_SPEC
            if ds.count != assumed.n_channels:
                raise InputError(
                    where,
                    f"{ds.count} bands without 'YYYY-MM-DD_Bxx' descriptions; expected {assumed.n_channels} "
                    f"({assumed.n_dates} dates x {assumed.n_bands} bands), "
                    "or give the cube's dates with --dates",
                )
            found = CubeSpec(
                dates=assumed.dates,
                bands=assumed.bands,
                nodata=assumed.nodata,
                dn_scale=assumed.dn_scale,
                dtype=dtype,
                crs=grid.crs,
                resolution=xres,
            )
            indexes = tuple(range(1, ds.count + 1))
            described = False
        if spec is not None and found.n_channels != ds.count:
            raise InputError(where, f"{ds.count} bands, expected {spec.n_channels}")
        block = ds.block_shapes[0]
        return CubeInfo(
            path=Path(path),
            spec=found,
            grid=grid,
            dtype=dtype,
            block_shape=(int(block[0]), int(block[1])),
            nodata=ds.nodata,
            band_indexes=indexes,
            described=described,
            descriptions=tuple(ds.descriptions),
        )


def open_cube_with_dates(
    path: str | Path, dates: Sequence[dt.date], bands: Sequence[str] = REFERENCE_2018_SPEC.bands
) -> CubeInfo:
    """:func:`open_cube` for a cube whose dates the user gave (``--dates``): any T, checked against them.

    Raises:
        InputError: as :func:`open_cube`; ``--dates`` whose count does not fit the band count, or
            band descriptions with other dates.
    """
    with _open(path, "cube") as ds:
        count = ds.count
    if count != len(dates) * len(bands):
        raise InputError(
            "--dates",
            f"{len(dates)} dates given, but {path} has {count} bands "
            f"({count / len(bands):g} dates of {len(bands)} bands {', '.join(bands)})",
        )
    return open_cube(path, CubeSpec(dates=tuple(dates), bands=tuple(bands)))


def _checked_window(window: Window, grid: Grid, where: str) -> Window:
    w = Window(*(int(v) for v in (window.col_off, window.row_off, window.width, window.height)))
    if (
        w.col_off < 0
        or w.row_off < 0
        or w.width < 1
        or w.height < 1
        or (w.col_off + w.width > grid.width or w.row_off + w.height > grid.height)
    ):
        raise InputError(where, f"window {w} is outside the {grid.width}x{grid.height} raster")
    return w


def read_cube(
    path: str | Path, window: Window | None = None, spec: CubeSpec | None = None
) -> npt.NDArray[Any]:
    """Read a cube (or a window of it) as a (channels, rows, cols) array in date-major order.

    Args:
        path: the cube file.
        window: rows/cols to read (default: all). Parts outside the file are not allowed.
        spec: expected layout, as for :func:`open_cube`.

    Returns:
        The pixels in their native dtype (uint16 digital numbers for Sentinel-2 L2A).

    Raises:
        InputError: as :func:`open_cube`, or a window outside the file.
    """
    info = open_cube(path, spec)
    if window is not None:
        window = _checked_window(window, info.grid, str(path))
    try:
        with rasterio.open(path) as ds:
            return np.asarray(ds.read(list(info.band_indexes), window=window))
    except RasterioError as exc:
        raise InputError(str(path), f"cannot read pixels (truncated or corrupt file?): {exc}") from None


def read_single_band(
    path: str | Path, grid: Grid | None = None, what: str = "raster", window: Window | None = None
) -> npt.NDArray[Any]:
    """Read a single-band integer raster (labels, crop codes, parcel ids) with its raw values.

    Args:
        path: the raster.
        grid: the grid it must be on (usually the cube's ``open_cube(...).grid``).
        what: what the raster is, for messages (``"label raster"``, ``"parcel-id raster"``).
        window: rows/cols to read (default: all).

    Raises:
        InputError: missing/unreadable file, more than one band (which would be ambiguous), a
            floating-point dtype (values would be truncated), or a grid different from ``grid``.
    """
    where = str(path)
    with _open(path, what) as ds:
        raster_grid = Grid.of_dataset(ds, source=where)
        if ds.count != 1:
            raise InputError(where, f"a {what} has 1 band, this one has {ds.count}: which one is meant?")
        if not np.issubdtype(np.dtype(ds.dtypes[0]), np.integer):
            raise InputError(
                where, f"{what} dtype {ds.dtypes[0]} is not an integer type (values would be truncated)"
            )
        if grid is not None:
            grid.require_same(raster_grid, what)
        if window is not None:
            window = _checked_window(window, raster_grid, where)
        try:
            return np.asarray(ds.read(1, window=window))
        except RasterioError as exc:
            raise InputError(where, f"cannot read pixels (truncated or corrupt file?): {exc}") from None


def read_label_raster(
    path: str | Path, grid: Grid | None = None, window: Window | None = None
) -> npt.NDArray[np.uint8]:
    """Read a single-band class-index raster (0 = no label) as uint8.

    Args:
        path: the label raster.
        grid: the grid it must be on (usually the cube's ``open_cube(...).grid``).
        window: rows/cols to read (default: all), e.g. the same window as :func:`read_cube`.

    Returns:
        (rows, cols) uint8 class indices.

    Raises:
        InputError: as :func:`read_single_band`, or values that are not class indices 0..255
            (the message names both files and what differs when the grids differ).
    """
    where = str(path)
    data = read_single_band(path, grid, "label raster", window)
    if data.size and (int(data.min()) < 0 or int(data.max()) > 255):
        raise InputError(
            where,
            f"values {int(data.min())}..{int(data.max())} are not class indices 0..255 "
            "(crop codes? convert them with `cropcube labels brp` or `cropcube labels flanders`)",
        )
    return data.astype(np.uint8)
