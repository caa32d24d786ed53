"""Reading windows of a coverage and writing tiles of a new one, through WCS / WCS-T.

Writing follows wcst_import: InsertCoverage creates the coverage from a one-cell GML coverage (nil
value, full metadata, tiling), then every tile is an UpdateCoverage whose GeoTIFF is uploaded with the
request; the server grows the grid. A tile either lands completely or the request fails (and is
retried); no partial tile is ever sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.grid import AxisSubset, edge_subsets, read_subsets, window
from cropcube.rasdaman.transport.gml import Band, CoverageDescription, coverage_gml
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.transport.tiff import decode_tile, encode_tile, expect_shape
from cropcube.readers.grid import Grid

log = logging.getLogger(__name__)

PIXEL_TYPES = {"uint8": "Byte", "uint16": "UInt16", "int16": "Int16", "float32": "Float32"}


def read_window(
    client: PetascopeClient, desc: CoverageDescription, col: int, row: int, width: int, height: int
) -> npt.NDArray[Any]:
    """Pixels (channels, height, width) of a window; a 3-D coverage comes back date-major.

    A 2-D coverage is one GetCoverage; a 3-D (time x E x N) coverage is one GetCoverage per date
    (a slice ``ansi("YYYY-MM-DD")``), stacked as channel = date * bands + band.
    """
    e, n = read_subsets(desc.grid, col, row, width, height)
    what = f"GetCoverage {desc.coverage_id} window ({col},{row},{width},{height})"
    if not desc.dates:
        arr, _ = decode_tile(client.get_coverage(desc.coverage_id, [e, n]), what)
        return expect_shape(arr, len(desc.bands), height, width, what)
    time_axis = next(lab for lab in desc.axis_labels if lab not in ("E", "N"))
    planes = []
    for date in desc.dates:
        arr, _ = decode_tile(
            client.get_coverage(desc.coverage_id, [AxisSubset(time_axis, date=date), e, n]), what
        )
        planes.append(expect_shape(arr, len(desc.bands), height, width, f"{what} at {date}"))
    return np.concatenate(planes, axis=0)


@dataclass
class CoverageWriter:
    """Create a coverage on ``grid`` and fill it tile by tile.

    Attributes:
        client: the server.
        coverage_id: the coverage to write.
        grid: its full grid (tiles are windows of it).
        bands: range fields.
        dtype: numpy dtype name of the pixels.
        metadata_json: global metadata text.
        tiling: rasdaman tiling clause.
        dates: ISO dates of an irregular time axis (3-D coverage), else None.
    """

    client: PetascopeClient
    coverage_id: str
    grid: Grid
    bands: Sequence[Band]
    dtype: str
    metadata_json: str
    tiling: str | None = None
    dates: Sequence[str] | None = None

    def __post_init__(self) -> None:
        ids.coverage_id(self.coverage_id)
        if self.dtype not in PIXEL_TYPES:
            raise InputError("pixel type", f"{self.dtype!r} is not one of {sorted(PIXEL_TYPES)}")

    def create(self) -> None:
        """InsertCoverage: the one-cell coverage at the grid's origin with all metadata."""
        gml = coverage_gml(
            self.coverage_id,
            self.grid,
            self.bands,
            metadata_json=self.metadata_json,
            dates=list(self.dates) if self.dates else None,
            single_cell=True,
        )
        answer = self.client.insert_coverage(gml, PIXEL_TYPES[self.dtype], self.tiling)
        log.info("created coverage %s (%s)", self.coverage_id, answer[:80])

    def write(self, col: int, row: int, array: npt.NDArray[Any], date: str | None = None) -> None:
        """UpdateCoverage of one tile: ``array`` (bands, h, w) or (h, w) at pixel (col, row)."""
        arr = array[None] if array.ndim == 2 else array
        if arr.dtype.name != self.dtype:
            raise InputError(f"tile of {self.coverage_id}", f"dtype {arr.dtype} is not {self.dtype}")
        if arr.shape[0] != len(self.bands):
            raise InputError(
                f"tile of {self.coverage_id}", f"{arr.shape[0]} bands, expected {len(self.bands)}"
            )
        tile_grid = window(self.grid, col, row, arr.shape[2], arr.shape[1])
        subsets = list(edge_subsets(self.grid, col, row, arr.shape[2], arr.shape[1]))
        if self.dates:
            if date is None:
                raise InputError(f"tile of {self.coverage_id}", "a 3-D coverage needs the tile's date")
            subsets.insert(0, AxisSubset("ansi", date=date))
        name = f"{self.coverage_id}_{date or ''}_{row}_{col}.tif".replace("__", "_")
        gml = coverage_gml(self.coverage_id, tile_grid, self.bands, file_reference=name)
        nil = self.bands[0].nil_value
        self.client.update_coverage(self.coverage_id, subsets, gml, encode_tile(arr, tile_grid, nil), name)
