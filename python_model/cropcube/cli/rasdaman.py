"""`cropcube rasdaman ...`: ingest, classify and write back, query (UDF deployment: rasdaman_udf.py).

Each command parses its options (declared in :mod:`cropcube.cli.options`) and makes one call into
:mod:`cropcube.rasdaman.jobs`, which checks every input before it contacts the server.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cropcube.cli import options, rasdaman_udf
from cropcube.rasdaman.transport.credentials import DEFAULT_RASQL_HOST, DEFAULT_RASQL_PORT

rasdaman_app = typer.Typer(
    help="Work with a rasdaman server: ingest, classify, write back, deploy the UDF.", no_args_is_help=True
)
rasdaman_udf.register(rasdaman_app)


@rasdaman_app.command("ingest")
def ingest_cmd(
    cube: options.IngestCube = None,
    labels: options.IngestLabels = None,
    endpoint: options.Endpoint = None,
    transport: options.Transport = "auto",
    rasql_host: options.RasqlHost = DEFAULT_RASQL_HOST,
    rasql_port: options.RasqlPort = DEFAULT_RASQL_PORT,
    layout: options.Layout = "2d",
    features_id: options.FeaturesId = "S2_features_2d",
    features_3d_id: options.Features3dId = "S2_features_3d",
    labels_id: options.LabelsId = "BRP_labels",
    method: options.IngestMethod = "auto",
    work_dir: options.IngestWorkDir = Path("rasdaman_ingest"),
    tile_size: options.UploadTileSize = 512,
    replace: options.Replace = False,
    restart: options.Restart = False,
    retries: options.Retries = 4,
    timeout: options.Timeout = 300.0,
) -> None:
    """Create the feature and label coverages (idempotent and resumable)."""
    from cropcube.rasdaman.jobs import ingest_files
    from cropcube.rasdaman.transport.route import Route

    report = ingest_files(
        Route(transport, endpoint, rasql_host, rasql_port, retries, timeout),
        cube,
        labels,
        work_dir,
        layout=layout,
        method=method,
        features_id=features_id,
        features_3d_id=features_3d_id,
        labels_id=labels_id,
        tile_size=tile_size,
        replace=replace,
        restart=restart,
    )
    typer.echo("\n".join(report.lines()))


@rasdaman_app.command("classify")
def classify_cmd(
    input_id: options.InputCoverage,
    output_id: options.OutputCoverage,
    endpoint: options.Endpoint = None,
    transport: options.Transport = "auto",
    rasql_host: options.RasqlHost = DEFAULT_RASQL_HOST,
    rasql_port: options.RasqlPort = DEFAULT_RASQL_PORT,
    model: options.Model = None,
    mode: options.Mode = "client",
    area: options.Area = None,
    cells: options.Cells = None,
    tile_size: options.TileSize = None,
    progress: options.ProgressRecord = None,
    restart: options.Restart = False,
    replace: options.Replace = False,
    udf: options.Udf = "crop.classify",
    writer: options.Writer = "wcst",
    retries: options.Retries = 4,
    timeout: options.Timeout = 300.0,
    dates: options.CubeDatesOpt = None,
    parcels: options.Parcels = None,
    parcels_format: options.ParcelsFormat = "gpkg",
    like: options.Like = None,
) -> None:
    """Classify a coverage tile by tile and write the classes back as a new coverage.

    With --parcels (client mode): one class per parcel, as `cropcube classify --parcels`, and the
    per-parcel table beside the progress record; a collection without CRS needs --like (the raster
    it was ingested from).
    """
    from cropcube.rasdaman.jobs import classify_into
    from cropcube.rasdaman.transport.route import Route

    report = classify_into(
        Route(transport, endpoint, rasql_host, rasql_port, retries, timeout),
        input_id,
        output_id,
        model=model,
        mode=mode,
        area=area,
        cells=cells,
        tile_size=tile_size or 0,
        progress=progress,
        restart=restart,
        replace=replace,
        udf=udf,
        writer=writer,
        dates=dates,
        parcels=parcels,
        parcels_format=parcels_format,
        like=like,
    )
    typer.echo("\n".join(report.lines()))


@rasdaman_app.command("query")
def query_cmd(
    query: options.Query,
    endpoint: options.Endpoint = None,
    transport: options.Transport = "auto",
    rasql_host: options.RasqlHost = DEFAULT_RASQL_HOST,
    rasql_port: options.RasqlPort = DEFAULT_RASQL_PORT,
    output: options.AnswerOut = None,
    retries: options.Retries = 2,
    timeout: options.Timeout = 300.0,
) -> None:
    """Run a query and print its answer (or save it with -o)."""
    from cropcube.rasdaman.jobs import run_query
    from cropcube.rasdaman.transport.route import Route

    answer = run_query(Route(transport, endpoint, rasql_host, rasql_port, retries, timeout), query, output)
    for line in answer.lines:
        typer.echo(line)
    if answer.binary is not None:
        sys.stdout.buffer.write(answer.binary)


def register(app: typer.Typer) -> None:
    """Add the ``rasdaman`` group to the app."""
    app.add_typer(rasdaman_app, name="rasdaman")
