"""The rasql write route through rasdapy3 (direct to rasmgr, port 7001), for tiles of a coverage.

rasdapy3 1.1.0 imports only with ``protobuf<=3.20`` or with the pure-Python protobuf implementation:
this module sets ``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python`` before importing it (slower
serialisation, irrelevant next to the query itself) and is the only module that imports rasdapy3.

Grid indices: rasdaman stores petascope coverages with axis 0 = E (column) and axis 1 = N (row), and
``decode`` of a GeoTIFF gives the same order with origin [0, 0], so a tile is shifted to its place:
``update COLL as c set c[c0:c1, r0:r1] assign shift(decode($1), [c0, r0])``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy.typing as npt

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.grid import CoverageGrid
from cropcube.rasdaman.transport.tiff import encode_tile

PROTOBUF_ENV = "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"


def import_rasdapy() -> tuple[Any, Any]:
    """``(DBConnector, QueryExecutor)`` from rasdapy3, working around its protobuf pin.

    The environment variable only takes effect if protobuf is not imported yet in this process;
    when another library (onnx, grpc, ...) loaded protobuf's C implementation first, rasdapy3's
    generated stubs fail and the error says how to start the process instead.

    Raises:
        InputError: rasdapy3 is not installed (``pip install cropcube[rasdaman]``), or protobuf's C
            implementation was loaded before it.
    """
    os.environ.setdefault(PROTOBUF_ENV, "python")
    try:
        from rasdapy.db_connector import DBConnector
        from rasdapy.query_executor import QueryExecutor
    except ImportError as exc:
        raise InputError(
            "rasdapy3", f"cannot import it ({exc}); install with pip install 'cropcube[rasdaman]'"
        ) from None
    except TypeError as exc:  # protobuf >= 4 C/upb descriptors refuse rasdapy3's old generated code
        raise InputError(
            "rasdapy3",
            f"its protobuf stubs need the pure-Python protobuf ({exc}); protobuf was already loaded "
            f"in this process, so start it with {PROTOBUF_ENV}=python",
        ) from None
    return DBConnector, QueryExecutor


def update_query(collection: str, col: int, row: int, width: int, height: int) -> str:
    """The rasql update of one tile (all values validated)."""
    ids.coverage_id(collection, "rasdaman collection")
    for name, v in (("col", col), ("row", row), ("width", width), ("height", height)):
        if not isinstance(v, int) or v < 0 or (name in ("width", "height") and v < 1):
            raise InputError(f"tile {name}", f"{v!r} is not a valid grid index/size")
    c1, r1 = col + width - 1, row + height - 1
    return f"update {collection} as c set c[{col}:{c1}, {row}:{r1}] assign shift(decode($1), [{col}, {row}])"


class RasqlTileWriter:
    """Write tiles of an existing coverage with rasql (its collection must already span the grid).

    Args:
        collection: rasdaman collection of the coverage (petascope names it like the coverage id).
        grid: the coverage's grid (tiles are placed by pixel offsets in it).
        host: rasmgr host.
        port: rasmgr port.
        user: rasdaman user; password from ``CROPCUBE_RASDAMAN_PASSWORD``.
    """

    def __init__(
        self,
        collection: str,
        grid: CoverageGrid,
        host: str = "localhost",
        port: int = 7001,
        user: str | None = None,
    ) -> None:
        self.collection = ids.coverage_id(collection, "rasdaman collection")
        self.grid = grid
        db_connector, query_executor = import_rasdapy()
        user = user or os.environ.get("CROPCUBE_RASDAMAN_USER", "rasadmin")
        password = os.environ.get("CROPCUBE_RASDAMAN_PASSWORD")
        if password is None:
            raise InputError("rasql route", "set CROPCUBE_RASDAMAN_PASSWORD for the rasdaman user")
        self._db = db_connector(host, int(port), user, password)
        self._db.open()
        self._executor = query_executor(self._db)

    def write(self, col: int, row: int, array: npt.NDArray[Any]) -> None:
        """Write a (rows, cols) tile at pixel (col, row) of the grid."""
        h, w = array.shape[-2:]
        query = update_query(self.collection, col, row, w, h)
        data = encode_tile(array, self.grid.window(col, row, w, h))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tile.tif"
            path.write_bytes(data)
            self._executor.execute_update_from_file(query, str(path))

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
