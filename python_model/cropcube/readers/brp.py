"""Read BRP crop parcels (``brpgewaspercelen_*.gpkg``) and rasterise them onto a cube grid.

The BRP (Basisregistratie Gewaspercelen) GeoPackage has one polygon per parcel with its crop code
``gewascode``, in EPSG:28992 (RD New). Rasterising gives two aligned rasters: the class index per
pixel (via the class table; codes not in it are counted and mapped to its ``unknown_index``) and the
parcel id per pixel, for per-parcel voting later.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.warp import transform as warp_transform

from cropcube.classes import ClassTable, load_class_table
from cropcube.errors import InputError
from cropcube.readers.grid import Grid

CODE_COLUMN = "gewascode"
DEFAULT_LAYER = "brp_gewas"
_POLYGONS = ("Polygon", "MultiPolygon", "Polygon Z", "MultiPolygon Z", "CurvePolygon", "MultiSurface")


@dataclass(frozen=True)
class BrpParcels:
    """Parcels read from a BRP GeoPackage.

    Attributes:
        path: the file.
        layer: the layer read.
        crs: the layer's CRS.
        geometries: one shapely (multi)polygon per parcel, in ``crs``.
        gewascodes: crop code per parcel.
        parcel_ids: feature id per parcel (>= 1), the value of the parcel-id raster.
        skipped_empty: features without geometry, left out.
    """

    path: Path
    layer: str
    crs: str
    geometries: npt.NDArray[Any]
    gewascodes: npt.NDArray[np.int64]
    parcel_ids: npt.NDArray[np.int64]
    skipped_empty: int = 0

    def __len__(self) -> int:
        return len(self.gewascodes)


def _pick_layer(path: str, layer: str | None) -> str:
    try:
        layers = pyogrio.list_layers(path)
    except DataSourceError as exc:
        raise InputError(path, f"cannot open as a GeoPackage (unreadable or corrupt): {exc}") from None
    names = [str(n) for n, _ in layers]
    if not names:
        raise InputError(path, "GeoPackage has no layers")
    if layer is not None:
        if layer not in names:
            raise InputError(path, f"no layer {layer!r} (layers: {names})")
        return layer
    if len(names) == 1:
        return names[0]
    if DEFAULT_LAYER in names:
        return DEFAULT_LAYER
    raise InputError(path, f"several layers {names}: choose one with --layer")


def read_brp_parcels(path: str | Path, layer: str | None = None) -> BrpParcels:
    """Read and check the parcels of a BRP GeoPackage.

    Args:
        path: ``brpgewaspercelen_*.gpkg``.
        layer: layer name (default: the only layer, else ``brp_gewas``).

    Returns:
        The parcels, still in the file's CRS (:func:`rasterize_brp` reprojects them).

    Raises:
        InputError: unreadable file, no/unknown layer, no ``gewascode`` column, non-polygon
            geometry, no CRS, or no parcels; the message names the file.
    """
    where = str(path)
    if not Path(path).is_file():
        raise InputError(where, "file does not exist")
    name = _pick_layer(where, layer)
    try:
        info = pyogrio.read_info(where, layer=name)
    except (DataSourceError, DataLayerError) as exc:
        raise InputError(where, f"cannot read layer {name!r}: {exc}") from None
    fields = [str(f) for f in info["fields"]]
    column = next((f for f in fields if f.lower() == CODE_COLUMN), None)
    if column is None:
        raise InputError(where, f"layer {name!r} has no {CODE_COLUMN!r} column (columns: {fields})")
    geometry_type = str(info.get("geometry_type"))
    if geometry_type not in _POLYGONS:
        raise InputError(where, f"layer {name!r} has {geometry_type} geometries, expected polygons")
    if not info.get("crs"):
        raise InputError(where, f"layer {name!r} has no CRS")
    if int(info.get("features") or 0) == 0:
        raise InputError(where, f"layer {name!r} is empty (no parcels)")
    try:
        _meta, fids, wkb, values = pyogrio.raw.read(where, layer=name, columns=[column], return_fids=True)
    except (DataSourceError, DataLayerError) as exc:
        raise InputError(where, f"cannot read layer {name!r}: {exc}") from None
    codes = values[0]
    if not np.issubdtype(np.asarray(codes).dtype, np.integer):
        try:
            codes = np.asarray(codes, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(where, f"{column!r} values are not integer crop codes") from None
        codes = np.nan_to_num(codes, nan=0.0).astype(np.int64)  # missing codes -> 0 (no parcel)
    geoms = shapely.from_wkb(wkb)
    kept = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kinds = set(shapely.get_type_id(geoms[kept]).tolist())
    if kinds - {3, 6}:  # 3 Polygon, 6 MultiPolygon
        raise InputError(
            where, f"layer {name!r} holds non-polygon geometries (shapely type ids {sorted(kinds)})"
        )
    if not kept.any():
        raise InputError(where, f"layer {name!r} has no parcel with a geometry")
    return BrpParcels(
        path=Path(path),
        layer=name,
        crs=CRS.from_user_input(info["crs"]).to_string(),
        geometries=geoms[kept],
        gewascodes=np.asarray(codes, dtype=np.int64)[kept],
        parcel_ids=np.asarray(fids, dtype=np.int64)[kept],
        skipped_empty=int((~kept).sum()),
    )


@dataclass
class BrpRasterReport:
    """Counts from :func:`rasterize_brp`.

    Attributes:
        parcels: parcels read.
        parcels_in_grid: parcels whose extent overlaps the grid.
        parcels_rasterised: parcels that got at least one pixel.
        labelled_pixels: pixels with a class index > 0.
        parcel_pixels: pixels covered by a parcel (any code).
        unknown_parcels: gewascode -> number of parcels (in the grid) whose code is not in the table.
        unknown_pixels: gewascode -> pixels of those parcels.
        unknown_index: class index those pixels got.
        class_pixels: class index -> pixels.
    """

    parcels: int = 0
    parcels_in_grid: int = 0
    parcels_rasterised: int = 0
    labelled_pixels: int = 0
    parcel_pixels: int = 0
    unknown_parcels: Counter[int] = field(default_factory=Counter)
    unknown_pixels: Counter[int] = field(default_factory=Counter)
    unknown_index: int = 0
    class_pixels: Counter[int] = field(default_factory=Counter)

    def summary(self) -> str:
        """Human-readable lines, unknown codes by pixel count."""
        lines = [
            f"parcels: {self.parcels} read, {self.parcels_in_grid} overlap the grid, "
            f"{self.parcels_rasterised} got pixels",
            f"pixels: {self.parcel_pixels} in parcels, {self.labelled_pixels} labelled with a class",
        ]
        if self.unknown_parcels:
            lines.append(f"gewascodes not in the class table (-> class {self.unknown_index}):")
            for code, px in sorted(self.unknown_pixels.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"  {code}: {self.unknown_parcels[code]} parcels, {px} pixels")
        return "\n".join(lines)


def _reproject(geoms: npt.NDArray[Any], src: str, dst: CRS) -> npt.NDArray[Any]:
    if CRS.from_user_input(src) == dst:
        return geoms

    def fn(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        xs, ys = warp_transform(CRS.from_user_input(src), dst, xy[:, 0].tolist(), xy[:, 1].tolist())
        return np.column_stack([xs, ys])

    return shapely.transform(geoms, fn)


def rasterize_brp(
    parcels: BrpParcels,
    grid: Grid,
    class_table: ClassTable | None = None,
    all_touched: bool = False,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32], BrpRasterReport]:
    """Burn parcels into the grid: class index and parcel id per pixel.

    Pixels whose centre lies in a parcel get it (``all_touched`` burns every touched pixel); where
    parcels overlap, the later feature wins in both rasters, so they always agree.

    Args:
        parcels: from :func:`read_brp_parcels`.
        grid: the target grid (e.g. ``open_cube(cube).grid``).
        class_table: gewascode -> class index (default: the packaged 76 classes).
        all_touched: burn all pixels a parcel touches.

    Returns:
        ``(classes uint8 (H, W), parcel ids int32 (H, W), report)``; 0 means no parcel in both.
    """
    table = class_table or load_class_table()
    if parcels.parcel_ids.size and int(parcels.parcel_ids.max()) >= 2**31:
        raise InputError(str(parcels.path), "feature ids do not fit a 32-bit parcel-id raster")
    report = BrpRasterReport(parcels=len(parcels), unknown_index=table.unknown_index)
    geoms = _reproject(parcels.geometries, parcels.crs, grid.rasterio_crs)
    left, bottom, right, top = grid.bounds
    inside = shapely.intersects(geoms, shapely.box(left, bottom, right, top))
    report.parcels_in_grid = int(inside.sum())
    ids = np.zeros(grid.shape, dtype=np.int32)
    if report.parcels_in_grid:
        # Burn positions 1..n (not fids) so that the lookup tables below stay dense.
        shapes = ((g, i + 1) for i, g in enumerate(geoms) if inside[i])
        position = rasterize(
            shapes,
            out_shape=grid.shape,
            transform=grid.transform,
            fill=0,
            all_touched=all_touched,
            dtype="int32",
        )
        codes = np.concatenate([[0], parcels.gewascodes])
        class_of_code = {c: table.index_of_code(c) if c > 0 else 0 for c in np.unique(codes[1:]).tolist()}
        lut_class = np.array([0] + [class_of_code[c] for c in parcels.gewascodes.tolist()], dtype=np.uint8)
        lut_id = np.concatenate([[0], parcels.parcel_ids]).astype(np.int32)
        classes = lut_class[position]
        ids = lut_id[position]
        pixels_per_parcel = np.bincount(position.ravel(), minlength=len(parcels) + 1)
        report.parcels_rasterised = int((pixels_per_parcel[1:] > 0).sum())
        report.parcel_pixels = int((position > 0).sum())
        known = set(c.gewascode for c in table)
        for i in np.flatnonzero(inside).tolist():
            code = int(parcels.gewascodes[i])
            if code > 0 and code not in known:
                report.unknown_parcels[code] += 1
                report.unknown_pixels[code] += int(pixels_per_parcel[i + 1])
    else:
        classes = np.zeros(grid.shape, dtype=np.uint8)
    values, counts = np.unique(classes[classes > 0], return_counts=True)
    report.class_pixels = Counter(dict(zip(values.tolist(), counts.tolist(), strict=True)))
    report.labelled_pixels = int(counts.sum())
    return classes, ids, report
