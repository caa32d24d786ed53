"""The GeoTIFFs an ingest reads: grid, band count and type checked once, pixels read tile by tile."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.typing as npt
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from cropcube.errors import InputError
from cropcube.io.checks import require_file
from cropcube.rasdaman import metadata
from cropcube.rasdaman.grid import CoverageGrid


@dataclass(frozen=True)
class Source:
    """A raster to ingest: path, north-up grid, band count and type."""

    path: Path
    grid: CoverageGrid
    count: int
    dtype: str


def open_source(path: Path, what: str) -> tuple[Source, list[str]]:
    """The source and its band descriptions.

    Raises:
        InputError: missing, not a regular file, not a raster GDAL reads, no EPSG CRS, not north-up.
    """
    require_file(path, what)
    try:
        src_ctx = rasterio.open(path)
    except RasterioIOError as exc:
        reason = str(exc).splitlines()[0][:200]
        raise InputError(str(path), f"{what} is not a raster GDAL can read ({reason})") from None
    with src_ctx as src:
        if src.crs is None or src.crs.to_epsg() is None:
            raise InputError(str(path), f"{what} has no EPSG CRS")
        t = src.transform
        if t.b != 0 or t.d != 0 or t.e != -t.a:
            raise InputError(str(path), f"{what} grid is not north-up with square pixels")
        grid = CoverageGrid(f"EPSG:{src.crs.to_epsg()}", t.c, t.f, t.a, src.width, src.height)
        return Source(path, grid, src.count, src.dtypes[0]), list(src.descriptions)


def strips(source: Source, tile: int) -> Iterator[tuple[int, int, npt.NDArray[Any]]]:
    """``(col, row, pixels (bands, h, w))`` of every tile, row by row."""
    with rasterio.open(source.path) as src:
        for row in range(0, source.grid.height, tile):
            for col in range(0, source.grid.width, tile):
                w, h = min(tile, source.grid.width - col), min(tile, source.grid.height - row)
                yield col, row, src.read(window=Window(col, row, w, h))


def source_hash(source: Source, tile: int) -> str:
    """``sha256:<hex>`` of the grid, type and every tile's pixels."""
    h = hashlib.sha256(f"{source.grid}|{source.dtype}|{source.count}".encode())
    for _, _, arr in strips(source, tile):
        h.update(metadata.data_hash(arr).encode())
    return "sha256:" + h.hexdigest()
