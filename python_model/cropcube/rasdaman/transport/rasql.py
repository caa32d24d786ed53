"""rasql through rasmgr (port 7001) with rasdapy3: the route to a community core without petascope.

rasdapy3 1.1.0 imports only with ``protobuf<=3.20`` or with the pure-Python protobuf implementation:
:func:`import_rasdapy` sets ``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python`` before importing it (slower
serialisation, irrelevant next to the query itself); this is the only module that imports rasdapy3.

What this module does about rasdapy3's gaps:

- Time: rasdapy3 waits up to an hour for a query. Every call here has a deadline; at the deadline a
  watchdog closes rasdapy3's gRPC channels, which ends the call in flight (the connection is then
  unusable; a job resumes with a new one).
- Errors: update queries that fail come back as a result flagged ``with_error`` instead of an exception,
  read errors as a bare ``Exception``; both become :class:`RasdamanError` with rasdaman's error number
  and text, placeholders filled.
- Multi-band arrays: ``to_array()`` reshapes pixel-interleaved struct cells as if they were band-first
  (``shared/reference/rasdaman.md``); :meth:`RasqlConnection.read_array` reads the raw bytes itself.

Grid indices: a 2-D array ``c[x, y]`` has x (column, E) on axis 0 and y (row, N) on axis 1, y fastest;
``decode`` of a GeoTIFF gives the same order with origin [0, 0], so a tile is placed with
``update COLL as c set c[x0:x1, y0:y1] assign shift(decode($1), [x0, y0])``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.transport import credentials
from cropcube.rasdaman.transport.errors import RasdamanError

log = logging.getLogger(__name__)

PROTOBUF_ENV = "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"
DEFAULT_TIMEOUT = 300.0
CELL_TYPES = {
    "char": np.uint8,
    "octet": np.int8,
    "ushort": np.uint16,
    "short": np.int16,
    "ulong": np.uint32,
    "long": np.int32,
    "float": np.float32,
    "double": np.float64,
    "bool": np.bool_,
}
RASDAMAN_TYPES = {np.dtype(v).name: k for k, v in CELL_TYPES.items()}
_T = TypeVar("_T")


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


# -- query text ----------------------------------------------------------------------------------------


def _index(value: int, what: str) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or abs(int(value)) > 2**31:
        raise InputError(what, f"{value!r} is not a grid index")
    return int(value)


def subset(x0: int, y0: int, width: int, height: int) -> str:
    """``x0:x1, y0:y1`` of a window (every value checked)."""
    x0, y0 = _index(x0, "window x"), _index(y0, "window y")
    for name, v in (("width", width), ("height", height)):
        if _index(v, f"window {name}") < 1:
            raise InputError(f"window {name}", f"{v} must be at least 1")
    return f"{x0}:{x0 + int(width) - 1}, {y0}:{y0 + int(height) - 1}"


def update_query(collection: str, col: int, row: int, width: int, height: int) -> str:
    """The rasql update of one tile at grid index (col, row) (all values validated)."""
    name = ids.coverage_id(collection, "rasdaman collection")
    for what, v in (("col", col), ("row", row)):
        if not isinstance(v, int) or v < 0:
            raise InputError(f"tile {what}", f"{v!r} is not a valid grid index")
    where = subset(col, row, width, height)
    return f"update {name} as c set c[{where}] assign shift(decode($1), [{col}, {row}])"


# -- what a collection holds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ArrayInfo:
    """The one array of a collection: its domain and cell type.

    Attributes:
        collection: the collection.
        domain: ``((lo, hi), ...)`` per axis, inclusive (rasdaman's sdom).
        band_names: names of the struct's bands (``()`` for a primitive cell type).
        dtype: numpy type of every band.
        set_type: the collection's set type name.
    """

    collection: str
    domain: tuple[tuple[int, int], ...]
    band_names: tuple[str, ...]
    dtype: np.dtype[Any]
    set_type: str = ""

    @property
    def n_bands(self) -> int:
        """Bands per cell (1 for a primitive cell type)."""
        return max(1, len(self.band_names))

    @property
    def shape(self) -> tuple[int, ...]:
        """Extent per axis."""
        return tuple(hi - lo + 1 for lo, hi in self.domain)

    def sdom(self) -> str:
        """Rasdaman's text of the domain, e.g. ``[0:99,0:49]``."""
        return "[" + ",".join(f"{lo}:{hi}" for lo, hi in self.domain) + "]"


def parse_sdom(text: str) -> tuple[tuple[int, int], ...]:
    """``[0:99,-5:4]`` -> ``((0, 99), (-5, 4))``.

    Raises:
        InputError: not a bounded rasdaman domain.
    """
    m = re.fullmatch(r"\s*\[([^\]]*)\]\s*", text)
    axes = m.group(1).split(",") if m else []
    out = []
    for axis in axes:
        parts = axis.strip().split(":")
        if len(parts) != 2 or not all(re.fullmatch(r"-?\d+", p.strip()) for p in parts):
            raise InputError("rasdaman domain", f"{text!r} is not a bounded domain like [0:99,0:49]")
        out.append((int(parts[0]), int(parts[1])))
    if not out:
        raise InputError("rasdaman domain", f"{text!r} is not a bounded domain like [0:99,0:49]")
    return tuple(out)


def parse_base_type(text: str) -> tuple[tuple[str, ...], np.dtype[Any]]:
    """Band names and band type of ``marray <struct { ushort Band_1, ... }, ...>`` or ``marray <char, ...>``.

    Raises:
        InputError: an unknown cell type, or a struct whose bands differ in type.
    """
    struct = re.search(r"struct\s*\{([^}]*)\}", text)
    if struct:
        names, types = [], set()
        for field in struct.group(1).split(","):
            parts = field.split()
            if len(parts) != 2 or parts[0] not in CELL_TYPES:
                raise InputError(
                    "cell type", f"{text[:200]!r}: band {field.strip()!r} is not '<type> <name>'"
                )
            types.add(parts[0])
            names.append(parts[1])
        if len(types) != 1:
            raise InputError(
                "cell type", f"bands of different types ({', '.join(sorted(types))}) in {text[:200]!r}"
            )
        return tuple(names), np.dtype(CELL_TYPES[types.pop()])
    m = re.search(r"marray\s*<\s*([a-z]+)\s*,", text)
    if not m or m.group(1) not in CELL_TYPES:
        raise InputError("cell type", f"{text[:200]!r} is not an marray of {', '.join(CELL_TYPES)}")
    return (), np.dtype(CELL_TYPES[m.group(1)])


# -- the connection ------------------------------------------------------------------------------------


# how long closing waits for rasdapy3's keep-alive threads to end
_KEEP_ALIVE_WAIT_S = 5.0


class RasqlConnection:
    """One connection to rasdaman through rasmgr; every call bounded by ``timeout`` seconds.

    Args:
        host: rasmgr host.
        port: rasmgr port.
        write: whether this connection writes (then credentials must be configured; reads default to
            rasdaman's read-only guest account).
        timeout: wall time of one call in seconds (connecting included).

    Raises:
        InputError: a bad host or port, a missing rasdapy3, or no credentials for writing.
        RasdamanError: rasmgr does not answer or refuses the login.
    """

    def __init__(
        self, host: str, port: int, *, write: bool = False, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.host, self.port, self.timeout = ids.host(host), ids.port(port), ids.seconds(timeout)
        self.where = f"rasdaman at {host}:{port}"
        user, password = credentials.rasql_login(host, write)
        if (user, password) != credentials.READ_ONLY_LOGIN:
            credentials.warn_if_clear_text(f"rasql://{host}:{port}", "rasdaman credentials")
        db_connector, query_executor = import_rasdapy()
        self._db: Any = None
        self._broken = False

        def connect() -> Any:
            db = db_connector(host, port, user, password)
            self._db = db
            db.open()
            return db

        self._call("connect", connect)
        self._executor = query_executor(self._db)

    def __enter__(self) -> RasqlConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RasqlConnection({self.host!r}, {self.port})"

    def close(self) -> None:
        """Close the connection (quietly: it may already be broken)."""
        if self._db is None:
            return
        self._stop_keep_alive()
        if not self._broken:
            with contextlib.suppress(RasdamanError):
                self._call("close", self._db.close)
        self._db = None

    def _stop_keep_alive(self) -> None:
        # rasdapy3 only signals its keep-alive threads to stop; one that is inside a call when the
        # channel closes dies with a traceback on stderr. Stop them and wait (a keep-alive call is
        # short; a stuck one is bounded by _KEEP_ALIVE_WAIT_S) before closing a channel.
        for holder in (getattr(self._db, "db", None), getattr(self._db, "con", None)):
            thread = getattr(holder, "_keep_alive_thread", None)
            if isinstance(thread, threading.Thread) and hasattr(thread, "stop"):
                thread.stop()
                # Not join(): the thread class shadows Thread._stop with an Event, so join() and
                # is_alive() raise once it has ended. It leaves threading.enumerate() when it ends.
                deadline = time.monotonic() + _KEEP_ALIVE_WAIT_S
                while thread in threading.enumerate() and time.monotonic() < deadline:
                    time.sleep(0.05)

    # -- bounded calls ---------------------------------------------------------------------------------

    def _channels(self) -> list[Any]:
        db = self._db
        found = []
        for holder in (getattr(db, "con", None), getattr(db, "db", None)):
            channel = getattr(holder, "channel", None)
            if channel is not None:
                found.append(channel)
        return found

    def _call(self, what: str, fn: Callable[[], _T]) -> _T:
        if self._broken:
            raise RasdamanError(what, 0, "", f"the connection to {self.where} was closed after a timeout")
        fired = threading.Event()

        def expire() -> None:
            fired.set()
            self._stop_keep_alive()  # before the channels close under them
            for channel in self._channels():
                with contextlib.suppress(Exception):  # best effort: the call is abandoned anyway
                    channel.close()  # ends every call in flight on the channel

        timer = threading.Timer(self.timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            return fn()
        except Exception as exc:
            if fired.is_set():
                self._broken = True
                raise RasdamanError(
                    what, 0, "", f"no answer from {self.where} within {self.timeout:g} s (--timeout)"
                ) from None
            raise _rasdaman_error(what, exc, self.where) from None
        finally:
            timer.cancel()

    def _query(self, what: str, fn: Callable[[], Any]) -> Any:
        result = self._call(what, fn)
        if getattr(result, "with_error", False):
            from rasdapy.cores.exception_factories import ExceptionFactories

            text = ExceptionFactories.create_error_message(
                result.err_no, result.line_no, result.col_no, str(result.token)
            )
            raise RasdamanError(what, 0, f"rasdaman error {result.err_no}", _without_prefix(text))
        return result

    # -- queries ---------------------------------------------------------------------------------------

    def values(self, query: str) -> list[Any]:
        """The elements of a select that returns scalars, strings or domains (as text)."""
        result = self._query("select", lambda: self._executor.execute_read(query))
        data = getattr(result, "data", [])
        return [str(v) if type(v).__name__ == "MInterval" else v for v in data]

    def execute(self, statement: str) -> None:
        """An update, insert, delete, create or drop statement (committed)."""
        self._query(statement.split()[0].lower(), lambda: self._executor.execute_write(statement))

    def execute_with_file(self, statement: str, data: bytes) -> None:
        """A statement whose ``$1`` is ``data`` (e.g. a GeoTIFF for ``decode($1)``), committed."""
        with tempfile.TemporaryDirectory(prefix="cropcube-rasql-") as tmp:
            path = Path(tmp) / "argument.bin"
            path.write_bytes(data)
            self._query(
                statement.split()[0].lower(),
                lambda: self._executor.execute_update_from_file(statement, str(path)),
            )

    def collections(self) -> list[str]:
        """Names of every collection."""
        return [str(v) for v in self.values("select c from RAS_COLLECTIONNAMES as c")]

    def exists(self, collection: str) -> bool:
        """Whether the collection exists."""
        return ids.coverage_id(collection, "rasdaman collection") in self.collections()

    def type_names(self, kind: str) -> list[str]:
        """Names of the struct, marray or set types (``kind``: ``STRUCT``, ``MARRAY``, ``SET``)."""
        if kind not in ("STRUCT", "MARRAY", "SET"):
            raise InputError("type kind", f"{kind!r} is not STRUCT, MARRAY or SET")
        found = []
        for text in self.values(f"select c from RAS_{kind}_TYPES as c"):
            m = re.match(r"\s*CREATE TYPE\s+(\w+)", str(text), re.IGNORECASE)
            if m:
                found.append(m.group(1))
        return found

    def describe(self, collection: str) -> ArrayInfo:
        """Domain and cell type of the one array in ``collection``.

        Raises:
            InputError: the collection does not exist, holds no array or several.
        """
        name = ids.coverage_id(collection, "rasdaman collection")
        if name not in self.collections():
            raise InputError(name, f"no such collection on {self.where}")
        infos = self.values(f"select dbinfo(c) from {name} as c")
        if len(infos) != 1:
            raise InputError(name, f"collection holds {len(infos)} arrays; cropcube expects exactly one")
        try:
            info = json.loads(str(infos[0]))
        except ValueError:
            raise InputError(name, "dbinfo() answer is not JSON") from None
        domain = parse_sdom(str(self.values(f"select sdom(c) from {name} as c")[0]))
        bands, dtype = parse_base_type(str(info.get("baseType", "")))
        return ArrayInfo(name, domain, bands, dtype, str(info.get("setTypeName", "")))

    def read_array(self, info: ArrayInfo, x0: int, y0: int, width: int, height: int) -> npt.NDArray[Any]:
        """Cells of a 2-D window in image order ``(bands, rows = y, cols = x)``, the collection's type.

        ``x0``, ``y0`` are rasdaman grid indices (the array's own domain, not offsets from its origin).
        """
        if len(info.domain) != 2:
            raise InputError(
                info.collection, f"is {len(info.domain)}-D {info.sdom()}; the rasql route reads 2-D arrays"
            )
        query = f"select c[{subset(x0, y0, width, height)}] from {info.collection} as c"
        result = self._query("select", lambda: self._executor.execute_read(query))
        data = getattr(result, "data", [])
        expected = width * height * info.n_bands * info.dtype.itemsize
        if len(data) != 1 or not isinstance(data[0], bytes | bytearray) or len(data[0]) != expected:
            got = len(data[0]) if data and isinstance(data[0], bytes | bytearray) else "no"
            raise RasdamanError("select", 0, "", f"{query}: {got} bytes received, expected {expected}")
        # rasdaman sends cells in its own byte order: little-endian on the x86-64 and arm64 servers it runs on
        cells = np.frombuffer(data[0], dtype=info.dtype.newbyteorder("<")).reshape(
            width, height, info.n_bands
        )
        return np.ascontiguousarray(cells.transpose(2, 1, 0))


def _without_prefix(text: str) -> str:
    return re.sub(r"^rasdaman error \d+:\s*", "", text)


def _rasdaman_error(what: str, exc: Exception, where: str) -> RasdamanError:
    """A rasdapy3 / gRPC failure as a clear error."""
    text = str(exc)
    code = getattr(exc, "code", None)
    if callable(code):  # grpc.RpcError
        status = str(code()).rsplit(".", 1)[-1]
        details = getattr(exc, "details", lambda: "")() or ""
        if status == "UNAVAILABLE":
            return RasdamanError(what, 0, status, f"cannot connect to {where} ({details or 'unavailable'})")
        if status == "DEADLINE_EXCEEDED" and what == "connect":
            return RasdamanError(
                what,
                0,
                status,
                f"{where} gave no server in time (rasmgr's servers may all be busy: {details})",
            )
        return RasdamanError(what, 0, status, f"{where}: {details or status}")
    m = re.search(r"rasdaman error (\d+): (.*?)'?$", text, re.DOTALL)
    if m:
        return RasdamanError(what, 0, f"rasdaman error {m.group(1)}", m.group(2).strip())
    return RasdamanError(what, 0, "", f"{where}: {text[:300] or type(exc).__name__}")
