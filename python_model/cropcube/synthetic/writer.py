"""Writing a scene: cube, label and parcel-id GeoTIFFs, a BRP-schema GeoPackage and a JSON summary.

Every file appears complete or not at all (atomic rename), and the same scene gives byte-identical
files: GeoTIFFs carry no timestamps, and the GeoPackage's change timestamps are pinned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from rasterio.warp import transform as warp_transform

from cropcube.classes import load_class_table
from cropcube.errors import InputError
from cropcube.io import atomic_output, write_geotiff
from cropcube.synthetic.scene import Scene

BRP_LAYER = "brp_gewas"
BRP_CRS = "EPSG:28992"
_FIXED_TIMESTAMP = "2000-01-01T00:00:00.000Z"  # pinned GeoPackage timestamps: reproducible bytes
_CATEGORY = {"grassland": "Grasland", "nature": "Natuurterrein"}


def _check(scene: Scene) -> None:
    n, h, w = scene.cube.shape
    if n != scene.spec.n_channels or scene.cube.dtype != np.uint16:
        want = f"uint16 with {scene.spec.n_channels} bands"
        raise InputError("scene.cube", f"expected {want}, got {scene.cube.dtype} with {n} bands")
    for name, arr in (("labels", scene.labels), ("parcel_ids", scene.parcel_ids)):
        if arr.shape != (h, w):
            raise InputError(f"scene.{name}", f"shape {arr.shape} does not match the cube's {(h, w)}")


@contextmanager
def _pinned_gpkg_timestamps() -> Iterator[None]:
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_TIMESTAMP})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def write_parcels(scene: Scene, path: Path) -> Path:
    """Write the parcels as a GeoPackage with the real BRP schema (layer ``brp_gewas``, EPSG:28992).

    Columns: category, gewas (Dutch crop name), gewascode, jaar, status; geometry column ``geom``.
    """
    table = load_class_table()
    if not scene.parcels:
        raise InputError(str(path), "the scene has no parcels to write")
    rings = [np.asarray(p.geometry.exterior.coords) for p in scene.parcels]
    sizes = [len(r) for r in rings]
    xy = np.concatenate(rings)
    xs, ys = warp_transform(scene.crs, BRP_CRS, xy[:, 0].tolist(), xy[:, 1].tolist())
    xy_rd = np.round(np.column_stack([xs, ys]), 3)  # mm precision, as in the BRP itself
    splits = np.cumsum(sizes)[:-1]
    geoms = [shapely.Polygon(r) for r in np.split(xy_rd, splits)]
    classes = [table.by_index(p.class_index) for p in scene.parcels]
    year = scene.spec.dates[len(scene.spec.dates) // 2].year
    fields = [
        np.array([_CATEGORY.get(c.group, "Bouwland") for c in classes], dtype=object),
        np.array([c.name_nl for c in classes], dtype=object),
        np.array([c.gewascode for c in classes], dtype=np.int32),
        np.full(len(classes), year, dtype=np.int32),
        np.full(len(classes), "Definitief", dtype=object),
    ]
    with atomic_output(path) as tmp, _pinned_gpkg_timestamps():
        pyogrio.raw.write(
            str(tmp),
            np.array(shapely.to_wkb(geoms), dtype=object),
            fields,
            fields=["category", "gewas", "gewascode", "jaar", "status"],
            layer=BRP_LAYER,
            driver="GPKG",
            crs=BRP_CRS,
            geometry_type="Polygon",
            encoding="UTF-8",
            layer_options={"GEOMETRY_NAME": "geom", "FID": "id"},
        )
    return path


def scene_summary(scene: Scene) -> dict[str, object]:
    """JSON-ready summary: config, grid, class pixel counts, cloud fractions."""
    h, w = scene.labels.shape
    return {
        "config": scene.config.to_dict(),
        "crs": scene.crs,
        "transform": list(scene.transform)[:6],
        "height": h,
        "width": w,
        "band_descriptions": scene.spec.descriptions(),
        "n_parcels": len(scene.parcels),
        "class_pixel_counts": {str(k): v for k, v in scene.class_pixel_counts().items()},
        "no_parcel_pixels": int((scene.labels == 0).sum()),
        "cloud_mask_fraction": [round(float(m.mean()), 6) for m in scene.cloud_mask],
    }


def write_scene(scene: Scene, out_dir: str | Path) -> dict[str, Path]:
    """Write a scene into ``out_dir``.

    Args:
        scene: the scene.
        out_dir: destination folder (created if missing).

    Returns:
        Paths by key: ``cube`` (cube.tif, 28 bands ``YYYY-MM-DD_B0x``), ``labels`` (labels.tif, uint8
        with the class palette), ``parcel_ids`` (parcel_ids.tif, int32), ``parcels`` (parcels.gpkg,
        BRP schema) and ``summary`` (scene.json).
    """
    _check(scene)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(str(out), f"cannot create the output folder: {exc.strerror}") from exc
    table = load_class_table()
    paths = {
        "cube": out / "cube.tif",
        "labels": out / "labels.tif",
        "parcel_ids": out / "parcel_ids.tif",
        "parcels": out / "parcels.gpkg",
        "summary": out / "scene.json",
    }
    tags = {"CROPCUBE_SOURCE": "cropcube synthetic scene", "CROPCUBE_SEED": str(scene.config.seed)}
    write_geotiff(
        paths["cube"],
        scene.cube,
        scene.transform,
        scene.crs,
        nodata=0,
        descriptions=scene.spec.descriptions(),
        tags=tags,
    )
    write_geotiff(
        paths["labels"],
        scene.labels,
        scene.transform,
        scene.crs,
        nodata=0,
        colormap=table.palette(),
        tags=tags,
    )
    write_geotiff(paths["parcel_ids"], scene.parcel_ids, scene.transform, scene.crs, nodata=0, tags=tags)
    write_parcels(scene, paths["parcels"])
    with atomic_output(paths["summary"]) as tmp:
        tmp.write_text(json.dumps(scene_summary(scene), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return paths
