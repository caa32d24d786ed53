"""Ingest a cube and its labels as rasdaman collections with rasql (a community core without petascope).

- The 28-band cube becomes one 2-D array of struct cells (``Band_1`` .. ``Band_N``, the cube's cell
  type) in a collection of the set type ``CropcubeSet<N>x<type>`` (created with its struct and marray
  types when missing, nil value 0); labels become a ``char`` array in a ``GreySet`` collection.
- Tiles: the first is ``insert into C values decode($1)`` (a GeoTIFF of the tile), every other one
  ``update C as c set c[x0:x1, y0:y1] assign shift(decode($1), [x0, y0])``.
- Arrays keep the GeoTIFF's pixel grid: x (column) on axis 0, y (row) on axis 1, domain
  ``[0:W-1, 0:H-1]``. Collections carry no CRS: the report prints the domain and the source's grid.
- Resumable: ``<work-dir>/<collection>.rasql.progress.json`` lists the tiles sent (and, before the
  collection is created, that this ingest creates it). A collection this ingest did not make is an
  error unless ``--replace``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.grid import pixel_size
from cropcube.rasdaman.ingest.job import CoverageResult, IngestReport, check_ingest_args, check_tile_size
from cropcube.rasdaman.ingest.sources import Source, open_inputs, source_hash, strips
from cropcube.rasdaman.progress import ProgressRecord
from cropcube.rasdaman.transport.rasql import RASDAMAN_TYPES, RasqlConnection, subset
from cropcube.rasdaman.transport.tiff import encode_plain

log = logging.getLogger(__name__)
LABEL_SET_TYPE = "GreySet"


def set_type_for(connection: RasqlConnection, bands: int, dtype: str) -> str:
    """The set type of 2-D arrays of ``bands`` ``dtype`` bands, created when missing."""
    rtype = RASDAMAN_TYPES.get(np.dtype(dtype).name)
    if rtype is None or rtype == "bool":
        raise InputError("cell type", f"{dtype} has no rasdaman cell type")
    if bands == 1:
        predefined = {"char": "GreySet", "ushort": "UShortSet", "short": "ShortSet", "float": "FloatSet"}
        if rtype in predefined:
            return predefined[rtype]
    stem = f"Cropcube{bands}x{rtype}"
    cell, image, collection = f"{stem}Cell", f"{stem}Image", f"{stem}Set"
    if collection in connection.type_names("SET"):
        return collection
    if cell not in connection.type_names("STRUCT"):
        fields = ", ".join(f"Band_{i} {rtype}" for i in range(1, bands + 1))
        connection.execute(f"create type {cell} as ( {fields} )")
    if image not in connection.type_names("MARRAY"):
        connection.execute(f"create type {image} as {cell} mdarray [a0, a1]")
    connection.execute(f"create type {collection} as set ({image} null values [0])")
    return collection


def ingest_collection(
    connection: RasqlConnection,
    name: str,
    source: Source,
    work_dir: Path,
    *,
    tile_size: int = 512,
    replace: bool = False,
    restart: bool = False,
    data_hash: str | None = None,
) -> CoverageResult:
    """Create collection ``name`` holding ``source`` (resumable, idempotent)."""
    cid = ids.coverage_id(name, "rasdaman collection")
    check_tile_size(tile_size)
    params = {
        "collection": cid,
        "source": data_hash or source_hash(source, tile_size),
        "grid": [source.grid.width, source.grid.height, source.count, source.dtype],
        "tile": tile_size,
        "where": f"rasql://{connection.host}:{connection.port}",
    }
    record = ProgressRecord(work_dir / f"{cid}.rasql.progress.json", params, restart=restart)
    exists = connection.exists(cid)
    ours = record.extra.get("creating") == cid or bool(record.extra.get("created"))
    g = source.grid
    note = (
        f"domain [0:{g.width - 1},0:{g.height - 1}] = the pixel grid of {source.path.name} "
        f"(x = column, y = row; no CRS in rasdaman: {g.crs}, west {g.transform.c:.10g}, "
        f"north {g.transform.f:.10g}, {pixel_size(g):g} m)"
    )
    if exists and ours and record.extra.get("complete"):
        return CoverageResult(cid, "unchanged", note=note)
    action = "resumed" if exists and ours else "created"
    if exists and not ours:
        if not replace:
            raise InputError(
                cid,
                f"a collection with this name exists on {connection.where}; "
                "pass --replace to drop and rebuild it",
            )
        connection.execute(f"drop collection {cid}")
        action = "replaced"
        exists = False
    if not exists and (record.resumed or record.extra):
        record = ProgressRecord(record.path, params, restart=True)
    if not exists:
        set_type = set_type_for(connection, source.count, source.dtype)
        record.set("creating", cid)  # before: a kill right after the create still resumes
        connection.execute(f"create collection {cid} {set_type}")
        record.set("created", True)
    has_array = bool(connection.values(f"select sdom(c) from {cid} as c"))
    written = 0
    for col, row, arr in strips(source, tile_size):
        key = f"r{row}_c{col}"
        if record.is_done(key):
            continue
        tiff = encode_plain(arr)
        if not has_array:
            if (col, row) != (0, 0):
                raise InputError(
                    cid, "collection holds no array but tiles after the first are recorded; use --restart"
                )
            connection.execute_with_file(f"insert into {cid} values decode($1)", tiff)
            has_array = True
        else:
            h, w = arr.shape[1:]
            connection.execute_with_file(
                f"update {cid} as c set c[{subset(col, row, w, h)}] assign shift(decode($1), [{col}, {row}])",
                tiff,
            )
        record.mark(key)
        written += 1
    info = connection.describe(cid)
    want = ((0, source.grid.width - 1), (0, source.grid.height - 1))
    if info.domain != want or info.n_bands != source.count:
        raise InputError(
            cid,
            f"after the ingest it holds {info.sdom()} with {info.n_bands} bands, "
            f"expected {want} with {source.count}",
        )
    record.set("complete", True)
    return CoverageResult(cid, action, written, note=note)


def ingest_rasql(
    connection: RasqlConnection,
    cube: str | Path | None,
    labels: str | Path | None,
    work_dir: str | Path,
    *,
    features_id: str = "S2_features_2d",
    labels_id: str = "BRP_labels",
    tile_size: int = 512,
    replace: bool = False,
    restart: bool = False,
) -> IngestReport:
    """Create the feature collection from ``cube`` and the label collection from ``labels`` over rasql.

    Args:
        connection: an open connection with write rights.
        cube: 28-band cube GeoTIFF (``cropcube cube build``), or None.
        labels: uint8 class-index GeoTIFF on the same grid, or None.
        work_dir: progress records.
        features_id: the feature collection.
        labels_id: the label collection.
        tile_size: upload tile edge in pixels.
        replace: drop and rebuild collections this ingest did not make.
        restart: ignore progress records.
    """
    check_ingest_args(tile_size, (features_id, labels_id))
    inputs = open_inputs(cube, labels)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    report = IngestReport()
    for name, source in ((features_id, inputs.cube), (labels_id, inputs.labels)):
        if source is not None:
            report.coverages.append(
                ingest_collection(
                    connection, name, source, work, tile_size=tile_size, replace=replace, restart=restart
                )
            )
    return report
