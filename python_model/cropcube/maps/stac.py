"""STAC documents: an Item for every crop map, an MLM (machine learning model) Item for every bundle.

Both are plain JSON (no STAC library is needed to write them; tests validate them against the
extension schemas). The map Item uses the projection and classification extensions; the bundle
Item the MLM extension, with STAC 1.1 ``bands`` naming the Sentinel-2 bands of its input.

* :func:`map_item` reads the grid and the model tags back from the written class-map COG, so the
  Item describes the file as it is, and lists the sibling products that exist as assets.
* :func:`bundle_item` describes a bundle from its metadata: inputs (bands, dates, layout, nodata),
  outputs (logits per class with the class names and colours), framework, files (the TorchScript
  bundle and, where it exists beside it, the ONNX export).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cropcube.classes import NODATA_CLASS, ClassTable
from cropcube.errors import InputError
from cropcube.io import atomic_output
from cropcube.maps.provenance import TRAINING_TAG, trained_on_synthetic_only

STAC_VERSION = "1.1.0"
PROJECTION = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
CLASSIFICATION = "https://stac-extensions.github.io/classification/v1.1.0/schema.json"
MLM = "https://stac-extensions.github.io/mlm/v1.4.0/schema.json"

MEDIA_TYPES = {
    ".tif": "image/tiff; application=geotiff; profile=cloud-optimized",
    ".png": "image/png",
    ".json": "application/json",
    ".gpkg": "application/geopackage+sqlite3",
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
    ".qml": "application/xml",
    ".xml": "application/xml",
}
S2_BAND_INFO = {  # Sentinel-2 MSI central wavelength (um) and common name of the bands the model reads
    "B02": ("blue", 0.49),
    "B03": ("green", 0.56),
    "B04": ("red", 0.665),
    "B08": ("nir", 0.842),
}
_SLUG = re.compile(r"[^0-9A-Za-z]+")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text).strip("-").lower() or "class"


def stac_classes(table: ClassTable, with_nodata: bool = True) -> list[dict[str, Any]]:
    """``classification:classes`` of a class table: value, name (a slug), title, description, colour."""
    out: list[dict[str, Any]] = []
    if with_nodata:
        out.append(
            {
                "value": NODATA_CLASS,
                "name": "no-parcel",
                "title": "no parcel / no data",
                "description": "outside every parcel, or no valid observation",
                "nodata": True,
            }
        )
    for c in table:
        out.append(
            {
                "value": c.index,
                "name": _slug(c.name_en),
                "title": c.name_en,
                "description": f"BRP gewascode {c.gewascode}: {c.name_nl} (group {c.group})",
                "color_hint": c.color.lstrip("#").upper(),
            }
        )
    return out


def _iso(d: dt.date | dt.datetime, end: bool = False) -> str:
    if isinstance(d, dt.datetime):
        return d.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    t = dt.time(23, 59, 59) if end else dt.time(0, 0, 0)
    return dt.datetime.combine(d, t, tzinfo=dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _now() -> str:
    return _iso(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


def _asset(path: Path, base: Path, roles: list[str], title: str, **extra: Any) -> dict[str, Any]:
    href = path.name if path.parent.resolve() == base.resolve() else str(path.resolve())
    media = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return {"href": href, "type": media, "title": title, "roles": roles, **extra}


def map_item(
    classes_cog: str | Path,
    table: ClassTable,
    dates: Sequence[dt.date],
    assets: Mapping[str, str | Path] | None = None,
    item_id: str | None = None,
    published_as: str | Path | None = None,
) -> dict[str, Any]:
    """The STAC Item of a crop map.

    Args:
        classes_cog: the class-map COG (read back for the grid, footprint and model tags).
        table: the class table of its values.
        dates: the acquisition dates of the classified cube (the Item's time range).
        assets: other products by key (``confidence``, ``quicklook``, ``parcels``, ...), at their
            final paths; the key picks the roles (see :data:`ASSET_ROLES`). All are listed: a
            publication lists the files it is about to rename into place.
        item_id: default: the published COG's file stem.
        published_as: the COG's final path when ``classes_cog`` is a temporary name of a publication.
    """
    import rasterio
    from rasterio.warp import transform_geom

    path = Path(classes_cog)
    final = Path(published_as) if published_as is not None else path
    if not dates:
        raise InputError(str(path), "a crop map's STAC Item needs the dates of its cube")
    with rasterio.open(path) as ds:
        crs, transform, (height, width) = ds.crs, ds.transform, ds.shape
        left, bottom, right, top = ds.bounds
        tags = ds.tags()
    if crs is None:
        raise InputError(str(path), "has no CRS: cannot place it in a STAC Item")
    ring = [[left, bottom], [right, bottom], [right, top], [left, top], [left, bottom]]
    footprint = transform_geom(crs, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]}, precision=7)
    lons = [p[0] for p in footprint["coordinates"][0]]
    lats = [p[1] for p in footprint["coordinates"][0]]
    epsg = crs.to_epsg()
    props: dict[str, Any] = {
        "datetime": None,
        "start_datetime": _iso(min(dates)),
        "end_datetime": _iso(max(dates), end=True),
        "created": _now(),
        "title": f"crop types {min(dates).isoformat()}..{max(dates).isoformat()}",
        "description": "Crop type per 10 m pixel (BRP classes), classified by cropcube from a Sentinel-2 "
        "time series.",
        "proj:code": f"EPSG:{epsg}" if epsg else None,
        "proj:shape": [height, width],
        "proj:transform": list(transform)[:6],
        "proj:bbox": [left, bottom, right, top],
        "cropcube:dates": [d.isoformat() for d in sorted(dates)],
    }
    if epsg is None:
        props["proj:wkt2"] = crs.to_wkt()
    if "CROPCUBE_MODEL" in tags:
        props["cropcube:model"] = tags["CROPCUBE_MODEL"]
        props["cropcube:model_hash"] = tags.get("CROPCUBE_MODEL_HASH", "")
    if tags.get(TRAINING_TAG) == "synthetic":
        props["cropcube:model_training"] = "synthetic"
        props["description"] += (
            " The model was trained on SYNTHETIC scenes only: on real imagery this is NOT a meaningful"
            " crop map."
        )
    items: dict[str, Any] = {
        "classes": _asset(
            final,
            final.parent,
            ["data"],
            "crop class per pixel (0 = no parcel / no data)",
            **{"classification:classes": stac_classes(table), "nodata": 0, "data_type": "uint8"},
        )
    }
    for key, other in (assets or {}).items():
        roles, title = ASSET_ROLES.get(key, (["metadata"], key))
        items[key] = _asset(Path(other), final.parent, roles, title)
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [PROJECTION, CLASSIFICATION],
        "id": item_id or final.stem,
        "geometry": footprint,
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "properties": props,
        "links": [],
        "assets": items,
    }


ASSET_ROLES: dict[str, tuple[list[str], str]] = {
    "confidence": (["data"], "confidence: round(255 x probability of the class), 0 = no data"),
    "quicklook": (["overview", "visual"], "quicklook with legend"),
    "summary": (["metadata"], "run summary"),
    "style": (["metadata", "style"], "QGIS style (paletted, class names and colours)"),
    "gdal_metadata": (["metadata"], "GDAL PAM: category names and raster attribute table"),
    "parcels": (["data"], "per-parcel prediction and agreement with the BRP declaration"),
    "parcel_summary": (["metadata"], "agreement with the BRP declaration by declared crop"),
}


def bundle_item(
    bundle: str | Path, metadata: Any | None = None, onnx: str | Path | None = None
) -> dict[str, Any]:
    """The STAC MLM Item of a bundle.

    Args:
        bundle: the TorchScript bundle file.
        metadata: its :class:`~cropcube.bundle.metadata.BundleMetadata` (read from the file if None).
        onnx: the ONNX export (default: ``<bundle stem>.onnx`` beside the bundle, when it exists).
    """
    path = Path(bundle)
    if metadata is None:
        from cropcube.bundle.io import read_metadata

        metadata = read_metadata(path)
    spec = metadata.spec
    n_dates, n_bands = len(spec.dates), len(spec.bands)
    cal = metadata.calendar  # format 2: the calendars the bundle takes; None: its fixed dates
    calendar = (
        {"season_start_doy": cal.season_start, "season_end_doy": cal.season_end} if cal is not None else {}
    )
    min_dates, max_dates = (cal.min_dates, cal.max_dates) if cal is not None else (n_dates, n_dates)
    channels = -1 if min_dates != max_dates else n_dates * n_bands
    synthetic = trained_on_synthetic_only(metadata)
    bands = [
        {"name": b, "description": f"Sentinel-2 L2A {b} ({S2_BAND_INFO[b][0]}, {S2_BAND_INFO[b][1]} um)"}
        if b in S2_BAND_INFO
        else {"name": b}
        for b in spec.bands
    ]
    inputs: list[dict[str, Any]] = [
        {
            "name": "sentinel2_time_series",
            "bands": list(spec.bands),
            "input": {
                "shape": [-1, channels, -1, -1],
                "dim_order": ["batch", "channel", "height", "width"],
                "data_type": "float32",
            },
            "description": (
                f"raw {spec.dtype} digital numbers as float32 (reflectance = DN x {spec.dn_scale:g}), "
                f"date-major: channel = {n_bands} x date + band, bands {', '.join(spec.bands)}; "
                f"{min_dates}..{max_dates} dates, default calendar "
                f"{', '.join(d.isoformat() for d in spec.dates)}; a date whose bands all equal "
                f"{spec.nodata:g} is invalid (cloud/missing) and masked; normalisation is inside the model"
            ),
            "value_scaling": None,
            "resize_type": None,
        }
    ]
    if calendar:
        inputs.append(
            {
                "name": "day_of_year",
                "bands": [],
                "input": {"shape": [-1, -1], "dim_order": ["batch", "time"], "data_type": "float32"},
                "description": "day of the season year of each date (1 January = 1), strictly increasing, "
                f"within {calendar.get('season_start_doy')}..{calendar.get('season_end_doy')}",
                "value_scaling": None,
            }
        )
    classes = stac_classes(metadata.classes, with_nodata=False)
    props: dict[str, Any] = {
        "datetime": _iso(dt.datetime.fromisoformat(metadata.created)) if metadata.created else _now(),
        "start_datetime": _iso(min(spec.dates)),
        "end_datetime": _iso(max(spec.dates), end=True),
        "title": f"cropcube {metadata.model_name} {metadata.model_version}",
        "description": (
            f"Crop-type segmentation of Sentinel-2 time series into {metadata.classes.num_classes} Dutch "
            "BRP crop classes (cropcube bundle)."
            + (
                " Trained on SYNTHETIC data only: its output on real imagery is not meaningful."
                if synthetic
                else ""
            )
        ),
        "bands": bands,
        "mlm:name": f"cropcube-{metadata.model_name}-{_slug(metadata.model_version)}",
        "mlm:architecture": metadata.model_name,
        "mlm:tasks": ["semantic-segmentation"],
        "mlm:framework": "PyTorch",
        "mlm:memory_size": path.stat().st_size,
        "mlm:total_parameters": int(metadata.parameters),
        "mlm:pretrained": True,
        "mlm:pretrained_source": "synthetic Sentinel-2 scenes (cropcube synth)" if synthetic else None,
        "mlm:batch_size_suggestion": 1,
        "mlm:accelerator": "amd64",
        "mlm:accelerator_constrained": False,
        "mlm:accelerator_summary": "CPU (amd64); CUDA when present",
        "mlm:input": inputs,
        "mlm:output": [
            {
                "name": "class_logits",
                "tasks": ["semantic-segmentation"],
                "result": {
                    "shape": [-1, metadata.classes.num_classes, -1, -1],
                    "dim_order": ["batch", "class", "height", "width"],
                    "data_type": "float32",
                },
                "description": "logits per class; channel k is class k + 1 (argmax + 1 gives the class "
                "index; 0 = no data is assigned where every date is invalid)",
                "classification:classes": classes,
                "post_processing_function": None,
            }
        ],
        "cropcube:model_hash": metadata.content_hash,
        "cropcube:halo": metadata.halo,
        "cropcube:downsampling_factor": metadata.downsampling_factor,
        "cropcube:training_data": "synthetic" if synthetic else "real",
    }
    assets: dict[str, Any] = {
        "model": _asset(
            path,
            path.parent,
            ["mlm:model", "mlm:weights", "data"],
            "TorchScript bundle (weights + metadata)",
            **{
                "mlm:artifact_type": "torch.jit.save",
                "bands": bands,
                "type": "application/octet-stream; framework=pytorch; profile=torchscript",
            },
        )
    }
    onnx_path = Path(onnx) if onnx else path.with_suffix(".onnx")
    if onnx_path.exists():
        assets["onnx"] = _asset(
            onnx_path,
            path.parent,
            ["mlm:model", "data"],
            "ONNX export",
            **{"mlm:artifact_type": "torch.onnx.export", "type": "application/octet-stream; framework=onnx"},
        )
    card = path.with_suffix(".md")
    if card.exists():
        assets["model_card"] = {
            "href": card.name,
            "type": "text/markdown",
            "roles": ["metadata"],
            "title": "model card",
        }
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [MLM],
        "id": f"cropcube-{metadata.model_name}-{metadata.content_hash.removeprefix('sha256:')[:12]}",
        "geometry": None,
        "properties": props,
        "links": [],
        "assets": assets,
    }


def stac_path(product: str | Path) -> Path:
    """Where a product's STAC Item goes: ``<stem>.stac.json`` beside it."""
    p = Path(product)
    return p.with_name(f"{p.stem}.stac.json")


def stac_json(document: Mapping[str, Any]) -> str:
    """A STAC document as indented JSON text."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_stac(path: str | Path, document: Mapping[str, Any]) -> Path:
    """Write a STAC document as indented JSON, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(stac_json(document), encoding="utf-8")
    return Path(path)
