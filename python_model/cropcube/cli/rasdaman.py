"""`cropcube rasdaman ...`: ingest, classify, write back, query (UDF deployment: rasdaman_udf).

Each command parses and validates its options, opens the server (:func:`_open`) and makes one call.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cropcube.cli import rasdaman_udf
from cropcube.errors import InputError
from cropcube.rasdaman.transport import credentials

rasdaman_app = typer.Typer(
    help="Work with a rasdaman server: ingest, classify, write back, deploy the UDF.", no_args_is_help=True
)
rasdaman_udf.register(rasdaman_app)

TRANSPORTS = ("auto", "petascope", "rasql")


# -- options (declared once, shared by the commands) ---------------------------------------------------


def _positive_seconds(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"{value:g} is not a positive number of seconds")
    return value


def _retries(value: int) -> int:
    if value < 0:
        raise typer.BadParameter(f"{value} is not a whole number >= 0")
    return value


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise typer.BadParameter(f"{value} is not a port number (1..65535)")
    return value


def _tile(value: int) -> int:
    if value < 16:
        raise typer.BadParameter(f"{value} must be at least 16 pixels")
    return value


def _transport_name(value: str) -> str:
    if value not in TRANSPORTS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(TRANSPORTS)}")
    return value


Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        help="petascope OWS endpoint, e.g. http://localhost:8080/rasdaman/ows "
        f"(default: ${credentials.URL_ENV}).",
    ),
]
Transport = Annotated[
    str,
    typer.Option(
        "--transport",
        callback=_transport_name,
        help="petascope (WCS/WCPS/WCS-T), rasql (rasmgr; community core without petascope) or auto: "
        "petascope when an endpoint is set and answers, else rasql.",
    ),
]
RasqlHost = Annotated[
    str,
    typer.Option("--rasql-host", envvar=credentials.RASQL_HOST_ENV, help="rasmgr host for rasql."),
]
RasqlPort = Annotated[
    int,
    typer.Option("--rasql-port", envvar=credentials.RASQL_PORT_ENV, callback=_port, help="rasmgr port."),
]
Retries = Annotated[
    int,
    typer.Option("--retries", callback=_retries, help="Retries on connection errors, timeouts and 5xx."),
]
Timeout = Annotated[
    float,
    typer.Option(
        "--timeout",
        callback=_positive_seconds,
        help="Wall time of one request in seconds, every retry included.",
    ),
]
TileSize = Annotated[int, typer.Option("--tile-size", callback=_tile, help="Tile edge in pixels (>= 16).")]


# -- opening the server --------------------------------------------------------------------------------


def _petascope(endpoint: str, retries: int, timeout: float) -> Any:
    from cropcube.rasdaman.transport.http import RetryPolicy
    from cropcube.rasdaman.transport.petascope import PetascopeClient

    return PetascopeClient(endpoint, RetryPolicy.for_timeout(timeout, retries))


def _open(
    transport: str,
    endpoint: str | None,
    rasql_host: str,
    rasql_port: int,
    retries: int,
    timeout: float,
    write: bool,
) -> tuple[str, Any]:
    """``("petascope", PetascopeClient)`` or ``("rasql", RasqlConnection)`` as the options ask."""
    url = endpoint or os.environ.get(credentials.URL_ENV)
    if transport == "petascope" or (transport == "auto" and url):
        if not url:
            raise InputError("--endpoint", f"give the petascope endpoint or set {credentials.URL_ENV}")
        client = _petascope(url, retries, timeout)
        if transport == "petascope":
            return "petascope", client
        from cropcube.rasdaman.transport.errors import RasdamanError

        try:  # auto: does petascope answer?
            _petascope(url, 0, min(timeout, 10.0)).get_capabilities()
            return "petascope", client
        except RasdamanError as exc:
            typer.secho(
                f"warning: petascope at {client.http.where} does not answer ({exc}); "
                f"using rasql at {rasql_host}:{rasql_port}",
                err=True,
                fg=typer.colors.YELLOW,
            )
    from cropcube.rasdaman.transport.rasql import RasqlConnection

    return "rasql", RasqlConnection(rasql_host, rasql_port, write=write, timeout=timeout)


def _parse_area(area: str | None) -> tuple[float, float, float, float] | None:
    if area is None:
        return None
    parts = area.split(",")
    if len(parts) != 4:
        raise InputError("--area", f"{area!r} is not 'E_MIN,E_MAX,N_MIN,N_MAX'")
    from cropcube.rasdaman import ids

    e0, e1 = ids.interval(parts[0], parts[1], "--area E")
    n0, n1 = ids.interval(parts[2], parts[3], "--area N")
    return e0, e1, n0, n1


def _parse_cells(cells: str | None) -> tuple[int, int, int, int] | None:
    if cells is None:
        return None
    import re

    m = re.fullmatch(r"\s*(-?\d+):(-?\d+)\s*,\s*(-?\d+):(-?\d+)\s*", cells)
    if not m:
        raise InputError("--cells", f"{cells!r} is not 'X0:X1,Y0:Y1' (inclusive grid indices)")
    x0, x1, y0, y1 = (int(v) for v in m.groups())
    if x1 < x0 or y1 < y0:
        raise InputError("--cells", f"{cells!r} is empty")
    return x0, x1, y0, y1


def _writable_output(path: Path) -> Path:
    """``path`` if a file can be written there (checked before anything is sent to the server)."""
    if path.is_dir():
        raise InputError(str(path), "is a folder; give a file name for the answer")
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise InputError(str(path), f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(str(path), "cannot be written (permission denied)")
    return path


# -- commands ------------------------------------------------------------------------------------------


@rasdaman_app.command("ingest")
def ingest_cmd(
    cube: Annotated[
        Path | None, typer.Option("--cube", help="28-band cube GeoTIFF (from `cropcube cube build`).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="uint8 class-index GeoTIFF (`cropcube labels brp`).")
    ] = None,
    endpoint: Endpoint = None,
    transport: Transport = "auto",
    rasql_host: RasqlHost = credentials.DEFAULT_RASQL_HOST,
    rasql_port: RasqlPort = credentials.DEFAULT_RASQL_PORT,
    layout: Annotated[
        str, typer.Option("--layout", help="2d (28 bands), 3d (time x E x N, 4 bands; petascope) or both.")
    ] = "2d",
    features_id: Annotated[
        str, typer.Option("--features-id", help="Id of the 2-D 28-band coverage / collection.")
    ] = "S2_features_2d",
    features_3d_id: Annotated[
        str, typer.Option("--features-3d-id", help="Id of the 3-D coverage.")
    ] = "S2_features_3d",
    labels_id: Annotated[str, typer.Option("--labels-id", help="Id of the label coverage.")] = "BRP_labels",
    method: Annotated[
        str, typer.Option("--method", help="petascope: wcst (direct), wcst_import, or auto.")
    ] = "auto",
    work_dir: Annotated[Path, typer.Option("--work-dir", help="Ingredients, progress records.")] = Path(
        "rasdaman_ingest"
    ),
    tile_size: TileSize = 512,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete and rebuild a conflicting coverage.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore progress records of earlier runs.")
    ] = False,
    retries: Retries = 4,
    timeout: Timeout = 300.0,
) -> None:
    """Create the feature and label coverages (idempotent and resumable)."""
    from cropcube.rasdaman.ingest.sources import open_source

    for path, what in ((cube, "cube"), (labels, "labels")):
        if path is not None:
            open_source(path, what)  # a missing or unreadable file fails before the server is asked
    kind, server = _open(transport, endpoint, rasql_host, rasql_port, retries, timeout, write=True)
    if kind == "rasql":
        from cropcube.rasdaman.ingest.rasql import ingest_rasql

        if layout != "2d":
            raise InputError("--layout", "the rasql route ingests the 2-D layout (28 bands per cell) only")
        with server:
            report = ingest_rasql(
                server,
                cube,
                labels,
                work_dir,
                features_id=features_id,
                labels_id=labels_id,
                tile_size=tile_size,
                replace=replace,
                restart=restart,
            )
    else:
        from cropcube.rasdaman.ingest.job import ingest

        report = ingest(
            server,
            cube,
            labels,
            work_dir,
            features_id=features_id,
            features_3d_id=features_3d_id,
            labels_id=labels_id,
            layout=layout,
            method=method,
            replace=replace,
            restart=restart,
            tile_size=tile_size,
        )
    for line in report.lines():
        typer.echo(line)


@rasdaman_app.command("classify")
def classify_cmd(
    input_id: Annotated[str, typer.Argument(help="Feature coverage (2-D 28 bands or 3-D time x E x N).")],
    output_id: Annotated[str, typer.Argument(help="New coverage (or collection) of crop classes to create.")],
    endpoint: Endpoint = None,
    transport: Transport = "auto",
    rasql_host: RasqlHost = credentials.DEFAULT_RASQL_HOST,
    rasql_port: RasqlPort = credentials.DEFAULT_RASQL_PORT,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model bundle (.pt); default: the configured one.")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="client (classify here; community) or udf (enterprise).")
    ] = "client",
    area: Annotated[
        str | None, typer.Option("--area", help="E_MIN,E_MAX,N_MIN,N_MAX in the coverage CRS (petascope).")
    ] = None,
    cells: Annotated[
        str | None,
        typer.Option("--cells", help="X0:X1,Y0:Y1 inclusive rasdaman grid indices (any transport)."),
    ] = None,
    tile_size: TileSize = 512,
    progress: Annotated[
        Path | None, typer.Option("--progress", help="Progress record (default OUTPUT.progress.json).")
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start over, ignoring the progress record.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete an existing output coverage first.")
    ] = False,
    udf: Annotated[str, typer.Option("--udf", help="WCPS function name in udf mode.")] = "crop.classify",
    writer: Annotated[
        str, typer.Option("--writer", help="petascope: wcst (UpdateCoverage) or rasql tile writes.")
    ] = "wcst",
    retries: Retries = 4,
    timeout: Timeout = 300.0,
) -> None:
    """Classify a coverage tile by tile and write the classes back as a new coverage."""
    from cropcube.rasdaman import ids
    from cropcube.rasdaman.writeback.job import check_udf_name, classify_coverage

    if writer not in ("wcst", "rasql"):
        raise InputError("--writer", f"{writer!r} is not wcst or rasql")
    if mode not in ("client", "udf"):
        raise InputError("--mode", f"{mode!r} is not client or udf")
    input_cid, output_cid = (
        ids.CoverageId(input_id, "input coverage id"),
        ids.CoverageId(output_id, "output coverage id"),
    )
    if mode == "udf":
        check_udf_name(udf)
    area_box, cell_box = _parse_area(area), _parse_cells(cells)  # cheap checks before loading a model
    classifier: Any = None
    if mode == "client" or model is None:
        from cropcube.inference import Classifier
        from cropcube.inference.config import classifier_options

        classifier = Classifier(model=model, **classifier_options())  # type: ignore[arg-type]
        metadata = classifier.metadata
    else:
        from cropcube.bundle.io import read_metadata

        metadata = read_metadata(model)
    from cropcube.rasdaman.writeback.stores import PetascopeStore, RasqlStore, RasqlTileWriter

    with contextlib.ExitStack() as opened:  # rasdaman gives each open rasql connection a server process
        kind, server = _open(transport, endpoint, rasql_host, rasql_port, retries, timeout, write=True)
        if kind == "rasql":
            store: Any = RasqlStore(opened.enter_context(server))
        else:
            tile_writer = None
            if writer == "rasql":
                from cropcube.rasdaman.transport.rasql import RasqlConnection

                tiles = RasqlConnection(rasql_host, rasql_port, write=True, timeout=timeout)
                tile_writer = RasqlTileWriter(opened.enter_context(tiles), output_cid)
            store = PetascopeStore(server, tile_writer)
        report = classify_coverage(
            store,
            input_cid,
            output_cid,
            metadata,
            mode=mode,
            classifier=classifier if mode == "client" else None,
            area=area_box,
            cells=cell_box,
            tile_size=tile_size,
            progress_path=progress,
            restart=restart,
            replace=replace,
            udf=udf,
        )
    for line in report.lines():
        typer.echo(line)


@rasdaman_app.command("query")
def query_cmd(
    query: Annotated[str, typer.Argument(help="A WCPS query (petascope) or a rasql select (rasql).")],
    endpoint: Endpoint = None,
    transport: Transport = "auto",
    rasql_host: RasqlHost = credentials.DEFAULT_RASQL_HOST,
    rasql_port: RasqlPort = credentials.DEFAULT_RASQL_PORT,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the answer to this file.")
    ] = None,
    retries: Retries = 2,
    timeout: Timeout = 300.0,
) -> None:
    """Run a query and print its answer (or save binary answers with -o)."""
    if output is not None:
        _writable_output(output)
    kind, server = _open(transport, endpoint, rasql_host, rasql_port, retries, timeout, write=False)
    if kind == "rasql":
        with server:
            values = server.values(query)
        if len(values) == 1 and isinstance(values[0], bytes | bytearray):
            answer = bytes(values[0])
        elif output is None:
            for value in values:
                typer.echo(
                    value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else value
                )
            return
        else:
            answer = "\n".join(str(v) for v in values).encode()
    else:
        answer = server.process(query)
    if output is not None:
        from cropcube.io import atomic_output

        with atomic_output(output) as tmp:
            tmp.write_bytes(answer)
        typer.echo(f"{len(answer)} bytes -> {output}")
    elif answer.isascii():
        typer.echo(answer.decode())
    else:
        sys.stdout.buffer.write(answer)


def register(app: typer.Typer) -> None:
    """Add the ``rasdaman`` group to the app."""
    app.add_typer(rasdaman_app, name="rasdaman")
