"""`cropcube rasdaman ...`: ingest, classify, write back, query (UDF deployment: rasdaman_udf)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cropcube.cli import rasdaman_udf
from cropcube.errors import InputError

rasdaman_app = typer.Typer(
    help="Work with a rasdaman server: ingest, classify, write back, deploy the UDF.", no_args_is_help=True
)
rasdaman_udf.register(rasdaman_app)

ENDPOINT_ENV = "CROPCUBE_RASDAMAN_URL"
_ENDPOINT_HELP = f"petascope OWS endpoint, e.g. http://localhost:8080/rasdaman/ows (default: ${ENDPOINT_ENV})"


def _client(endpoint: str | None, retries: int, timeout: float) -> Any:
    from cropcube.rasdaman.transport.petascope import PetascopeClient, RetryPolicy

    url = endpoint or os.environ.get(ENDPOINT_ENV)
    if not url:
        raise InputError("--endpoint", f"give the petascope endpoint or set {ENDPOINT_ENV}")
    return PetascopeClient(url, RetryPolicy(retries=retries, read_timeout=timeout))


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


@rasdaman_app.command("ingest")
def ingest_cmd(
    cube: Annotated[
        Path | None, typer.Option("--cube", help="28-band cube GeoTIFF (from `cropcube cube build`).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="uint8 class-index GeoTIFF (`cropcube labels brp`).")
    ] = None,
    endpoint: Annotated[str | None, typer.Option("--endpoint", help=_ENDPOINT_HELP)] = None,
    layout: Annotated[
        str, typer.Option("--layout", help="2d (28 bands), 3d (time x E x N, 4 bands) or both.")
    ] = "2d",
    features_id: Annotated[
        str, typer.Option("--features-id", help="Id of the 2-D 28-band coverage.")
    ] = "S2_features_2d",
    features_3d_id: Annotated[
        str, typer.Option("--features-3d-id", help="Id of the 3-D coverage.")
    ] = "S2_features_3d",
    labels_id: Annotated[str, typer.Option("--labels-id", help="Id of the label coverage.")] = "BRP_labels",
    method: Annotated[str, typer.Option("--method", help="wcst (direct), wcst_import, or auto.")] = "auto",
    work_dir: Annotated[Path, typer.Option("--work-dir", help="Ingredients, progress records.")] = Path(
        "rasdaman_ingest"
    ),
    tile_size: Annotated[int, typer.Option("--tile-size", help="Upload tile edge in pixels.")] = 512,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete and rebuild a conflicting coverage.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore progress records of earlier runs.")
    ] = False,
    retries: Annotated[
        int, typer.Option("--retries", help="Retries on connection errors, timeouts and 5xx.")
    ] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="Read timeout per request, seconds.")] = 300.0,
) -> None:
    """Create the feature and label coverages (idempotent and resumable)."""
    from cropcube.rasdaman.ingest.job import ingest

    report = ingest(
        _client(endpoint, retries, timeout),
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
    output_id: Annotated[str, typer.Argument(help="New coverage of crop classes to create.")],
    endpoint: Annotated[str | None, typer.Option("--endpoint", help=_ENDPOINT_HELP)] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model bundle (.pt); default: the configured one.")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="client (classify here; community) or udf (enterprise).")
    ] = "client",
    area: Annotated[
        str | None, typer.Option("--area", help="E_MIN,E_MAX,N_MIN,N_MAX in the coverage CRS.")
    ] = None,
    tile_size: Annotated[int, typer.Option("--tile-size", help="Tile core edge in pixels.")] = 512,
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
        str, typer.Option("--writer", help="wcst (UpdateCoverage) or rasql (rasdapy3).")
    ] = "wcst",
    rasql_host: Annotated[
        str, typer.Option("--rasql-host", help="rasmgr host for --writer rasql.")
    ] = "localhost",
    rasql_port: Annotated[int, typer.Option("--rasql-port", help="rasmgr port for --writer rasql.")] = 7001,
    retries: Annotated[
        int, typer.Option("--retries", help="Retries on connection errors, timeouts and 5xx.")
    ] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="Read timeout per request, seconds.")] = 300.0,
) -> None:
    """Classify a coverage tile by tile and write the classes back as a new coverage."""
    from cropcube.rasdaman.writeback.job import classify_coverage

    if writer not in ("wcst", "rasql"):
        raise InputError("--writer", f"{writer!r} is not wcst or rasql")
    if mode not in ("client", "udf"):
        raise InputError("--mode", f"{mode!r} is not client or udf")
    area_box = _parse_area(area)  # check cheap arguments before loading a model
    client = _client(endpoint, retries, timeout)
    classifier: Any = None
    if mode == "client" or model is None:
        from cropcube.inference import Classifier

        classifier = Classifier(model=model)
        metadata = classifier.metadata
    else:
        from cropcube.bundle.io import read_metadata

        metadata = read_metadata(model)
    tile_writer = None
    if writer == "rasql":
        tile_writer = _rasql_writer(client, input_id, output_id, area_box, rasql_host, rasql_port)
    report = classify_coverage(
        client,
        input_id,
        output_id,
        metadata,
        mode=mode,
        classifier=classifier if mode == "client" else None,
        area=area_box,
        tile_size=tile_size,
        progress_path=progress,
        restart=restart,
        replace=replace,
        udf=udf,
        writer=tile_writer,
    )
    for line in report.lines():
        typer.echo(line)


def _rasql_writer(client: Any, input_id: str, output_id: str, area: Any, host: str, port: int) -> Any:
    from cropcube.rasdaman.transport.rasql import RasqlTileWriter

    desc = client.describe_coverage(input_id)
    window = desc.grid.locate(*area) if area else (0, 0, desc.grid.width, desc.grid.height)
    return RasqlTileWriter(output_id, desc.grid.window(*window), host, port)


@rasdaman_app.command("query")
def query_cmd(
    query: Annotated[str, typer.Argument(help="A WCPS query.")],
    endpoint: Annotated[str | None, typer.Option("--endpoint", help=_ENDPOINT_HELP)] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the answer to this file.")
    ] = None,
) -> None:
    """Run a WCPS query (ProcessCoverages) and print its answer (or save binary answers with -o)."""
    answer = _client(endpoint, 2, 300.0).process(query)
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
