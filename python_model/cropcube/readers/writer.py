"""Stream a cube to a tiled GeoTIFF or COG window by window, never holding it whole in memory."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.windows import Window

from cropcube.cube_spec import CubeSpec
from cropcube.errors import InputError
from cropcube.io.atomic import atomic_output
from cropcube.io.geotiff import copy_to_cog, describe, tiled_profile
from cropcube.readers.grid import Grid

log = logging.getLogger(__name__)

CHUNK = 1024
"""Rows/cols of the windows the pixels are produced in (a multiple of :data:`cropcube.io.geotiff.TILE`)."""


def chunk_windows(grid: Grid, chunk: int = CHUNK) -> Iterator[Window]:
    """Windows of at most ``chunk`` x ``chunk`` pixels covering the grid, row by row."""
    for row in range(0, grid.height, chunk):
        for col in range(0, grid.width, chunk):
            yield Window(col, row, min(chunk, grid.width - col), min(chunk, grid.height - row))


def write_cube(
    path: str | Path,
    grid: Grid,
    spec: CubeSpec,
    fill: Callable[[Window], npt.NDArray[Any]],
    *,
    cog: bool = True,
    tags: Mapping[str, str] | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a cube whose pixels ``fill(window)`` produces, one window at a time.

    The pixels go into a tiled, DEFLATE-compressed GeoTIFF under a temporary name; for a COG that
    file is then converted by GDAL's COG driver (which streams too), without overviews. The result
    appears at ``path`` only when complete: on any error nothing is left behind.

    Args:
        path: destination (.tif).
        grid: the output grid.
        spec: the layout; gives the band count, dtype, nodata and ``YYYY-MM-DD_Bxx`` descriptions.
        fill: returns the (channels, rows, cols) pixels of a window, date-major.
        cog: write a Cloud-Optimized GeoTIFF (else a plain tiled GeoTIFF).
        tags: dataset metadata items (provenance).
        chunk: window size in pixels.
        progress: called with (windows done, windows total).

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    windows = list(chunk_windows(grid, chunk))
    profile = tiled_profile(
        grid.width,
        grid.height,
        spec.n_channels,
        spec.dtype,
        grid.rasterio_crs,
        grid.transform,
        spec.nodata,
        interleave="band" if cog else "pixel",
        tiled=True,
    )
    with atomic_output(path) as tmp:
        # The staging name starts with the temporary name: a failed or killed run's staging file is
        # removed with it (and found as an orphan by the next run).
        staging = tmp.with_name(tmp.name + ".tiled.tif") if cog else tmp
        try:
            with rasterio.open(staging, "w", **profile) as dst:
                all_tags = {"CROPCUBE_SPEC": _spec_tag(spec), **dict(tags or {})}
                describe(dst, spec.descriptions(), tags=all_tags)
                _write_windows(dst, windows, fill, spec, path, progress)
            if cog:
                copy_to_cog(staging, tmp, overview_resampling=None)
        finally:
            if cog:
                staging.unlink(missing_ok=True)
    log.info("wrote %s (%s)", path, grid)
    return path


def _write_windows(
    dst: Any,
    windows: list[Window],
    fill: Callable[[Window], npt.NDArray[Any]],
    spec: CubeSpec,
    path: Path,
    progress: Callable[[int, int], None] | None,
) -> None:
    for done, window in enumerate(windows, start=1):
        block = np.asarray(fill(window))
        expected = (spec.n_channels, int(window.height), int(window.width))
        if block.shape != expected:
            raise InputError(str(path), f"internal: window {window} gave {block.shape}, expected {expected}")
        dst.write(block.astype(spec.dtype, copy=False), window=window)
        if progress is not None:
            progress(done, len(windows))


def _spec_tag(spec: CubeSpec) -> str:
    return json.dumps(spec.to_dict(), separators=(",", ":"))
