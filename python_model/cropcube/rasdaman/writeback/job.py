"""Classify a feature coverage tile by tile and write the crop classes back as a NEW coverage.

Modes:

- ``client``: each tile (core + halo) is read from the server, classified here with the kernel, the
  core cropped and written back. Works with rasdaman community, through petascope (WCS / WCS-T) or,
  without petascope, through rasql (:mod:`cropcube.rasdaman.writeback.stores`).
- ``udf``: each tile is one WCPS query ``for $c in (COV) return encode(crop.classify($c[E(a:b),N(c:d)]),
  "image/tiff")`` run by rasdaman enterprise; the halo is cropped here.

The output has the input's grid (petascope: CRS and grid over the requested area, metadata with the
class table, the model's provenance and the job's hash; rasql: the input's domain), uint8 cells, 0 =
no data. A JSON progress record lists finished tiles: a killed job resumes where it stopped, also when
it was killed between creating the output and its first progress save; a changed job refuses the old
record unless restarted. Every tile is written whole by one request (retried on transient errors).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from cropcube.bundle.metadata import BundleMetadata
from cropcube.calendar import cube_dates, dates_from_descriptions, dates_from_time_axis
from cropcube.errors import InputError
from cropcube.inference.map_rule import clear_non_cropland
from cropcube.inference.result import ClassMaps
from cropcube.maps.parcels import ParcelRun, ParcelTable
from cropcube.rasdaman import ids, metadata
from cropcube.rasdaman.grid import AxisSubset, locate, read_subsets
from cropcube.rasdaman.progress import ProgressRecord
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.writeback.parcels import (
    VOTE,
    ParcelRequest,
    ParcelVoting,
    check_parcel_mode,
    job_grid,
    table_paths,
)
from cropcube.rasdaman.writeback.stores import (
    PetascopeStore,
    Source,
    Store,
    TileWriter,
    owned,
    record_intent,
)
from cropcube.tiling import DEFAULT_TILE_SIZE, Tile, effective_tile_size, plan_tiles

log = logging.getLogger(__name__)
MODES = ("client", "udf")
_DATED_BAND = re.compile(r"^\d{4}-\d{2}-\d{2}_B\d{2}A?$")
CELL_TYPES = ("uint16", "int16", "float32")
"""Input cell types the kernel reads (kept as they are: a float coverage is classified as float)."""


class TileClassifier(Protocol):
    """What client mode needs: ``cropcube.inference.Classifier`` satisfies it."""

    @property
    def metadata(self) -> BundleMetadata:
        """The model's bundle metadata (halo, downsampling factor, classes, provenance)."""
        ...

    def run(
        self,
        cube: npt.NDArray[Any],
        *,
        core: tuple[int, int, int, int] | None = None,
        doy: Any = None,
        probabilities: bool = False,
    ) -> ClassMaps:
        """Maps of the ``core`` window ``(row, col, rows, cols)`` of a raw-DN cube (channels, H, W).

        The rest of the cube is context (the halo read around the core); nodata pixels are class 0.
        ``doy``: day of year of the cube's dates (None: the model's default dates).
        ``probabilities``: also the class probabilities (asked for only with parcels).
        """
        ...


@dataclass
class ClassifyReport:
    """What a classify job did."""

    input_coverage: str
    output_coverage: str
    mode: str
    window: tuple[int, int, int, int]
    tiles_total: int = 0
    tiles_written: int = 0
    tiles_resumed: int = 0
    created: bool = False
    seconds: float = 0.0
    progress_path: str = ""
    class_counts: dict[int, int] = field(default_factory=dict)
    domain: str = ""
    parcels: ParcelTable | None = None
    parcel_outputs: dict[str, Path] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable summary."""
        c, r, w, h = self.window
        lines = [
            f"input {self.input_coverage} -> output {self.output_coverage} ({self.mode} mode)",
            f"area: pixels col {c}..{c + w - 1}, row {r}..{r + h - 1} ({w}x{h})",
        ]
        if self.domain:
            lines.append(f"output domain {self.domain} (rasdaman grid indices x, y; no CRS)")
        lines += [
            f"tiles: {self.tiles_written} written, {self.tiles_resumed} resumed, {self.tiles_total} total",
            f"output {'created' if self.created else 'reused (resumed)'}; {self.seconds:.1f} s",
            f"progress record: {self.progress_path}",
        ]
        if self.parcel_outputs:
            lines.append(
                "parcels voted; per-parcel table: " + ", ".join(map(str, self.parcel_outputs.values()))
            )
        if self.parcels is not None:
            lines.append(self.parcels.format())
        return lines


def udf_query(
    coverage_id: str, e: tuple[float, float], n: tuple[float, float], udf: str = "crop.classify"
) -> str:
    """The WCPS query of one UDF tile (every part validated)."""
    cid = ids.CoverageId(coverage_id)
    ids.udf_name(udf)
    se, sn = AxisSubset("E", *e), AxisSubset("N", *n)
    return f'for $c in ({cid}) return encode({udf}($c[{se.wcps()},{sn.wcps()}]), "image/tiff")'


def check_classify_args(
    input_id: str,
    output_id: str,
    mode: str,
    udf: str,
    area: tuple[float, float, float, float] | None,
    cells: tuple[int, int, int, int] | None,
) -> tuple[ids.CoverageId, ids.CoverageId]:
    """The validated ids of a classify job, once its other arguments are checked (nothing contacted).

    Raises:
        InputError: an invalid id, the same id twice, an unknown mode, a bad UDF name, area and cells.
    """
    input_cid = ids.CoverageId(input_id, "input coverage id")
    output_cid = ids.CoverageId(output_id, "output coverage id")
    if input_cid == output_cid:
        raise InputError("output coverage id", "must differ from the input coverage id")
    if mode not in MODES:
        raise InputError("--mode", f"{mode!r} is not one of {', '.join(MODES)}")
    if mode == "udf":
        ids.udf_name(udf)
    if area is not None and cells is not None:
        raise InputError("--area", "give an area in CRS coordinates or grid cells (--cells), not both")
    return input_cid, output_cid


def check_route(kind: str, mode: str, area: tuple[float, float, float, float] | None) -> None:
    """What a classify job needs of the transport: udf mode and CRS areas need petascope.

    Raises:
        InputError: ``kind`` is ``rasql`` and the job asks for either.
    """
    if kind == "petascope":
        return
    if mode == "udf":
        raise InputError(
            "--mode", "udf mode runs WCPS queries and needs petascope; use client mode over rasql"
        )
    if area is not None:
        raise InputError("--area", "rasql collections have no CRS; give grid cells (--cells) instead")


def _source_dates(source: Source) -> tuple[dt.date, ...] | None:
    """The input's own dates, or None when it carries none.

    A 3-D coverage's time axis; for a 2-D coverage the layout cropcube's ingest stores in its
    metadata (``spec.dates``), else band names ``YYYY-MM-DD_Bxx``.
    """
    if source.dates:
        return dates_from_time_axis(source.dates, source.name)
    info = metadata.decode(str(getattr(source.description, "metadata", "") or "")) or {}
    spec = info.get("spec") if isinstance(info.get("spec"), dict) else None
    if spec and isinstance(spec.get("dates"), list) and spec["dates"]:
        return dates_from_time_axis(spec["dates"], f"{source.name} metadata")
    names = list(getattr(source.description, "bands", None) or [])
    if names and all(_DATED_BAND.match(str(n)) for n in names):
        return dates_from_descriptions(names, source.name)
    return None


def _check_input(
    source: Source, model: BundleMetadata, mode: str, dates: Sequence[dt.date] | None = None
) -> npt.NDArray[np.float32] | None:
    """Check the input against the model; the day of year of its dates (None: a format-1 bundle's own)."""
    spec = model.spec
    if model.calendar is None and source.channels != spec.n_channels:
        raise InputError(
            source.name,
            f"has {source.channels} channels ({source.bands} bands x "
            f"{max(len(source.dates), 1)} dates); the model needs {spec.n_channels}",
        )
    if source.dates and mode == "udf":
        raise InputError(source.name, "udf mode needs the 2-D 28-band coverage; use client mode for 3-D")
    if source.crs and source.crs != spec.crs:
        log.warning("coverage CRS %s differs from the model's %s", source.crs, spec.crs)
    known = cube_dates(model, source.channels, _source_dates(source), dates, source.name)
    if known.warning:
        log.warning("%s", known.warning)
    default = model.accepted_calendar().default_doy
    if mode == "udf" and known.doy is not None and not np.array_equal(known.doy, default):
        raise InputError(
            source.name,
            "udf mode runs crop.classify with the bundle's default dates, and this coverage's dates "
            "differ: use client mode, which gives the model the coverage's own dates",
        )
    return known.doy


def _classes_as_uint8(arr: npt.NDArray[Any], n_classes: int, what: str) -> npt.NDArray[np.uint8]:
    if arr.dtype == np.uint8:
        return arr
    if arr.size and (arr.min() < 0 or arr.max() > n_classes):
        raise InputError(what, f"class values {arr.min()}..{arr.max()} are outside 0..{n_classes}")
    return arr.astype(np.uint8)


def _window(
    source: Source,
    area: tuple[float, float, float, float] | None,
    cells: tuple[int, int, int, int] | None,
) -> tuple[int, int, int, int]:
    """``(col, row, width, height)`` of the pixels to classify."""
    if area is not None:
        assert source.grid is not None  # check_route: areas only over petascope
        return locate(source.grid, *area)
    if cells is not None:
        x0, x1, y0, y1 = cells
        ox, oy = source.origin
        if not (ox <= x0 <= x1 < ox + source.width and oy <= y0 <= y1 < oy + source.height):
            raise InputError(
                "--cells",
                f"[{x0}:{x1},{y0}:{y1}] is not inside {source.name}'s domain "
                f"[{ox}:{ox + source.width - 1},{oy}:{oy + source.height - 1}]",
            )
        return x0 - ox, y0 - oy, x1 - x0 + 1, y1 - y0 + 1
    return 0, 0, source.width, source.height


def classify_coverage(
    server: PetascopeClient | Store,
    input_id: str,
    output_id: str,
    model: BundleMetadata,
    *,
    mode: str = "client",
    classifier: TileClassifier | None = None,
    area: tuple[float, float, float, float] | None = None,
    cells: tuple[int, int, int, int] | None = None,
    tile_size: int = DEFAULT_TILE_SIZE,
    progress_path: str | Path | None = None,
    restart: bool = False,
    replace: bool = False,
    udf: str = "crop.classify",
    writer: TileWriter | None = None,
    dates: Sequence[dt.date] | None = None,
    parcels: ParcelRequest | None = None,
) -> ClassifyReport:
    """Classify ``input_id`` (over ``area`` or ``cells``) into the new coverage ``output_id``.

    Args:
        server: a :class:`PetascopeClient` or a store (:class:`~.stores.PetascopeStore`,
            :class:`~.stores.RasqlStore`).
        input_id: feature coverage (2-D 28 bands, or 3-D time x E x N with 4 bands over petascope).
        output_id: the class coverage (or collection) to create.
        model: the bundle metadata (halo, factor, classes, provenance).
        mode: ``client`` or ``udf``.
        classifier: the local classifier (client mode).
        area: ``(e_min, e_max, n_min, n_max)`` in the coverage CRS (petascope); default the whole input.
        cells: ``(x0, x1, y0, y1)`` inclusive rasdaman grid indices (any store).
        tile_size: core tile edge in pixels (rounded up to the downsampling factor).
        progress_path: the progress record (default ``<output_id>.progress.json`` here).
        restart: ignore an existing progress record.
        replace: delete an existing output that this job did not create.
        udf: the WCPS UDF name (udf mode).
        writer: tile writer for a petascope output (e.g. rasql updates; the grid is spanned first).
        dates: the input's dates when it carries none (``--dates``; see :func:`_source_dates`).
        parcels: vote one class per parcel and write the per-parcel table, as ``cropcube classify
            --parcels`` does for a file (client mode; see :mod:`~.parcels`).

    Raises:
        InputError: bad arguments, an output that exists and is not this job's, a changed job.
        RasdamanError: the server failed after retries (the job can be resumed).
    """
    start = time.perf_counter()
    input_id, output_id = check_classify_args(input_id, output_id, mode, udf, area, cells)
    if mode == "client" and classifier is None:
        raise InputError("classifier", "client mode needs a local classifier (a model bundle)")
    if parcels is not None:
        check_parcel_mode(mode)
    store: Store = PetascopeStore(server, writer) if isinstance(server, PetascopeClient) else server
    check_route("petascope" if isinstance(store, PetascopeStore) else "rasql", mode, area)
    factor, halo = model.downsampling_factor, model.halo
    tile = effective_tile_size(int(tile_size), factor)
    source = store.describe(input_id)
    doy = _check_input(source, model, mode, dates)
    window = _window(source, area, cells)
    params = {
        "input": input_id,
        "output": output_id,
        "mode": mode,
        "window": list(window),
        "tile": tile,
        "grid": [source.grid.crs, source.grid.transform.c, source.grid.transform.f, source.grid.resolution[0]]
        if source.grid
        else [list(source.origin), source.width, source.height],
        "model": model.content_hash or f"{model.model_name}:{model.model_version}",
        "udf": udf if mode == "udf" else None,
        "endpoint": store.where,
        **({"doy": [float(v) for v in doy]} if doy is not None else {}),  # other dates: another map
        **({"parcels": parcels.params()} if parcels is not None else {}),
    }
    record = ProgressRecord(Path(progress_path or f"{output_id}.progress.json"), params, restart=restart)
    report = ClassifyReport(input_id, output_id, mode, window, progress_path=str(record.path))
    run = None
    if parcels is not None:  # placed before the output is made: parcels off the input fail first
        grid = job_grid(parcels, source.grid, input_id, (source.width, source.height), window)
        run = ParcelRun.plan(parcels.gpkg, grid, model.classes.num_classes, f"{input_id}'s window")
    record = _prepare_output(store, source, output_id, window, model, record, params, replace, report)
    if source.grid is None:
        col, row, w, h = window
        x0, y0 = source.origin[0] + col, source.origin[1] + row
        report.domain = f"[{x0}:{x0 + w - 1},{y0}:{y0 + h - 1}]"
    out = store.writer(output_id, source, window)
    col0, row0, width, height = window
    cores = (row0, col0, height, width)
    tiles = list(plan_tiles(source.height, source.width, tile, halo, factor=factor, area=cores))
    report.tiles_total = len(tiles)
    if parcels is not None and record.extra.get("complete"):  # done: its work files are gone
        report.tiles_resumed, report.parcel_outputs = len(tiles), table_paths(record, output_id, parcels.fmt)
        return report
    voting = None if run is None or parcels is None else ParcelVoting(run, parcels, record, output_id)
    for t in tiles:
        if record.is_done(t.key) and (voting is None or voting.has(t.key)):
            report.tiles_resumed += 1
            continue
        if voting is None:
            classes = _classify_tile(store, source, t, model, mode, classifier, udf, doy)
            _write(out, t, window, classes, report)
        else:  # pass 1 of 2: per-pixel classes and probabilities into the parcels' accumulators
            assert classifier is not None
            what = f"tile {t.key} of {source.name}"
            maps = _client_maps(classifier, _read_window(store, source, t), t, what, doy, probabilities=True)
            voting.add(t.key, *_in_window(t, window), maps)
        record.mark(t.key)
    if voting is not None:  # pass 2 of 2: every tile with its parcels' voted classes
        for t in tiles:
            if not record.is_done(VOTE + t.key):
                _write(out, t, window, voting.voted(*_in_window(t, window)), report)
                record.mark(VOTE + t.key)
        report.parcels = voting.publish(model.classes)
        report.parcel_outputs = voting.outputs
    record.set("complete", True)
    if voting is not None:
        voting.discard_work()
    report.seconds = time.perf_counter() - start
    return report


def _read_window(store: Store, source: Source, t: Tile) -> npt.NDArray[Any]:
    """The tile's window (core + halo) of the input, read once."""
    (rows, _), (cols, _) = t.window_rows, t.window_cols
    return store.read(source, cols, rows, t.window_shape[1], t.window_shape[0])


def _in_window(t: Tile, window: tuple[int, int, int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The tile core's rows and columns relative to the job's window."""
    col0, row0 = window[0], window[1]
    return (t.core_rows[0] - row0, t.core_rows[1] - row0), (t.core_cols[0] - col0, t.core_cols[1] - col0)


def _write(
    out: TileWriter, t: Tile, window: tuple[int, int, int, int], classes: Any, report: ClassifyReport
) -> None:
    """Write a tile core's classes into the output (pixel offsets within the window); count them."""
    (r0, _), (c0, _) = _in_window(t, window)
    out.write(c0, r0, classes)
    report.tiles_written += 1
    for k, v in zip(*np.unique(classes, return_counts=True), strict=True):
        report.class_counts[int(k)] = report.class_counts.get(int(k), 0) + int(v)


def _prepare_output(
    store: Store,
    source: Source,
    output_id: str,
    window: tuple[int, int, int, int],
    model: BundleMetadata,
    record: ProgressRecord,
    params: dict[str, Any],
    replace: bool,
    report: ClassifyReport,
) -> ProgressRecord:
    owner = store.output_owner(output_id, source, window)
    if owner is not None:
        if owned(record, owner, output_id):
            return record  # ours: resume
        if not replace:
            raise InputError(
                output_id,
                "output coverage already exists and was not made by this job; "
                "choose another id or pass --replace",
            )
        store.delete(output_id)
    if record.resumed or record.extra:  # the output the record describes is gone: start over
        record = ProgressRecord(record.path, params, restart=True)
    info = {
        "kind": "classes",
        "classes": model.classes.to_records(),
        "nodata_class": 0,
        "model": {
            "name": model.model_name,
            "version": model.model_version,
            "content_hash": model.content_hash,
        },
        "input": params["input"],
        "window": params["window"],
        "mode": params["mode"],
        "job_hash": record.hash,
    }
    record_intent(record, output_id)  # before creating: a kill right after creation still resumes
    store.create_output(output_id, source, window, info)
    record.set("created", True)
    report.created = True
    return record


def _classify_here(
    classifier: TileClassifier,
    cube: npt.NDArray[Any],
    t: Tile,
    model: BundleMetadata,
    what: str,
    doy: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[Any]:
    """Client mode: the kernel on the tile's window read once, classifying its core in one call.

    The window is the core plus the halo, so the kernel runs one pass per tile (for cores up to its
    tile size) and returns the core only; it sets nodata pixels to class 0, and the map rule shared
    with ``cropcube classify`` sets non-cropland to 0 (:mod:`cropcube.inference.map_rule`).
    """
    rows, cols = t.core_in_window
    maps = _client_maps(classifier, cube, t, what, doy)
    return clear_non_cropland(maps, cube[(slice(None), rows, cols)], model.spec).classes


def _client_maps(
    classifier: TileClassifier,
    cube: npt.NDArray[Any],
    t: Tile,
    what: str,
    doy: npt.NDArray[np.float32] | None = None,
    probabilities: bool = False,
) -> ClassMaps:
    """The kernel's maps of the tile's core, from its window read once (one pass per tile)."""
    if cube.dtype.name not in CELL_TYPES:
        raise InputError(what, f"cells are {cube.dtype}; the model reads {', '.join(CELL_TYPES)}")
    rows, cols = t.core_in_window
    core = (rows.start, cols.start, rows.stop - rows.start, cols.stop - cols.start)
    # Only what is needed in the call: classifiers need not know about dates or probabilities.
    extra: dict[str, Any] = {"doy": doy} if doy is not None else {}
    if probabilities:
        extra["probabilities"] = True
    maps = classifier.run(cube, core=core, **extra)
    if maps.classes.shape != t.core_shape:
        raise InputError("classifier", f"returned {maps.classes.shape} for a {t.core_shape} tile core")
    if probabilities and maps.probabilities is None:
        raise InputError("classifier", "returned no class probabilities to vote with")
    return maps


def _classify_tile(
    store: Store,
    source: Source,
    t: Tile,
    model: BundleMetadata,
    mode: str,
    classifier: TileClassifier | None,
    udf: str,
    doy: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.uint8]:
    what = f"tile {t.key} of {source.name}"
    read_row, read_col = t.window_rows[0], t.window_cols[0]
    read_height, read_width = t.window_shape
    if mode == "client":
        assert classifier is not None
        cube = _read_window(store, source, t)
        classes = _classify_here(classifier, cube, t, model, what, doy)
    else:  # the server classifies the whole window: the halo is cropped here
        assert isinstance(store, PetascopeStore) and source.grid is not None
        e, n = read_subsets(source.grid, read_col, read_row, read_width, read_height)
        query = udf_query(source.name, (e.lo or 0.0, e.hi or 0.0), (n.lo or 0.0, n.hi or 0.0), udf)
        classes = store.udf_classes(query, what, read_height, read_width)[t.core_in_window]
    return np.ascontiguousarray(_classes_as_uint8(classes, model.classes.num_classes, what))
