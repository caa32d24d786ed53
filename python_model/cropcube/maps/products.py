"""The map products of a classification job's publish phase (GIS sidecars, parcel table, STAC Item).

Each writer has the shape of :data:`cropcube.inference.files.ProductWriter`: it stages its files
in the job's publication (``pub.stage(dest)`` gives a temporary path that is renamed into place with
all the others, or discarded), writes them and records them in ``run.written``. They read the
finished class map from ``run.class_map`` (its temporary name) and the job from ``run.job``.
"""

from __future__ import annotations

from typing import Any

from cropcube.maps.gis import pam_xml, qml_style, sidecar_paths
from cropcube.maps.palette import map_colours
from cropcube.maps.parcels import parcel_table_paths, render_parcel_table
from cropcube.maps.stac import map_item, stac_json, stac_path


def write_gis_sidecars(run: Any, pub: Any) -> None:
    """``<map>.aux.xml`` (category names + RAT with pixel counts) and ``<stem>.qml`` (QGIS style)."""
    table = map_colours(run.job.metadata.classes)
    paths = sidecar_paths(run.job.output)
    counts = [int(n) for n in run.counts[: table.num_classes + 1]]
    pub.stage(paths.aux_xml).write_bytes(pam_xml(table, counts))
    pub.stage(paths.qml).write_bytes(qml_style(table))
    run.written["gdal_metadata"] = paths.aux_xml
    run.written["style"] = paths.qml


def write_parcel_products(run: Any, pub: Any) -> None:
    """With parcels: ``<stem>_parcels.gpkg`` (or ``.parquet``) and ``<stem>_parcels_summary.csv``."""
    parcels = getattr(run.job, "parcel_run", None)
    if parcels is None:
        return
    result = parcels.result(run.job.metadata.classes)
    paths = parcel_table_paths(run.job.output, run.job.parcel_format)
    render_parcel_table(pub.stage(paths["parcels"]), result, run.job.parcel_format)
    pub.stage(paths["parcel_summary"]).write_text(result.summary_csv(), encoding="utf-8")
    run.written.update(paths)
    run.parcel_result = result


def write_stac_item(run: Any, pub: Any) -> None:
    """``<stem>.stac.json``: the STAC Item of the map.

    It lists every product written before it, and the run summary (always written, last).
    """
    from cropcube.inference.files import sibling_paths

    job = run.job
    others = {name: path for name, path in run.written.items() if name != "class_map"}
    others["summary"] = sibling_paths(job.output)["summary"]
    item = map_item(
        run.class_map,
        map_colours(job.metadata.classes),
        list(job.info.spec.dates),
        assets=others,
        published_as=job.output,
    )
    dest = stac_path(job.output)
    pub.stage(dest).write_text(stac_json(item), encoding="utf-8")
    run.written["stac"] = dest
