"""Where the classify-and-write-back job reads features and writes classes: petascope or rasql.

A store knows one server and one way of talking to it. The job (``writeback/job.py``) plans tiles,
classifies and keeps the progress record; the store describes the input, reads windows (in the input's
own cell type), creates or recognises the output and writes tiles.

- :class:`PetascopeStore`: WCS ``GetCoverage`` reads, a WCS-T coverage as output (CRS, grid, metadata
  with the class table, provenance and the job's hash), ``UpdateCoverage`` tile writes (or rasql ones).
- :class:`RasqlStore`: rasql through rasmgr for a community core without petascope. Collections carry no
  CRS and no metadata: the output is a ``char`` collection (``GreySet``) on the input's own domain
  (window), zero-filled when created, then updated tile by tile. Which job made it is recorded, before
  it is made, in the progress record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError
from cropcube.rasdaman import ids, metadata
from cropcube.rasdaman.grid import window as grid_window
from cropcube.rasdaman.ingest.ingredients import tiling_for
from cropcube.rasdaman.progress import ProgressRecord
from cropcube.rasdaman.transport.coverage_io import CoverageWriter, read_window
from cropcube.rasdaman.transport.errors import NoSuchCoverageError
from cropcube.rasdaman.transport.gml import Band, CoverageDescription
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.transport.rasql import RASDAMAN_TYPES, ArrayInfo, RasqlConnection, update_query
from cropcube.rasdaman.transport.tiff import decode_tile, encode_plain, expect_shape
from cropcube.readers.grid import Grid

log = logging.getLogger(__name__)
CLASS_BAND = Band("class", 0, "crop class index (0 = no parcel)")


@dataclass(frozen=True)
class Source:
    """The input as the job sees it.

    Attributes:
        name: coverage id or collection.
        width, height: pixels (columns = E / x, rows = N / y).
        bands: bands per date.
        dates: ISO dates of a 3-D (time, E, N) coverage; empty for 2-D.
        crs: ``EPSG:<code>``, or "" when the store has none (rasql).
        grid: the CRS grid (petascope), else None.
        origin: grid index of pixel (0, 0) on the server (rasql domains may start anywhere).
        description: the store's own description of it.
    """

    name: str
    width: int
    height: int
    bands: int
    dates: tuple[str, ...] = ()
    crs: str = ""
    grid: Grid | None = None
    origin: tuple[int, int] = (0, 0)
    description: Any = field(default=None, compare=False, repr=False)

    @property
    def channels(self) -> int:
        """Bands x dates."""
        return self.bands * max(len(self.dates), 1)


class TileWriter(Protocol):
    """Writes one class tile at a pixel offset of the output (WCS-T or rasql)."""

    def write(self, col: int, row: int, array: npt.NDArray[Any]) -> None:
        """Write ``array`` (rows, cols) at (col, row) of the output window."""
        ...


class Store(Protocol):
    """What the write-back job needs of a server."""

    @property
    def where(self) -> str:
        """The server, for records and messages (no credentials)."""
        ...

    def describe(self, name: str) -> Source:
        """The input's size, bands, dates and grid."""
        ...

    def read(self, source: Source, col: int, row: int, width: int, height: int) -> npt.NDArray[Any]:
        """Pixels ``(channels, height, width)`` of a window, in the input's cell type."""
        ...

    def output_owner(self, name: str, source: Source, window: tuple[int, int, int, int]) -> str | None:
        """The job hash the existing output carries ("" when unknown), or None when there is none.

        Raises:
            InputError: the output exists but cannot be this job's (wrong type or domain).
        """
        ...

    def delete(self, name: str) -> None:
        """Delete the output."""
        ...

    def create_output(
        self, name: str, source: Source, window: tuple[int, int, int, int], info: dict[str, Any]
    ) -> None:
        """Create the output over ``window`` of the input, filled with 0, carrying ``info`` where it can."""
        ...

    def writer(self, name: str, source: Source, window: tuple[int, int, int, int]) -> TileWriter:
        """The tile writer of the output."""
        ...


# -- petascope -----------------------------------------------------------------------------------------


@dataclass
class PetascopeStore:
    """Input and output through petascope (WCS, WCS-T); optionally rasql tile writes.

    Attributes:
        client: the petascope client.
        tile_writer: writes tiles instead of ``UpdateCoverage`` (e.g. rasql); the coverage's grid is then
            spanned with one zero upload when created, since rasql cannot grow petascope's grid.
    """

    client: PetascopeClient
    tile_writer: TileWriter | None = None

    @property
    def where(self) -> str:
        """The endpoint (no credentials)."""
        return ids.redact(self.client.endpoint)

    def describe(self, name: str) -> Source:
        """DescribeCoverage."""
        desc = self.client.describe_coverage(name)
        return Source(
            desc.coverage_id,
            desc.grid.width,
            desc.grid.height,
            len(desc.bands),
            tuple(desc.dates),
            desc.crs,
            desc.grid,
            description=desc,
        )

    def read(self, source: Source, col: int, row: int, width: int, height: int) -> npt.NDArray[Any]:
        """GetCoverage (one per date for a 3-D coverage)."""
        return read_window(self.client, source.description, col, row, width, height)

    def output_owner(self, name: str, source: Source, window: tuple[int, int, int, int]) -> str | None:
        """The ``job_hash`` in the output coverage's cropcube metadata."""
        try:
            existing = self.client.describe_coverage(name)
        except NoSuchCoverageError:
            return None
        info = metadata.decode(existing.metadata) or {}
        return str(info.get("job_hash") or "")

    def delete(self, name: str) -> None:
        """DeleteCoverage."""
        self.client.delete_coverage(name)

    def _grid(self, source: Source, window: tuple[int, int, int, int]) -> Grid:
        assert source.grid is not None
        return grid_window(source.grid, *window)

    def create_output(
        self, name: str, source: Source, window: tuple[int, int, int, int], info: dict[str, Any]
    ) -> None:
        """InsertCoverage with the metadata (and a zero upload spanning the grid for rasql tile writes)."""
        grid = self._grid(source, window)
        CoverageWriter(
            self.client, name, grid, [CLASS_BAND], "uint8", metadata.encode(info), tiling_for(1)
        ).create()
        if self.tile_writer is not None:
            CoverageWriter(self.client, name, grid, [CLASS_BAND], "uint8", "").write(
                0, 0, np.zeros((grid.height, grid.width), np.uint8)
            )

    def writer(self, name: str, source: Source, window: tuple[int, int, int, int]) -> TileWriter:
        """UpdateCoverage per tile, or the configured tile writer."""
        if self.tile_writer is not None:
            return self.tile_writer
        return _WcstWriter(
            CoverageWriter(self.client, name, self._grid(source, window), [CLASS_BAND], "uint8", "")
        )

    def udf_classes(self, query: str, what: str, height: int, width: int) -> npt.NDArray[Any]:
        """Run a WCPS query of the UDF and return its one band (height, width)."""
        arr, _ = decode_tile(self.client.process(query), what)
        return expect_shape(arr, 1, height, width, what)[0]


@dataclass
class _WcstWriter:
    writer: CoverageWriter

    def write(self, col: int, row: int, array: npt.NDArray[Any]) -> None:
        self.writer.write(col, row, array)


# -- rasql ---------------------------------------------------------------------------------------------

OUTPUT_SET_TYPE = "GreySet"
"""rasdaman's predefined set of 2-D char arrays: the class maps."""


@dataclass
class RasqlStore:
    """Input and output as rasdaman collections through rasmgr (no petascope).

    Attributes:
        connection: an open connection with write rights.
    """

    connection: RasqlConnection

    @property
    def where(self) -> str:
        """``rasql://host:port``."""
        return f"rasql://{self.connection.host}:{self.connection.port}"

    def describe(self, name: str) -> Source:
        """Sdom and cell type of the collection's one array (2-D only)."""
        info = self.connection.describe(name)
        if len(info.domain) != 2:
            raise InputError(
                name,
                f"is a {len(info.domain)}-D array {info.sdom()}; "
                "the rasql route classifies 2-D (x, y) arrays",
            )
        (x0, x1), (y0, y1) = info.domain
        return Source(name, x1 - x0 + 1, y1 - y0 + 1, info.n_bands, origin=(x0, y0), description=info)

    def read(self, source: Source, col: int, row: int, width: int, height: int) -> npt.NDArray[Any]:
        """``select c[x0:x1, y0:y1]``, cells de-interleaved here."""
        info: ArrayInfo = source.description
        return self.connection.read_array(info, source.origin[0] + col, source.origin[1] + row, width, height)

    def _domain(self, source: Source, window: tuple[int, int, int, int]) -> tuple[tuple[int, int], ...]:
        col, row, width, height = window
        x0, y0 = source.origin[0] + col, source.origin[1] + row
        return ((x0, x0 + width - 1), (y0, y0 + height - 1))

    def output_owner(self, name: str, source: Source, window: tuple[int, int, int, int]) -> str | None:
        """An empty hash when the collection exists as expected (collections carry no job hash)."""
        if not self.connection.exists(name):
            return None
        try:
            info = self.connection.describe(name)
        except InputError as exc:
            raise InputError(
                name, f"output collection exists but is not a class map ({exc.problem})"
            ) from None
        want = self._domain(source, window)
        if info.domain != want or info.dtype != np.uint8 or info.n_bands != 1:
            raise InputError(
                name,
                f"output collection exists with domain {info.sdom()} of {info.n_bands}-band "
                f"{RASDAMAN_TYPES.get(info.dtype.name, info.dtype.name)} cells; "
                f"this job writes char cells on [{want[0][0]}:{want[0][1]},{want[1][0]}:{want[1][1]}]: "
                "choose another name or pass --replace",
            )
        return ""

    def delete(self, name: str) -> None:
        """``drop collection``."""
        self.connection.execute(f"drop collection {ids.coverage_id(name, 'rasdaman collection')}")

    def create_output(
        self, name: str, source: Source, window: tuple[int, int, int, int], info: dict[str, Any]
    ) -> None:
        """``create collection NAME GreySet`` and one zero-filled array on the window's domain."""
        cid = ids.coverage_id(name, "rasdaman collection")
        (x0, x1), (y0, y1) = self._domain(source, window)
        if not self.connection.exists(cid):
            self.connection.execute(f"create collection {cid} {OUTPUT_SET_TYPE}")
        if not self.connection.values(f"select sdom(c) from {cid} as c"):
            self.connection.execute(f"insert into {cid} values marray x in [{x0}:{x1}, {y0}:{y1}] values 0c")

    def writer(self, name: str, source: Source, window: tuple[int, int, int, int]) -> TileWriter:
        """Rasql ``update ... assign shift(decode($1), [x, y])`` per tile."""
        (x0, _), (y0, _) = self._domain(source, window)
        return RasqlTileWriter(self.connection, name, (x0, y0))


@dataclass
class RasqlTileWriter:
    """Write tiles of an existing array with rasql updates.

    Attributes:
        connection: an open connection with write rights.
        collection: the collection.
        origin: grid index of the output window's pixel (0, 0).
    """

    connection: RasqlConnection
    collection: str
    origin: tuple[int, int] = (0, 0)

    def write(self, col: int, row: int, array: npt.NDArray[Any]) -> None:
        """Write a (rows, cols) tile at pixel (col, row) of the window."""
        h, w = array.shape[-2:]
        x, y = self.origin[0] + col, self.origin[1] + row
        self.connection.execute_with_file(update_query(self.collection, x, y, w, h), encode_plain(array))


def record_intent(record: ProgressRecord, name: str) -> None:
    """Write, before the output is created, that this job creates it (a kill right after is resumable)."""
    record.set("creating", name)


def owned(record: ProgressRecord, owner: str | None, name: str) -> bool:
    """Whether an existing output (``owner`` = its job hash, "" if it carries none) is this job's."""
    if owner is None:
        return False
    if owner:
        return owner == record.hash  # the output says which job made it
    return record.extra.get("creating") == name or bool(record.extra.get("created"))


__all__ = [
    "CLASS_BAND",
    "CoverageDescription",
    "PetascopeStore",
    "RasqlStore",
    "RasqlTileWriter",
    "Source",
    "Store",
    "TileWriter",
    "owned",
    "record_intent",
]
