"""Make a class raster readable in a GIS: GDAL category names, a raster attribute table, a QGIS style.

GeoTIFF has no place of its own for category names or a raster attribute table (RAT); GDAL keeps them
in the PAM sidecar ``<file>.aux.xml``, which GDAL, QGIS and ArcGIS read with the file. So a class map
``crops.tif`` is published with:

* ``crops.tif.aux.xml``: category names (pixel value -> English class name) and a thematic RAT with
  one row per value 0..K: ``value``, ``gewascode``, ``name_en``, ``name_nl``, ``group``, ``color``
  (``#rrggbb``), ``red``/``green``/``blue``/``alpha`` (GDAL colour usages) and, when known, ``count``
  (pixels of that class in the map);
* ``crops.qml``: a QGIS "paletted/unique values" style with the class colours and labels, which QGIS
  loads by itself as the default style of ``crops.tif``.

The internal colour table, band description and ``CROPCUBE_*`` tags stay in the GeoTIFF itself.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.classes import NODATA_CLASS, ClassTable
from cropcube.io import atomic_output

CLASS_OVERVIEW_RESAMPLING = "mode"
"""Overviews of class rasters: the most frequent class of each block (nearest would pick one pixel
and let a lone pixel stand for a whole block)."""
CLASS_BAND_DESCRIPTION = "crop class index (0 = no parcel / no data); names in the RAT and categories"

NODATA_NAME = "no parcel"

# GDAL enumerations (gdal.h: GDALRATFieldType, GDALRATFieldUsage), as the PAM XML stores them.
_INTEGER, _STRING = 0, 2
_GFU_GENERIC, _GFU_PIXEL_COUNT, _GFU_NAME, _GFU_MIN_MAX = 0, 1, 2, 5
_GFU_RED, _GFU_GREEN, _GFU_BLUE, _GFU_ALPHA = 6, 7, 8, 9


@dataclass(frozen=True)
class ClassSidecars:
    """The files :func:`write_class_sidecars` wrote beside a class raster."""

    aux_xml: Path
    qml: Path


def sidecar_paths(raster: str | Path) -> ClassSidecars:
    """``<raster>.aux.xml`` (GDAL PAM) and ``<stem>.qml`` (QGIS default style)."""
    raster = Path(raster)
    return ClassSidecars(aux_xml=raster.with_name(raster.name + ".aux.xml"), qml=raster.with_suffix(".qml"))


def _rows(table: ClassTable, counts: Sequence[int] | None) -> list[list[object]]:
    rows: list[list[object]] = [[NODATA_CLASS, 0, NODATA_NAME, "geen perceel", "", "#000000", 0, 0, 0, 0]]
    for c in table:
        rows.append([c.index, c.gewascode, c.name_en, c.name_nl, c.group, c.color, *c.rgb, 255])
    if counts is not None:
        for r in rows:
            i = int(str(r[0]))
            r.append(int(counts[i]) if i < len(counts) else 0)
    return rows


_COLUMNS = (
    ("value", _INTEGER, _GFU_MIN_MAX),
    ("gewascode", _INTEGER, _GFU_GENERIC),
    ("name_en", _STRING, _GFU_NAME),
    ("name_nl", _STRING, _GFU_GENERIC),
    ("group", _STRING, _GFU_GENERIC),
    ("color", _STRING, _GFU_GENERIC),
    ("red", _INTEGER, _GFU_RED),
    ("green", _INTEGER, _GFU_GREEN),
    ("blue", _INTEGER, _GFU_BLUE),
    ("alpha", _INTEGER, _GFU_ALPHA),
)


def pam_xml(table: ClassTable, counts: Sequence[int] | None = None, band: int = 1) -> bytes:
    """The ``.aux.xml`` document: category names and the thematic RAT of ``band``."""
    root = ET.Element("PAMDataset")
    pam_band = ET.SubElement(root, "PAMRasterBand", band=str(band))
    categories = ET.SubElement(pam_band, "CategoryNames")
    for name in table.names("en"):
        ET.SubElement(categories, "Category").text = name
    rat = ET.SubElement(pam_band, "GDALRasterAttributeTable", tableType="thematic")
    columns = list(_COLUMNS) + ([("count", _INTEGER, _GFU_PIXEL_COUNT)] if counts is not None else [])
    for i, (name, kind, usage) in enumerate(columns):
        field = ET.SubElement(rat, "FieldDefn", index=str(i))
        ET.SubElement(field, "Name").text = name
        ET.SubElement(field, "Type").text = str(kind)
        ET.SubElement(field, "Usage").text = str(usage)
    for i, row in enumerate(_rows(table, counts)):
        r = ET.SubElement(rat, "Row", index=str(i))
        for value in row:
            ET.SubElement(r, "F").text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def qml_style(table: ClassTable, band: int = 1) -> bytes:
    """A QGIS layer style (``.qml``): paletted renderer, one entry per class, "no parcel" transparent."""
    root = ET.Element("qgis", version="3.28.0", styleCategories="Symbology")
    pipe = ET.SubElement(root, "pipe")
    renderer = ET.SubElement(
        pipe, "rasterrenderer", type="paletted", band=str(band), opacity="1", alphaBand="-1", nodataColor=""
    )
    ET.SubElement(renderer, "rasterTransparency")
    palette = ET.SubElement(renderer, "colorPalette")
    for c in table:
        ET.SubElement(
            palette,
            "paletteEntry",
            value=str(c.index),
            color=c.color,
            alpha="255",
            label=f"{c.index} {c.name_en}",
        )
    ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0")
    ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    ET.SubElement(root, "blendMode").text = "0"
    ET.indent(root)
    return b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="utf-8"
    )


def write_class_sidecars(
    raster: str | Path, table: ClassTable, counts: Sequence[int] | None = None
) -> ClassSidecars:
    """Write the PAM ``.aux.xml`` (categories + RAT) and the ``.qml`` style beside a class raster.

    Each file appears only when complete. An existing ``.aux.xml`` of the raster is replaced: the
    class raster's GDAL metadata is the class table's.

    Args:
        raster: the class raster (values 0..K, 0 = no parcel).
        table: its class table.
        counts: pixels per class value (index = value), for the RAT's ``count`` column.
    """
    paths = sidecar_paths(raster)
    with atomic_output(paths.aux_xml) as tmp:
        tmp.write_bytes(pam_xml(table, counts))
    with atomic_output(paths.qml) as tmp:
        tmp.write_bytes(qml_style(table))
    return paths


def write_class_map(
    path: str | Path,
    classes: npt.NDArray[np.integer],
    transform: Any,
    crs: Any,
    table: ClassTable,
    *,
    description: str = CLASS_BAND_DESCRIPTION,
    tags: Mapping[str, str] | None = None,
    cog: bool = True,
    pub: Any = None,
) -> ClassSidecars:
    """Write a class raster (uint8, 0 = no parcel) as a GIS-ready product.

    The GeoTIFF/COG carries the palette, the band description and mode overviews; beside it go the
    category names and RAT (``.aux.xml``) and the QGIS style (``.qml``), see :func:`write_class_sidecars`.
    With ``pub`` (a :class:`cropcube.io.atomic.Publication`) all three are staged in it (the raster
    renamed into place last), else each appears at once when complete.

    Returns:
        The sidecar paths (the raster is at ``path``).
    """
    from rasterio.enums import Resampling

    from cropcube.io.geotiff import write_geotiff

    arr = np.asarray(classes)
    if arr.ndim != 2 or (arr.size and (arr.min() < 0 or arr.max() > table.num_classes)):
        raise ValueError(f"{path}: a class map is (rows, cols) of 0..{table.num_classes}")
    write_geotiff(
        path, arr.astype(np.uint8), transform, crs, nodata=NODATA_CLASS, descriptions=[description],
        colormap=table.palette(), tags=tags, cog=cog, pub=pub, last=pub is not None,
        overview_resampling=Resampling[CLASS_OVERVIEW_RESAMPLING],
    )  # fmt: skip
    counts = np.bincount(arr.ravel().astype(np.int64), minlength=table.num_classes + 1).tolist()
    if pub is None:
        return write_class_sidecars(path, table, counts=counts)
    paths = sidecar_paths(path)
    pub.stage(paths.aux_xml).write_bytes(pam_xml(table, counts))
    pub.stage(paths.qml).write_bytes(qml_style(table))
    return paths
