"""The GeoTIFFs an ingest reads: grid, band count and type checked once, pixels read tile by tile.

:func:`open_inputs` is the one check of an ingest's files (both routes, before any server is asked).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.typing as npt
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from cropcube.cube_spec import CubeSpec
from cropcube.errors import InputError
from cropcube.io.checks import require_file
from cropcube.rasdaman import metadata
from cropcube.rasdaman.grid import epsg, pixel_size
from cropcube.readers.grid import Grid


@dataclass(frozen=True)
class Source:
    """A raster to ingest: path, north-up grid, band count and type."""

    path: Path
    grid: Grid
    count: int
    dtype: str


@dataclass(frozen=True)
class Inputs:
    """The checked files of one ingest: the cube (with its layout) and/or the labels on its grid."""

    cube: Source | None
    spec: CubeSpec | None
    labels: Source | None


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
        if src.crs is None:
            raise InputError(str(path), f"{what} has no CRS")
        grid = Grid.of_dataset(src, source=str(path))
        epsg(grid), pixel_size(grid)  # petascope and the ingest's records need both
        return Source(path, grid, src.count, src.dtypes[0]), list(src.descriptions)


def open_inputs(cube: str | Path | None, labels: str | Path | None) -> Inputs:
    """Open and check an ingest's files: a 28-band cube in the bundle layout, uint8 labels on its grid.

    Raises:
        InputError: neither given, a file that is not such a raster, or labels on another grid.
    """
    if cube is None and labels is None:
        raise InputError("ingest", "give a cube, labels, or both")
    cube_source = spec = label_source = None
    if cube is not None:
        cube_source, descriptions = open_source(Path(cube), "cube")
        spec = CubeSpec.from_descriptions(
            descriptions, where=str(cube), crs=cube_source.grid.crs, resolution=pixel_size(cube_source.grid)
        )
        found = f"{cube_source.count} {cube_source.dtype}"
        if cube_source.dtype != spec.dtype or cube_source.count != spec.n_channels:
            raise InputError(str(cube), f"expected {spec.n_channels} {spec.dtype} bands, found {found} bands")
    if labels is not None:
        label_source, _ = open_source(Path(labels), "labels")
        if label_source.count != 1 or label_source.dtype != "uint8":
            raise InputError(
                str(labels), f"labels must be one uint8 band, found {label_source.count} {label_source.dtype}"
            )
        if cube_source is not None:
            cube_source.grid.require_same(label_source.grid, "labels")
    return Inputs(cube_source, spec, label_source)


def strips(source: Source, tile: int) -> Iterator[tuple[int, int, npt.NDArray[Any]]]:
    """``(col, row, pixels (bands, h, w))`` of every tile, row by row."""
    with rasterio.open(source.path) as src:
        for row in range(0, source.grid.height, tile):
            for col in range(0, source.grid.width, tile):
                w, h = min(tile, source.grid.width - col), min(tile, source.grid.height - row)
                yield col, row, src.read(window=Window(col, row, w, h))


def source_hash(source: Source, tile: int) -> str:
    """``sha256:<hex>`` of the grid, type and every tile's pixels."""
    grid = json.dumps(source.grid.to_dict(), sort_keys=True)
    h = hashlib.sha256(f"{grid}|{source.dtype}|{source.count}".encode())
    for _, _, arr in strips(source, tile):
        h.update(metadata.data_hash(arr).encode())
    return "sha256:" + h.hexdigest()
