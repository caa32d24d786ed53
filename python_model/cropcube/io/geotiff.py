"""The one GeoTIFF/COG writer: tiled DEFLATE profiles, the COG conversion, and arrays to files.

Three kinds of file use it: cubes streamed window by window (:mod:`cropcube.readers.writer`), class
maps streamed block by block (:mod:`cropcube.inference.files`) and small rasters written from an array
(:func:`write_geotiff`: labels, parcel ids, evaluation maps). Each writes a tiled GeoTIFF and converts
it with GDAL's COG driver through :func:`copy_to_cog`, so every COG cropcube writes has the same
layout (256-px blocks, DEFLATE with predictor, BigTIFF when needed).
"""

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
from cropcube.io.atomic import Publication, atomic_output

TILE = 256
"""Internal tile edge of every GeoTIFF/COG written (also the COG block size)."""


def tiled_profile(
    width: int,
    height: int,
    count: int,
    dtype: str,
    crs: str | CRS,
    transform: Affine,
    nodata: float | None = 0,
    *,
    interleave: str = "band",
    compress: bool = True,
    tiled: bool | None = None,
) -> dict[str, Any]:
    """The rasterio profile of a tiled, DEFLATE-compressed GeoTIFF (BigTIFF when needed).

    ``tiled=None``: rasters smaller than one tile in both directions are written striped (GDAL would
    pad the tile); True or False forces the layout.
    """
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": int(width),
        "height": int(height),
        "count": int(count),
        "dtype": dtype,
        "crs": CRS.from_user_input(crs),
        "transform": transform,
        "nodata": nodata,
        "interleave": interleave,
        "BIGTIFF": "IF_SAFER",
    }
    if compress:
        profile.update(compress="deflate", predictor=2 if np.issubdtype(np.dtype(dtype), np.integer) else 3)
    if tiled or (tiled is None and (width >= TILE or height >= TILE)):
        profile.update(tiled=True, blockxsize=TILE, blockysize=TILE)
    return profile


def copy_to_cog(source: Any, path: str | Path, overview_resampling: str | None = "nearest") -> None:
    """Convert a GeoTIFF (a path or an open dataset) to a Cloud-Optimized GeoTIFF at ``path``.

    ``path`` is written directly: callers give a temporary path from :mod:`cropcube.io.atomic`.

    Args:
        source: the tiled source file or dataset.
        path: the COG to write.
        overview_resampling: resampling of the internal overviews (``nearest`` keeps class values),
            or None for no overviews (28-band data cubes: they serve no viewer and cost more than the
            whole write, 190 s vs 9 s measured at 2048 x 2048).
    """
    options: dict[str, Any] = {
        "driver": "COG",
        "compress": "DEFLATE",
        "predictor": "YES",
        "blocksize": TILE,
        "BIGTIFF": "IF_SAFER",
        "NUM_THREADS": "ALL_CPUS",
    }
    if overview_resampling is None:
        options["OVERVIEWS"] = "NONE"
    else:
        options["overview_resampling"] = overview_resampling
    rio_copy(source if not isinstance(source, Path) else str(source), str(path), **options)


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
    pub: Publication | None = None,
    last: bool = False,
) -> Path:
    """Write a (bands, rows, cols) or (rows, cols) array as a tiled, DEFLATE-compressed GeoTIFF.

    With ``cog=True`` the file is a Cloud-Optimized GeoTIFF with internal overviews. The file appears
    at ``path`` only when complete: at once, or with the other outputs of ``pub``.

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
        pub: stage the file in this publication (published with its other outputs) instead of
            publishing it at once.
        last: with ``pub``: rename this file after the publication's others.

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
    profile = tiled_profile(width, height, count, arr.dtype.name, crs, transform, nodata, compress=not cog)
    tags_etc = (descriptions, colormap, tags, band_tags)
    if pub is not None:
        _render(pub.stage(path, last=last), arr, profile, tags_etc, cog, overview_resampling)
    else:
        with atomic_output(path) as tmp:
            _render(tmp, arr, profile, tags_etc, cog, overview_resampling)
    return path


def _render(
    tmp: Path,
    arr: npt.NDArray[Any],
    profile: dict[str, Any],
    tags_etc: tuple[Any, Any, Any, Any],
    cog: bool,
    overview_resampling: Resampling,
) -> None:
    if not cog:
        with rasterio.open(tmp, "w", **profile) as dst:
            describe(dst, *tags_etc)
            dst.write(arr)
        return
    with rasterio.MemoryFile() as mem:
        with mem.open(**profile) as dst:
            describe(dst, *tags_etc)
            dst.write(arr)
        with mem.open() as src:
            copy_to_cog(src, tmp, overview_resampling.name)


def describe(
    dst: Any,
    descriptions: Sequence[str] | None = None,
    colormap: Mapping[int, tuple[int, int, int, int]] | None = None,
    tags: Mapping[str, str] | None = None,
    band_tags: Sequence[Mapping[str, str]] | None = None,
) -> None:
    """Set band descriptions, the palette of band 1, dataset tags and band tags of an open dataset."""
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
