"""Ingest a cube and its labels as rasdaman coverages (WCS-T directly, or through wcst_import).

Three coverages can be made from a 28-band cube GeoTIFF (``cropcube cube build``) and a class-index
label GeoTIFF (``cropcube labels brp``):

- ``features 2-D``: the reference layout, E x N with 28 bands ``Band_1``..``Band_28`` (uint16, nil 0);
- ``features 3-D``: an irregular ``ansi`` time axis x E x N, bands B02, B03, B04, B08;
- ``labels``: E x N uint8 class indices, nil 0, the class table in the metadata.

Idempotent: an existing coverage whose cropcube metadata carries the same data hash and grid is left
alone; a different one is an error unless ``replace`` is set (then it is deleted and rebuilt).
Resumable: a progress record in the work folder lists the tiles already sent.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from cropcube.classes import ClassTable, load_class_table
from cropcube.errors import InputError
from cropcube.rasdaman import ids, metadata
from cropcube.rasdaman.grid import epsg
from cropcube.rasdaman.ingest.ingredients import coverage_ingredients, tiling_for, write_ingredients
from cropcube.rasdaman.ingest.sources import Source, open_inputs, source_hash, strips
from cropcube.rasdaman.progress import ProgressRecord
from cropcube.rasdaman.transport.coverage_io import CoverageWriter
from cropcube.rasdaman.transport.errors import NoSuchCoverageError
from cropcube.rasdaman.transport.gml import Band
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.readers.grid import Grid

log = logging.getLogger(__name__)
LAYOUTS = ("2d", "3d", "both")
METHODS = ("auto", "wcst", "wcst_import")
MAX_TILE = 8192
WCST_IMPORT = "wcst_import.sh"


@dataclass
class CoverageResult:
    """What happened to one coverage: created, resumed, unchanged, replaced or imported."""

    coverage_id: str
    action: str
    tiles_written: int = 0
    ingredients: Path | None = None
    note: str = ""


@dataclass
class IngestReport:
    """Per-coverage results of an ingest run."""

    coverages: list[CoverageResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary, one line per coverage."""
        return [
            f"{c.coverage_id}: {c.action} ({c.tiles_written} tiles written)"
            + (f", ingredients {c.ingredients}" if c.ingredients else "")
            + (f"; {c.note}" if c.note else "")
            for c in self.coverages
        ]


@dataclass
class Ingester:
    """Ingest sources into one server.

    Attributes:
        client: the server.
        work_dir: where ingredient files, per-date files and progress records go.
        method: ``wcst`` (direct), ``wcst_import`` (run it) or ``auto`` (wcst_import when installed).
        replace: rebuild coverages whose content differs instead of failing.
        restart: ignore progress records.
        tile_size: pixels per tile edge for WCS-T uploads.
        runner: runs a command (tests replace it); default ``subprocess.run(check=True)``.
    """

    client: PetascopeClient
    work_dir: Path
    method: str = "auto"
    replace: bool = False
    restart: bool = False
    tile_size: int = 512
    runner: Callable[[list[str]], None] | None = None

    def __post_init__(self) -> None:
        check_ingest_args(self.tile_size, (), method=self.method)
        self.work_dir = Path(self.work_dir)

    def _use_wcst_import(self) -> bool:
        if self.method == "wcst_import" and shutil.which(WCST_IMPORT) is None and self.runner is None:
            raise InputError("method", f"wcst_import requested but {WCST_IMPORT} is not on PATH")
        return self.method == "wcst_import" or (
            self.method == "auto" and shutil.which(WCST_IMPORT) is not None
        )

    def _run(self, args: list[str]) -> None:
        if self.runner is not None:
            self.runner(args)
        else:
            subprocess.run(args, check=True)

    def _existing(self, coverage_id: str, info: dict[str, Any], grid: Grid) -> str | None:
        """``"same"``, ``"different"`` or None when absent."""
        try:
            desc = self.client.describe_coverage(coverage_id)
        except NoSuchCoverageError:
            return None
        found = metadata.decode(desc.metadata) or {}
        same = found.get("data_hash") == info["data_hash"] and found.get("layout") == info["layout"]
        return "same" if same and desc.grid == grid else "different"

    def ingest_coverage(
        self,
        coverage_id: str,
        source: Source,
        info: dict[str, Any],
        bands: list[Band],
        dates: list[str] | None = None,
    ) -> CoverageResult:
        """Create ``coverage_id`` from ``source`` (2-D, or 3-D when ``dates`` are given)."""
        ids.coverage_id(coverage_id)
        params = {
            "coverage": coverage_id,
            "info": info,
            "tile": self.tile_size,
            "endpoint": ids.redact(self.client.endpoint),
        }
        progress = ProgressRecord(
            self.work_dir / f"{coverage_id}.progress.json", params, restart=self.restart
        )
        state = self._existing(coverage_id, info, source.grid)
        action = "created"
        if state == "same":
            if progress.extra.get("complete") or not progress.extra.get("created"):
                # Finished earlier, or made identically by someone else: leave it alone.
                progress.set("complete", True)
                return CoverageResult(coverage_id, "unchanged")
            action = "resumed"
        elif state == "different":
            if not self.replace:
                raise InputError(
                    coverage_id,
                    "a different coverage with this id exists on the server; "
                    "pass --replace to delete and rebuild it",
                )
            self.client.delete_coverage(coverage_id)
            action = "replaced"
        if state != "same" and progress.resumed:  # the coverage the record describes is gone
            progress = ProgressRecord(progress.path, params, restart=True)
        bytes_per_cell = np.dtype(source.dtype).itemsize * len(bands)
        tiling = tiling_for(bytes_per_cell, len(dates) if dates else 0)
        meta_json = metadata.encode(info)
        ingredients = self._write_ingredients(coverage_id, source, bands, dates, meta_json, tiling)
        if self._use_wcst_import():
            self._run([shutil.which(WCST_IMPORT) or WCST_IMPORT, str(ingredients)])
            progress.set("complete", True)
            return CoverageResult(coverage_id, "imported", 0, ingredients)
        writer = CoverageWriter(
            self.client, coverage_id, source.grid, bands, source.dtype, meta_json, tiling, dates
        )
        if state != "same":
            writer.create()
            progress.set("created", True)
        written = 0
        n_bands = len(bands)
        for col, row, arr in strips(source, self.tile_size):
            for d, date in enumerate(dates or [None]):
                key = f"{date or 'all'}/r{row}_c{col}"
                if progress.is_done(key):
                    continue
                writer.write(col, row, arr[d * n_bands : (d + 1) * n_bands], date)
                progress.mark(key)
                written += 1
        progress.set("complete", True)
        return CoverageResult(coverage_id, action, written, ingredients)

    def _write_ingredients(
        self,
        coverage_id: str,
        source: Source,
        bands: list[Band],
        dates: list[str] | None,
        meta_json: str,
        tiling: str,
    ) -> Path:
        paths: list[str]
        if dates:  # wcst_import takes one 2-D file per date; the date is in the file name
            paths = []
            n = len(bands)
            for d, date in enumerate(dates):
                out = self.work_dir / f"{coverage_id}_{date}.tif"
                paths.append(str(out))
                if out.exists() and not self.restart:
                    continue
                with rasterio.open(source.path) as src:
                    arr = src.read(list(range(d * n + 1, (d + 1) * n + 1)))
                from cropcube.io import write_geotiff

                write_geotiff(
                    out,
                    arr,
                    source.grid.transform,
                    source.grid.crs,
                    nodata=0,
                    descriptions=[b.name for b in bands],
                    cog=False,
                )
        else:
            paths = [str(source.path.resolve())]
        doc = coverage_ingredients(
            coverage_id,
            paths,
            self.client.endpoint,
            [(b.name, b.description) for b in bands],
            epsg=epsg(source.grid),
            metadata_json=meta_json,
            tiling=tiling,
            nil_value=0,
            time_axis=bool(dates),
            resume_dir=self.work_dir,
        )
        return write_ingredients(doc, self.work_dir / f"{coverage_id}.ingredients.json")


def ingest(
    client: PetascopeClient,
    cube: str | Path | None,
    labels: str | Path | None,
    work_dir: str | Path,
    *,
    features_id: str = "S2_features_2d",
    features_3d_id: str = "S2_features_3d",
    labels_id: str = "BRP_labels",
    layout: str = "2d",
    method: str = "auto",
    replace: bool = False,
    restart: bool = False,
    tile_size: int = 512,
    class_table: ClassTable | None = None,
    runner: Callable[[list[str]], None] | None = None,
) -> IngestReport:
    """Create the feature coverage(s) from ``cube`` and the label coverage from ``labels``.

    Args:
        client: the server.
        cube: 28-band uint16 cube GeoTIFF with ``YYYY-MM-DD_Bxx`` band descriptions (or None).
        labels: uint8 class-index GeoTIFF on the same grid (or None).
        work_dir: ingredient files, per-date files and progress records.
        features_id: id of the 2-D 28-band coverage.
        features_3d_id: id of the 3-D time x E x N coverage.
        labels_id: id of the label coverage.
        layout: ``2d``, ``3d`` or ``both``.
        method: ``auto``, ``wcst`` or ``wcst_import``.
        replace: rebuild conflicting coverages.
        restart: ignore progress records.
        tile_size: upload tile edge in pixels.
        class_table: the classes of the labels (default: the 76 BRP classes).
        runner: command runner for wcst_import (tests).
    """
    check_ingest_args(tile_size, (features_id, features_3d_id, labels_id), layout=layout, method=method)
    inputs = open_inputs(cube, labels)
    ingester = Ingester(client, Path(work_dir), method, replace, restart, tile_size, runner)
    ingester.work_dir.mkdir(parents=True, exist_ok=True)
    report = IngestReport()
    if inputs.cube is not None and inputs.spec is not None:
        source, spec = inputs.cube, inputs.spec
        digest = source_hash(source, tile_size)
        base = {"kind": "features", "spec": spec.to_dict(), "data_hash": digest, "source": source.path.name}
        if layout in ("2d", "both"):
            bands = [Band(f"Band_{i}", 0, d) for i, d in enumerate(spec.descriptions(), start=1)]
            report.coverages.append(
                ingester.ingest_coverage(features_id, source, {**base, "layout": "E,N x 28"}, bands)
            )
        if layout in ("3d", "both"):
            bands = [Band(b, 0, f"Sentinel-2 {b} digital number") for b in spec.bands]
            dates = [d.isoformat() for d in spec.dates]
            report.coverages.append(
                ingester.ingest_coverage(
                    features_3d_id, source, {**base, "layout": "ansi,E,N x 4"}, bands, dates
                )
            )
    if inputs.labels is not None:
        source = inputs.labels
        table = class_table or load_class_table()
        info = {
            "kind": "labels",
            "layout": "E,N x 1",
            "data_hash": source_hash(source, tile_size),
            "classes": table.to_records(),
            "nodata_class": 0,
            "source": source.path.name,
        }
        report.coverages.append(
            ingester.ingest_coverage(labels_id, source, info, [Band("class", 0, "crop class index")])
        )
    return report


def check_ingest_args(
    tile_size: int, coverage_ids: Sequence[str], *, layout: str = "2d", method: str = "auto"
) -> None:
    """The arguments of an ingest other than its files (both routes).

    Raises:
        InputError: naming the argument.
    """
    if layout not in LAYOUTS:
        raise InputError("--layout", f"{layout!r} is not one of {', '.join(LAYOUTS)}")
    if method not in METHODS:
        raise InputError("--method", f"{method!r} is not one of {', '.join(METHODS)}")
    check_tile_size(tile_size)
    for cid in coverage_ids:
        ids.coverage_id(cid)


def check_tile_size(tile_size: int) -> int:
    """``tile_size`` if it is an upload tile edge in 16..8192 pixels, else InputError."""
    if isinstance(tile_size, bool) or not isinstance(tile_size, int) or not 16 <= tile_size <= MAX_TILE:
        raise InputError("--tile-size", f"{tile_size!r} is not a tile edge in 16..{MAX_TILE} pixels")
    return tile_size
