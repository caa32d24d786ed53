"""GeoTIFF bytes in and out of memory (tiles travel over HTTP, never through half-written files)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.io import MemoryFile

from cropcube.errors import InputError
from cropcube.readers.grid import Grid


def encode_tile(array: npt.NDArray[Any], grid: Grid, nodata: float | None = 0) -> bytes:
    """A (bands, rows, cols) or (rows, cols) array on ``grid`` as GeoTIFF bytes."""
    arr = array[None] if array.ndim == 2 else array
    if arr.shape[1:] != (grid.height, grid.width):
        raise InputError("tile", f"array {arr.shape[1:]} does not match grid {grid.height}x{grid.width}")
    with MemoryFile() as mem:
        with mem.open(
            driver="GTiff",
            width=grid.width,
            height=grid.height,
            count=arr.shape[0],
            dtype=arr.dtype.name,
            crs=grid.crs,
            transform=grid.transform,
            nodata=nodata,
            compress="deflate",
        ) as dst:
            dst.write(arr)
        return bytes(mem.read())


def encode_plain(array: npt.NDArray[Any]) -> bytes:
    """A (bands, rows, cols) or (rows, cols) array as GeoTIFF bytes without georeferencing.

    For rasql ``decode``, which places it by grid index.
    """
    arr = array[None] if array.ndim == 2 else array
    with warnings.catch_warnings(), MemoryFile() as mem:
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with mem.open(
            driver="GTiff",
            width=arr.shape[2],
            height=arr.shape[1],
            count=arr.shape[0],
            dtype=arr.dtype.name,
            compress="deflate",
        ) as dst:
            dst.write(arr)
        return bytes(mem.read())


def decode_tile(data: bytes, what: str) -> tuple[npt.NDArray[Any], Any]:
    """Pixels (bands, rows, cols) and transform of GeoTIFF bytes.

    Raises:
        InputError: the bytes are not a raster GDAL can read.
    """
    try:
        with MemoryFile(data) as mem, mem.open() as src:
            return src.read(), src.transform
    except rasterio.errors.RasterioIOError as exc:
        head = data[:80].decode("utf-8", "replace")
        raise InputError(what, f"answer is not a GeoTIFF ({exc}; starts with {head!r})") from None


def expect_shape(array: npt.NDArray[Any], bands: int, height: int, width: int, what: str) -> npt.NDArray[Any]:
    """``array`` if it is (bands, height, width), else a clear error."""
    if array.shape != (bands, height, width):
        raise InputError(what, f"server returned shape {array.shape}, expected {(bands, height, width)}")
    return np.ascontiguousarray(array)
