"""Parcel voting in the client write-back job: a coverage gets what ``classify --parcels`` gives a file.

With parcels the job runs in two passes over its tiles, as the file job does:

1. **classify**: each tile's per-pixel classes and class probabilities are added to the parcels'
   accumulators (:class:`~cropcube.maps.parcels.ParcelRun`); the per-pixel classes are kept in a
   local work array, nothing is written to the server yet.
2. **vote**: each tile gets its parcels' voted classes (0 outside every parcel) and is written to
   the output coverage once.

Then the per-parcel table (GeoPackage or GeoParquet) and its summary CSV are published together,
beside the progress record. A killed job resumes: the accumulators are checkpointed with the keys of
the tiles they hold after every tile (a tile is never counted twice), the work array is flushed
before a tile is marked done, and the vote pass has its own progress keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.classes import ClassTable
from cropcube.errors import InputError
from cropcube.inference.result import ClassMaps
from cropcube.io import publication
from cropcube.maps.parcels import (
    ParcelRun,
    ParcelTable,
    VectorFormat,
    parcel_table_paths,
    render_parcel_table,
)
from cropcube.rasdaman.grid import window as grid_window
from cropcube.rasdaman.progress import ProgressRecord
from cropcube.readers.grid import Grid

VOTE = "vote:"
"""Progress-record key prefix of the vote pass's tiles."""


@dataclass(frozen=True)
class ParcelRequest:
    """What the user asked for with ``--parcels``.

    Attributes:
        gpkg: the BRP GeoPackage.
        fmt: format of the per-parcel table (``gpkg`` or ``parquet``).
        grid_like: a raster with the input's grid, for inputs without a CRS (rasql collections).
    """

    gpkg: Path
    fmt: VectorFormat = "gpkg"
    grid_like: Path | None = None

    def params(self) -> dict[str, Any]:
        """Job parameters: another parcel file (or another grid) is another job."""
        digest = hashlib.sha256(self.gpkg.read_bytes()).hexdigest()
        return {"gpkg": str(self.gpkg.resolve()), "sha256": digest, "format": self.fmt,
                "grid_like": str(self.grid_like.resolve()) if self.grid_like else None}  # fmt: skip


def check_parcel_mode(mode: str) -> None:
    """Parcels are voted with class probabilities, which only client mode has."""
    if mode != "client":
        raise InputError(
            "--parcels", "needs client mode: the UDF answers classes, not probabilities to vote with"
        )


def job_grid(
    request: ParcelRequest, grid: Grid | None, name: str, size: tuple[int, int], window: Any
) -> Grid:
    """The grid of the job's window: the coverage's own, or that of ``--like`` for a collection.

    Args:
        request: the parcels request.
        grid: the input's CRS grid (petascope), None for a rasql collection.
        name: the input's name (for errors).
        size: the input's (width, height).
        window: ``(col, row, width, height)`` of the job.
    """
    if grid is None:
        if request.grid_like is None:
            raise InputError(
                "--parcels",
                f"{name} has no CRS (a rasql collection): give the raster it was ingested from with "
                "--like, so that the parcels can be placed on its pixels",
            )
        grid = Grid.of(request.grid_like)
        if (grid.width, grid.height) != size:
            raise InputError(
                str(request.grid_like),
                f"is {grid.width}x{grid.height} pixels; {name} is {size[0]}x{size[1]}: not its grid",
            )
    elif request.grid_like is not None:
        raise InputError("--like", f"{name} has its own CRS grid; --like is for collections without")
    return grid_window(grid, *window)


def table_paths(record: ProgressRecord, output_id: str, fmt: VectorFormat) -> dict[str, Path]:
    """The per-parcel table and its summary, beside the progress record."""
    return parcel_table_paths(record.path.parent / f"{output_id}.tif", fmt)


class ParcelVoting:
    """The accumulators, the work array of per-pixel classes and the outputs of one job.

    Args:
        run: the parcels on the job's window grid.
        request: what was asked for.
        record: the job's progress record (work files and outputs are named after it).
        output_id: the output coverage (the table is ``<output_id>_parcels.gpkg``).
    """

    def __init__(
        self, run: ParcelRun, request: ParcelRequest, record: ProgressRecord, output_id: str
    ) -> None:
        self.run, self.request = run, request
        base = record.path.with_name(record.path.name.removesuffix(".json"))
        self.state_path = base.with_name(base.name + ".parcels.npz")
        self.classes_path = base.with_name(base.name + ".classes.npy")
        self.outputs = table_paths(record, output_id, request.fmt)
        shape = run.ids.shape
        self.counted: set[str] = set()
        if record.resumed and self.state_path.is_file() and self.classes_path.is_file():
            self.counted = run.restore(self.state_path)
            self.classes: np.memmap[Any, np.dtype[np.uint8]] = np.load(self.classes_path, mmap_mode="r+")
            if self.classes.shape != shape or self.classes.dtype != np.uint8:
                raise InputError(
                    str(self.classes_path), f"is not a {shape} class work array; rerun with --restart"
                )
        else:  # a fresh job: nothing counted yet, whatever an earlier run left
            self.classes = np.lib.format.open_memmap(
                self.classes_path, mode="w+", dtype=np.uint8, shape=shape
            )
            self.state_path.unlink(missing_ok=True)

    def has(self, key: str) -> bool:
        """True when the tile's classes are counted and kept."""
        return key in self.counted

    def add(self, key: str, rows: tuple[int, int], cols: tuple[int, int], maps: ClassMaps) -> None:
        """Keep a tile's per-pixel classes and add it to the accumulators (once: resumed tiles are not)."""
        assert maps.probabilities is not None
        self.classes[rows[0] : rows[1], cols[0] : cols[1]] = maps.classes
        self.classes.flush()
        if key not in self.counted:
            self.run.add(rows, cols, maps.probabilities, maps.classes)
            self.counted.add(key)
            self.run.save(self.state_path, self.counted)

    def voted(self, rows: tuple[int, int], cols: tuple[int, int]) -> npt.NDArray[np.uint8]:
        """A tile's voted classes (0 outside every parcel)."""
        return self.run.vote(rows, cols, np.asarray(self.classes[rows[0] : rows[1], cols[0] : cols[1]]))

    def publish(self, table: ClassTable) -> ParcelTable:
        """Write the per-parcel table and its summary together, then drop the work files."""
        result = self.run.result(table)
        with publication() as pub:
            render_parcel_table(pub.stage(self.outputs["parcels"]), result, self.request.fmt)
            pub.stage(self.outputs["parcel_summary"]).write_text(result.summary_csv(), encoding="utf-8")
        return result

    def discard_work(self) -> None:
        """Remove the checkpoint and the work array (after the job completed)."""
        self.state_path.unlink(missing_ok=True)
        self.classes_path.unlink(missing_ok=True)
