"""Classify a feature coverage tile by tile and write the crop classes back as a NEW coverage.

Modes:

- ``client``: each tile (core + halo) is read over WCS (GetCoverage; one per date for a 3-D coverage),
  classified here with the kernel, the core cropped and written back. Works with rasdaman community.
- ``udf``: each tile is one WCPS query ``for $c in (COV) return encode(crop.classify($c[E(a:b),N(c:d)]),
  "image/tiff")`` run by rasdaman enterprise; the halo is cropped here.

The output coverage has the input's grid and CRS over the requested area, uint8, nil value 0, the class
table and the model's provenance (name, version, content hash) in its metadata. A JSON progress record
lists finished tiles: a killed job resumes where it stopped; a changed job refuses the old record
unless restarted. Every tile is written whole by one request (retried on transient errors).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from cropcube.bundle.metadata import BundleMetadata
from cropcube.errors import InputError
from cropcube.rasdaman import ids, metadata
from cropcube.rasdaman.ingest.ingredients import tiling_for
from cropcube.rasdaman.progress import ProgressRecord
from cropcube.rasdaman.transport.coverage_io import CoverageWriter, read_window
from cropcube.rasdaman.transport.errors import NoSuchCoverageError
from cropcube.rasdaman.transport.gml import Band, CoverageDescription
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.transport.tiff import decode_tile, expect_shape
from cropcube.tiling import Tile, effective_tile_size, plan_tiles

log = logging.getLogger(__name__)
MODES = ("client", "udf")
_UDF_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")


class TileClassifier(Protocol):
    """What client mode needs: ``cropcube.inference.Classifier`` satisfies it."""

    @property
    def metadata(self) -> BundleMetadata:
        """The model's bundle metadata (halo, downsampling factor, classes, provenance)."""
        ...

    def classify_array(self, cube: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint8]:
        """Classes (H, W) of a raw-DN cube (channels, H, W)."""
        ...


class TileWriter(Protocol):
    """Writes one class tile at a pixel offset of the output grid (WCS-T or rasql)."""

    def write(self, col: int, row: int, array: npt.NDArray[Any]) -> None:
        """Write ``array`` (rows, cols) at (col, row)."""
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

    def lines(self) -> list[str]:
        """Human-readable summary."""
        c, r, w, h = self.window
        return [
            f"input {self.input_coverage} -> output {self.output_coverage} ({self.mode} mode)",
            f"area: pixels col {c}..{c + w - 1}, row {r}..{r + h - 1} ({w}x{h})",
            f"tiles: {self.tiles_written} written, {self.tiles_resumed} resumed, {self.tiles_total} total",
            f"output coverage {'created' if self.created else 'reused (resumed)'}; {self.seconds:.1f} s",
            f"progress record: {self.progress_path}",
        ]


def udf_query(
    coverage_id: str, e: tuple[float, float], n: tuple[float, float], udf: str = "crop.classify"
) -> str:
    """The WCPS query of one UDF tile (every part validated)."""
    from cropcube.rasdaman.grid import AxisSubset

    ids.coverage_id(coverage_id)
    if not _UDF_NAME.fullmatch(udf):
        raise InputError("udf name", f"{udf!r} is not 'namespace.function'")
    se, sn = AxisSubset("E", *e), AxisSubset("N", *n)
    return f'for $c in ({coverage_id}) return encode({udf}($c[{se.wcps()},{sn.wcps()}]), "image/tiff")'


def _check_input(desc: CoverageDescription, model: BundleMetadata, mode: str) -> None:
    spec = model.spec
    channels = len(desc.bands) * max(len(desc.dates), 1)
    if channels != spec.n_channels:
        raise InputError(
            desc.coverage_id,
            f"has {channels} channels ({len(desc.bands)} bands x "
            f"{max(len(desc.dates), 1)} dates); the model needs {spec.n_channels}",
        )
    if desc.dates and mode == "udf":
        raise InputError(desc.coverage_id, "udf mode needs the 2-D 28-band coverage; use client mode for 3-D")
    if desc.crs != spec.crs:
        log.warning("coverage CRS %s differs from the model's %s", desc.crs, spec.crs)


def _classes_as_uint8(arr: npt.NDArray[Any], n_classes: int, what: str) -> npt.NDArray[np.uint8]:
    if arr.dtype == np.uint8:
        return arr
    if arr.size and (arr.min() < 0 or arr.max() > n_classes):
        raise InputError(what, f"class values {arr.min()}..{arr.max()} are outside 0..{n_classes}")
    return arr.astype(np.uint8)


def classify_coverage(
    client: PetascopeClient,
    input_id: str,
    output_id: str,
    model: BundleMetadata,
    *,
    mode: str = "client",
    classifier: TileClassifier | None = None,
    area: tuple[float, float, float, float] | None = None,
    tile_size: int = 512,
    progress_path: str | Path | None = None,
    restart: bool = False,
    replace: bool = False,
    udf: str = "crop.classify",
    writer: TileWriter | None = None,
) -> ClassifyReport:
    """Classify ``input_id`` (over ``area``) into the new coverage ``output_id``.

    Args:
        client: the server.
        input_id: feature coverage (2-D 28 bands, or 3-D time x E x N with 4 bands).
        output_id: the class coverage to create.
        model: the bundle metadata (halo, factor, classes, provenance).
        mode: ``client`` or ``udf``.
        classifier: the local classifier (client mode).
        area: ``(e_min, e_max, n_min, n_max)`` in the coverage CRS; default the whole coverage.
        tile_size: core tile edge in pixels (rounded up to the downsampling factor).
        progress_path: the progress record (default ``<output_id>.progress.json`` here).
        restart: ignore an existing progress record.
        replace: delete an existing output coverage that this job did not create.
        udf: the WCPS UDF name (udf mode).
        writer: tile writer (default WCS-T UpdateCoverage; a :class:`RasqlTileWriter` for rasql).

    Raises:
        InputError: bad arguments, an output that exists and is not this job's, a changed job.
        RasdamanError: the server failed after retries (the job can be resumed).
    """
    start = time.perf_counter()
    ids.coverage_id(input_id, "input coverage id")
    ids.coverage_id(output_id, "output coverage id")
    if input_id == output_id:
        raise InputError("output coverage id", "must differ from the input coverage id")
    if mode not in MODES:
        raise InputError("mode", f"{mode!r} is not one of {MODES}")
    if mode == "client" and classifier is None:
        raise InputError("classifier", "client mode needs a local classifier (a model bundle)")
    factor, halo = model.downsampling_factor, model.halo
    tile = effective_tile_size(int(tile_size), factor)
    desc = client.describe_coverage(input_id)
    _check_input(desc, model, mode)
    window = desc.grid.locate(*area) if area is not None else (0, 0, desc.grid.width, desc.grid.height)
    out_grid = desc.grid.window(*window)
    params = {
        "input": input_id,
        "output": output_id,
        "mode": mode,
        "window": list(window),
        "tile": tile,
        "grid": [desc.grid.crs, desc.grid.left, desc.grid.top, desc.grid.resolution],
        "model": model.content_hash or f"{model.model_name}:{model.model_version}",
        "udf": udf if mode == "udf" else None,
        "endpoint": ids.redact(client.endpoint),
    }
    record = ProgressRecord(Path(progress_path or f"{output_id}.progress.json"), params, restart=restart)
    report = ClassifyReport(input_id, output_id, mode, window, progress_path=str(record.path))
    record = _prepare_output(client, output_id, out_grid, model, record, params, replace, report)
    if writer is not None and report.created:
        # rasql writes cannot grow petascope's grid: one (well compressible) zero upload spans it first
        CoverageWriter(client, output_id, out_grid, [Band("class", 0, "crop class")], "uint8", "").write(
            0, 0, np.zeros((out_grid.height, out_grid.width), np.uint8)
        )
    out = writer or _WcstWriter(
        CoverageWriter(client, output_id, out_grid, [Band("class", 0, "crop class")], "uint8", "", None)
    )
    col0, row0, width, height = window
    cores = (row0, col0, height, width)
    tiles = list(plan_tiles(desc.grid.height, desc.grid.width, tile, halo, factor=factor, area=cores))
    report.tiles_total = len(tiles)
    for t in tiles:
        if record.is_done(t.key):
            report.tiles_resumed += 1
            continue
        classes = _classify_tile(client, desc, t, model, mode, classifier, udf)
        out.write(t.core_cols[0] - col0, t.core_rows[0] - row0, classes)
        record.mark(t.key)
        report.tiles_written += 1
        for k, v in zip(*np.unique(classes, return_counts=True), strict=True):
            report.class_counts[int(k)] = report.class_counts.get(int(k), 0) + int(v)
    record.set("complete", True)
    report.seconds = time.perf_counter() - start
    return report


@dataclass
class _WcstWriter:
    writer: CoverageWriter

    def write(self, col: int, row: int, array: npt.NDArray[Any]) -> None:
        self.writer.write(col, row, array)


def _prepare_output(
    client: PetascopeClient,
    output_id: str,
    grid: Any,
    model: BundleMetadata,
    record: ProgressRecord,
    params: dict[str, Any],
    replace: bool,
    report: ClassifyReport,
) -> ProgressRecord:
    try:
        existing = client.describe_coverage(output_id)
    except NoSuchCoverageError:
        existing = None
    if existing is not None:
        info = metadata.decode(existing.metadata) or {}
        if record.extra.get("created") and info.get("job_hash") == record.hash:
            return record  # ours: resume
        if not replace:
            raise InputError(
                output_id,
                "output coverage already exists and was not made by this job; "
                "choose another id or pass --replace",
            )
        client.delete_coverage(output_id)
    if record.resumed:  # the coverage the record describes is gone: start over
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
    CoverageWriter(
        client,
        output_id,
        grid,
        [Band("class", 0, "crop class index (0 = no parcel)")],
        "uint8",
        metadata.encode(info),
        tiling_for(1),
    ).create()
    record.set("created", True)
    report.created = True
    return record


def _classify_tile(
    client: PetascopeClient,
    desc: CoverageDescription,
    t: Tile,
    model: BundleMetadata,
    mode: str,
    classifier: TileClassifier | None,
    udf: str,
) -> npt.NDArray[np.uint8]:
    rows, cols = t.core_in_window
    what = f"tile {t.key} of {desc.coverage_id}"
    read_row, read_col = t.window_rows[0], t.window_cols[0]
    read_height, read_width = t.window_shape
    if mode == "client":
        assert classifier is not None
        cube = read_window(client, desc, read_col, read_row, read_width, read_height)
        classes = np.asarray(classifier.classify_array(cube.astype(np.uint16, copy=False)))
        if classes.shape != (read_height, read_width):
            raise InputError("classifier", f"returned {classes.shape} for a {read_height}x{read_width} tile")
        classes = np.where((cube == model.spec.nodata).all(axis=0), 0, classes)
    else:
        e, n = desc.grid.read_subsets(read_col, read_row, read_width, read_height)
        query = udf_query(desc.coverage_id, (e.lo or 0.0, e.hi or 0.0), (n.lo or 0.0, n.hi or 0.0), udf)
        arr, _ = decode_tile(client.process(query), what)
        classes = expect_shape(arr, 1, read_height, read_width, what)[0]
    return np.ascontiguousarray(_classes_as_uint8(classes, model.classes.num_classes, what)[rows, cols])
