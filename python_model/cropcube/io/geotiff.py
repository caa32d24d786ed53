"""Writing tiled, compressed GeoTIFFs and Cloud-Optimized GeoTIFFs (COG), atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.shutil import copy as rio_copy
from rasterio.transform import Affine

from cropcube.errors import InputError
from cropcube.io.atomic import atomic_output

_TILE = 256


def write_geotiff(
    path: str | Path,
    data: npt.NDArray[Any],
    transform: Affine,
    crs: str | CRS,
    *,
    nodata: float | None = 0,
    descriptions: Sequence[str] | None = None,
    colormap: Mapping[int, tuple[int, int, int, int]] | None = None,
    tags: Mapping[str, str] | None = None,
    band_tags: Sequence[Mapping[str, str]] | None = None,
    cog: bool = True,
    overview_resampling: Resampling = Resampling.nearest,
) -> Path:
    """Write a (bands, rows, cols) or (rows, cols) array as a tiled, DEFLATE-compressed GeoTIFF.

    With ``cog=True`` the file is a Cloud-Optimized GeoTIFF with internal overviews. The file appears
    at ``path`` only when complete.

    Args:
        path: destination file.
        data: the pixels.
        transform: affine geotransform of the grid.
        crs: coordinate reference system.
        nodata: nodata value (None for none).
        descriptions: one description per band (e.g. ``2018-01-08_B02``).
        colormap: palette for single-band uint8 output (index -> RGBA).
        tags: dataset-level metadata items.
        band_tags: per-band metadata items.
        cog: write a COG (with overviews) instead of a plain tiled GeoTIFF.
        overview_resampling: resampling of overviews (nearest for classes).

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    arr = np.asarray(data)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise InputError(str(path), f"cannot write an array of shape {np.shape(data)} as a raster")
    count, height, width = arr.shape
    if descriptions is not None and len(descriptions) != count:
        raise InputError(str(path), f"{len(descriptions)} band descriptions for {count} bands")
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": arr.dtype.name,
        "crs": CRS.from_user_input(crs),
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
        "predictor": 2 if np.issubdtype(arr.dtype, np.integer) else 3,
        "interleave": "band",
        "BIGTIFF": "IF_SAFER",
    }
    if width >= _TILE or height >= _TILE:
        profile.update(tiled=True, blockxsize=_TILE, blockysize=_TILE)
    with atomic_output(path) as tmp:
        if cog:
            mem_profile = {k: v for k, v in profile.items() if k not in ("compress", "predictor")}
            with rasterio.MemoryFile() as mem:
                with mem.open(**mem_profile) as dst:
                    _fill(dst, arr, descriptions, colormap, tags, band_tags)
                    factors = _overview_factors(width, height)
                    if factors:
                        dst.build_overviews(factors, overview_resampling)
                with mem.open() as src:
                    rio_copy(
                        src,
                        str(tmp),
                        driver="COG",
                        compress="DEFLATE",
                        predictor="YES",
                        blocksize=_TILE,
                        overview_resampling=overview_resampling.name,
                        BIGTIFF="IF_SAFER",
                    )
        else:
            with rasterio.open(tmp, "w", **profile) as dst:
                _fill(dst, arr, descriptions, colormap, tags, band_tags)
    return path


def _fill(
    dst: Any,
    arr: npt.NDArray[Any],
    descriptions: Sequence[str] | None,
    colormap: Mapping[int, tuple[int, int, int, int]] | None,
    tags: Mapping[str, str] | None,
    band_tags: Sequence[Mapping[str, str]] | None,
) -> None:
    dst.write(arr)
    if descriptions is not None:
        for i, d in enumerate(descriptions, start=1):
            dst.set_band_description(i, d)
    if colormap is not None:
        dst.write_colormap(1, dict(colormap))
    if tags:
        dst.update_tags(**tags)
    if band_tags:
        for i, t in enumerate(band_tags, start=1):
            dst.update_tags(i, **t)


def _overview_factors(width: int, height: int) -> list[int]:
    factors = []
    f = 2
    while max(width, height) // f >= _TILE // 2:
        factors.append(f)
        f *= 2
    return factors
