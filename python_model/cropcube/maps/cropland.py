"""Pixels that are not cropland, for maps made without parcels.

The model knows 76 crops and no "not a crop": without ``--parcels`` every pixel gets the crop it
resembles most, roads and ditches included. Two remedies, used together:

* a **cropland mask** (:func:`cropland_mask`): any polygon layer (last year's BRP, a cropland layer)
  or a raster (non-zero = cropland) on any grid; pixels outside it become 0. This is the remedy that
  works: at 10 m most off-parcel pixels are vegetated mixtures (verges, ditch banks, hedges) that no
  spectral rule tells from grassland.
* a **spectral rule** (:func:`not_cropland`), always applied without parcels: pixels that are never
  green in the season (max NDVI below :data:`NDVI_MAX_BELOW`: asphalt, roofs, bare yards) or mostly
  water (NDWI above 0 on more than half the valid dates, :data:`WATER_DATES_SHARE`: canals, wide
  ditches, ponds) become 0. It only
  removes the clear cases (measured in docs/maps.md: about 1-9 % of off-parcel pixels, < 0.02 % of
  parcel pixels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.cube_spec import CubeSpec
from cropcube.errors import InputError
from cropcube.readers.grid import Grid

NDVI_MAX_BELOW = 0.3
"""Never green: every crop (and grass) passes NDVI 0.3 at some date of the season."""
WATER_DATES_SHARE = 0.5
"""Water: NDWI (green vs NIR) above 0 on more than this share of the valid dates; crops and grass
stay below -0.2."""
CLOUD_B02_REFLECTANCE = 0.2
"""Dates with a brighter blue band are taken as cloud and left out of the rule."""
_VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml", ".sqlite")


def not_cropland(block: npt.NDArray[Any], spec: CubeSpec) -> npt.NDArray[np.bool_]:
    """Pixels of a cube block (T*C, H, W) that are clearly not cropland (water, never green).

    Dates where every band equals the nodata value, or that look cloudy, are left out; a pixel
    without any valid date is not flagged (it is nodata already). Cubes without B03, B04 and B08
    flag nothing.
    """
    bands = list(spec.bands)
    if block.ndim != 3 or not {"B02", "B03", "B04", "B08"} <= set(bands):
        return np.zeros(block.shape[-2:], dtype=bool)
    n_bands = len(bands)
    if block.shape[0] % n_bands:
        raise InputError("cube block", f"{block.shape[0]} channels are not dates x {n_bands} bands")
    # Date by date on views of the block (no copy of the cube, no (dates, H, W) temporaries).
    # Without divisions: NDVI >= t  <=>  (1 - t) B08 >= (1 + t) B04;  NDWI > 0  <=>  B03 > B08.
    at = {name: j for j, name in enumerate(bands)}
    lo, hi = np.float32(1 - NDVI_MAX_BELOW), np.float32(1 + NDVI_MAX_BELOW)
    cloud = CLOUD_B02_REFLECTANCE / spec.dn_scale
    shape = block.shape[1:]
    n_valid, n_wet, green = np.zeros(shape, np.int32), np.zeros(shape, np.int32), np.zeros(shape, bool)
    for t in range(block.shape[0] // n_bands):
        date = block[t * n_bands : (t + 1) * n_bands]
        b02, b03, b04, b08 = (date[at[b]] for b in ("B02", "B03", "B04", "B08"))
        valid = (date != spec.nodata).any(axis=0) & (b02 < cloud)
        n_valid += valid
        n_wet += valid & (b03 > b08)
        green |= valid & (lo * b08.astype(np.float32) >= hi * b04.astype(np.float32))
    return (n_valid > 0) & (~green | (n_wet > WATER_DATES_SHARE * n_valid))


def cropland_mask(path: str | Path, grid: Grid) -> npt.NDArray[np.bool_]:
    """A cropland mask on ``grid`` (True = cropland) from a polygon layer or a raster.

    Polygons (GeoPackage and other OGR vector files; every polygon is cropland, in any CRS) are
    burnt at pixel centres. A raster (non-zero = cropland, its nodata = not cropland) is resampled
    to the grid by nearest neighbour, whatever its own grid and CRS.

    Raises:
        InputError: an unreadable file, a layer without polygons, or a mask that covers no pixel.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "cropland mask: file does not exist")
    read = _vector_mask if path.suffix.lower() in _VECTOR_SUFFIXES else _raster_mask
    mask = read(path, grid)
    if not mask.any():
        raise InputError(
            str(path), f"cropland mask covers no pixel of the map ({grid}): check its area and CRS"
        )
    return mask


def _vector_mask(path: Path, grid: Grid) -> npt.NDArray[np.bool_]:
    import pyogrio
    import shapely
    from pyogrio.errors import DataLayerError, DataSourceError
    from rasterio.features import rasterize
    from rasterio.warp import transform_geom

    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(str(path))]
        meta, _, wkb, _ = pyogrio.raw.read(str(path), layer=layers[0], columns=[])
    except (DataSourceError, DataLayerError, IndexError) as exc:
        raise InputError(str(path), f"cropland mask: cannot read as a vector layer: {exc}") from None
    geoms = shapely.from_wkb(wkb)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    polygons = geoms[np.isin(shapely.get_type_id(geoms), (3, 6))]
    if not len(polygons):
        raise InputError(str(path), f"cropland mask: layer {layers[0]!r} has no polygons")
    if not meta.get("crs"):
        raise InputError(str(path), f"cropland mask: layer {layers[0]!r} has no CRS")
    shapes = (transform_geom(meta["crs"], grid.rasterio_crs, shapely.geometry.mapping(g)) for g in polygons)
    burnt = rasterize(((s, 1) for s in shapes), out_shape=grid.shape, transform=grid.transform, dtype="uint8")
    return np.asarray(burnt, dtype=bool)


def _raster_mask(path: Path, grid: Grid) -> npt.NDArray[np.bool_]:
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioError
    from rasterio.warp import reproject

    out = np.zeros(grid.shape, dtype=np.uint8)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(str(path), "cropland mask raster has no CRS")
            src_data = src.read(1, masked=True).filled(0)
            reproject(
                (src_data != 0).astype(np.uint8),
                out,
                src_transform=src.transform,
                src_crs=src.crs,
                dst_transform=grid.transform,
                dst_crs=grid.rasterio_crs,
                resampling=Resampling.nearest,
                src_nodata=None,
                dst_nodata=None,
            )
    except RasterioError as exc:
        raise InputError(str(path), f"cropland mask: cannot read as a raster: {exc}") from None
    return out.astype(bool)
