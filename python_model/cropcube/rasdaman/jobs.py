"""The jobs behind ``cropcube rasdaman ...``: one function per command (the CLI parses and makes one call).

Every job checks all its arguments and files first, then asks its :class:`~.transport.route.Route`
which transport to use, then connects: a bad input is reported before any connection, transport probe
or credential lookup. rasdaman gives every open rasql connection a server process of its own, so a job
closes its connections when it ends, whatever happens.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from cropcube.errors import InputError
from cropcube.io.checks import require_file, require_output_file
from cropcube.maps.parcels import VectorFormat, vector_format
from cropcube.rasdaman.ingest.job import IngestReport, check_ingest_args
from cropcube.rasdaman.transport.route import Route
from cropcube.rasdaman.writeback.job import ClassifyReport, check_classify_args, check_route
from cropcube.rasdaman.writeback.parcels import ParcelRequest, check_parcel_mode

WRITERS = ("wcst", "rasql")
"""How a petascope output is written: WCS-T UpdateCoverage, or rasql tile updates."""


def ingest_files(
    route: Route,
    cube: str | Path | None,
    labels: str | Path | None,
    work_dir: str | Path,
    *,
    layout: str = "2d",
    method: str = "auto",
    features_id: str = "S2_features_2d",
    features_3d_id: str = "S2_features_3d",
    labels_id: str = "BRP_labels",
    tile_size: int = 512,
    replace: bool = False,
    restart: bool = False,
) -> IngestReport:
    """Create the feature and label coverages (petascope) or collections (rasql) from GeoTIFFs.

    Raises:
        InputError: a bad argument or file (before the server is asked), the 3-D layout over rasql, or a
            coverage that exists and is not this ingest's (without ``replace``).
        RasdamanError: the server failed (the ingest resumes when run again).
    """
    from cropcube.rasdaman.ingest.sources import open_inputs

    check_ingest_args(tile_size, (features_id, features_3d_id, labels_id), layout=layout, method=method)
    open_inputs(cube, labels)
    if route.choose() == "petascope":
        from cropcube.rasdaman.ingest.job import ingest

        return ingest(
            route.petascope(),
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
    if layout != "2d":
        raise InputError(
            "--layout", f"{layout!r} needs petascope; the rasql route ingests the 2-D layout only"
        )
    from cropcube.rasdaman.ingest.rasql import ingest_rasql

    with route.rasql(write=True) as connection:
        return ingest_rasql(
            connection,
            cube,
            labels,
            work_dir,
            features_id=features_id,
            labels_id=labels_id,
            tile_size=tile_size,
            replace=replace,
            restart=restart,
        )


def classify_into(
    route: Route,
    input_id: str,
    output_id: str,
    *,
    model: str | Path | None = None,
    mode: str = "client",
    area: tuple[float, float, float, float] | None = None,
    cells: tuple[int, int, int, int] | None = None,
    tile_size: int = 0,
    progress: str | Path | None = None,
    restart: bool = False,
    replace: bool = False,
    udf: str = "crop.classify",
    writer: str = "wcst",
    dates: Sequence[dt.date] | None = None,
    parcels: str | Path | None = None,
    parcels_format: str = "gpkg",
    like: str | Path | None = None,
) -> ClassifyReport:
    """Classify a coverage tile by tile and write the classes into a new coverage (or collection).

    Args:
        route: how to reach rasdaman.
        input_id: the feature coverage.
        output_id: the class coverage to create.
        model: the bundle (default: the configured one, see ``inference/config.py``).
        mode: ``client`` (classify here) or ``udf`` (``crop.classify`` inside rasdaman; petascope).
        area: ``(e_min, e_max, n_min, n_max)`` in the coverage CRS (petascope).
        cells: ``(x0, x1, y0, y1)`` inclusive rasdaman grid indices.
        tile_size: core tile edge (0 = the default), rounded up to the model's downsampling.
        progress: the progress record (default ``<output_id>.progress.json``).
        restart: ignore the progress record.
        replace: delete an existing output this job did not make.
        udf: the UDF name in udf mode.
        writer: petascope output written by ``wcst`` (UpdateCoverage) or ``rasql`` tile updates.
        dates: the input's dates (``--dates``) when it carries none (a rasql collection); they must
            agree with a time axis or stored layout when it has one.
        parcels: BRP GeoPackage: vote one class per parcel and write the per-parcel table beside the
            progress record, as ``cropcube classify --parcels`` does (client mode).
        parcels_format: the table's format, ``gpkg`` or ``parquet``.
        like: with parcels, a raster with the grid of an input that has no CRS (a rasql collection).

    Raises:
        InputError: a bad argument (before the model is loaded or the server asked), udf mode or an
            area over rasql, an output that is not this job's.
        RasdamanError: the server failed (the job resumes when run again).
    """
    from cropcube.rasdaman.writeback.job import classify_coverage

    input_cid, output_cid = check_classify_args(input_id, output_id, mode, udf, area, cells)
    if writer not in WRITERS:
        raise InputError("--writer", f"{writer!r} is not one of {', '.join(WRITERS)}")
    if progress is not None:
        require_output_file(progress, (), "progress record")
    request = _parcel_request(parcels, parcels_format, like, mode)
    metadata, classifier = _model(model, mode)  # a bad bundle fails before the server is asked
    kind = route.choose()
    check_route(kind, mode, area)
    with contextlib.ExitStack() as opened:  # rasdaman gives each open rasql connection a server process
        store = _store(route, kind, writer, output_cid, opened)
        return classify_coverage(
            store,
            input_cid,
            output_cid,
            metadata,
            mode=mode,
            classifier=classifier,
            area=area,
            cells=cells,
            tile_size=tile_size,
            progress_path=progress,
            restart=restart,
            replace=replace,
            udf=udf,
            dates=dates,
            parcels=request,
        )


def _parcel_request(
    parcels: str | Path | None, fmt: str, like: str | Path | None, mode: str
) -> ParcelRequest | None:
    """The parcels options checked before anything is loaded or asked."""
    if parcels is None:
        if like is not None:
            raise InputError("--like", "places the parcels on a collection's pixels: give --parcels too")
        return None
    check_parcel_mode(mode)
    require_file(Path(parcels), "parcels GeoPackage")
    if like is not None:
        require_file(Path(like), "raster")
    return ParcelRequest(
        Path(parcels),
        vector_format("--parcels-format", cast(VectorFormat, fmt)),
        Path(like) if like else None,
    )


def _model(model: str | Path | None, mode: str) -> tuple[Any, Any]:
    """The bundle's metadata, and the classifier in client mode (udf mode only reads the metadata)."""
    if mode == "udf" and model is not None:
        from cropcube.bundle.io import read_metadata

        return read_metadata(model), None
    from cropcube.inference import Classifier
    from cropcube.inference.options import InferenceOptions

    classifier = Classifier(model=model, options=InferenceOptions.build())  # the configuration's options
    return classifier.metadata, classifier if mode == "client" else None


def _store(route: Route, kind: str, writer: str, output_id: str, opened: contextlib.ExitStack) -> Any:
    from cropcube.rasdaman.writeback.stores import PetascopeStore, RasqlStore, RasqlTileWriter

    if kind == "rasql":
        return RasqlStore(opened.enter_context(route.rasql(write=True)))
    tiles = None
    if writer == "rasql":
        tiles = RasqlTileWriter(opened.enter_context(route.rasql(write=True)), output_id)
    return PetascopeStore(route.petascope(), tiles)


@dataclass
class QueryAnswer:
    """What a query gave: lines of text to print, or a binary answer (image, netCDF) not written to a file."""

    lines: list[str] = field(default_factory=list)
    binary: bytes | None = None


def run_query(route: Route, text: str, output: str | Path | None = None) -> QueryAnswer:
    """Run one query: WCPS over petascope, a rasql select over rasql.

    With ``output`` the answer is written there (atomically) and the answer says how many bytes.

    Raises:
        InputError: an empty query or an output that cannot be written (before anything is sent).
        RasdamanError: the server refused the query or failed.
    """
    if not text.strip():
        raise InputError("query", "is empty")
    if output is not None:
        require_output_file(output, (), "answer")
    if route.choose() == "petascope":
        data = route.petascope().process(text)
    else:
        with route.rasql(write=False) as connection:
            values = connection.values(text)
        if len(values) == 1 and isinstance(values[0], bytes | bytearray):
            data = bytes(values[0])
        else:
            data = "\n".join(_text(v) for v in values).encode()
            if output is None:
                return QueryAnswer([_text(v) for v in values])
    if output is not None:
        from cropcube.io import atomic_output

        with atomic_output(output) as tmp:
            tmp.write_bytes(data)
        return QueryAnswer([f"{len(data)} bytes -> {output}"])
    return QueryAnswer([data.decode()]) if data.isascii() else QueryAnswer(binary=data)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else str(value)


def deploy(
    *,
    rmanhome: Path | None,
    model: Path | None = None,
    language: str = "cpp",
    build_dir: Path | None = None,
    restart_command: Sequence[str] = (),
    no_restart: bool = False,
    wcps: bool = True,
    register: bool = True,
    endpoint: str | None = None,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
) -> None:
    """Build and install ``crop.classify`` into rasdaman, register it and run a smoke query.

    ``rmanhome`` may be None only in a dry run (the plan is printed under ``$RMANHOME``); statements go to
    ``endpoint``'s rasql sibling (default ``http://localhost:8080/rasdaman/ows``), connected only when a
    statement runs.

    Raises:
        InputError: a bad argument (before anything runs).
        DeployError: a step failed (the message names it); running deploy again finishes the job.
    """
    from cropcube.rasdaman.udf import deploy as plan
    from cropcube.rasdaman.udf.executor import execute

    opts = plan.deploy_options(
        rmanhome,
        model,
        language=language,
        build_dir=build_dir,
        restart=_restart(restart_command, no_restart),
        wcps=wcps,
        register=register,
        dry_run=dry_run,
    )
    execute(plan.plan_deploy(opts), _rasql(endpoint), dry_run=dry_run, echo=echo)
    if not dry_run and opts.register:
        echo(
            f"{plan.FUNCTION} deployed ({opts.language}); try: "
            f"select {plan.FUNCTION}(c[0:99,0:99]) from <collection> as c"
        )


def undeploy(
    *,
    rmanhome: Path | None,
    restart_command: Sequence[str] = (),
    no_restart: bool = False,
    endpoint: str | None = None,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
) -> None:
    """Unregister ``crop.classify`` and remove every file :func:`deploy` installed.

    Raises:
        InputError: a bad argument (before anything runs).
        DeployError: a step failed.
    """
    from cropcube.rasdaman.udf import deploy as plan
    from cropcube.rasdaman.udf.executor import execute

    opts = plan.deploy_options(
        rmanhome, None, restart=_restart(restart_command, no_restart), wcps=False, dry_run=dry_run
    )
    execute(plan.plan_undeploy(opts), _rasql(endpoint), dry_run=dry_run, echo=echo)


def _restart(commands: Sequence[str], no_restart: bool) -> tuple[tuple[str, ...], ...] | None:
    if no_restart:
        return ()
    return tuple(tuple(shlex.split(cmd)) for cmd in commands) or None


def _rasql(endpoint: str | None) -> Callable[[str], str]:
    """A rasql runner that connects to petascope on its first statement (a dry run never does)."""
    from cropcube.rasdaman.udf.rasql_http import DEFAULT_ENDPOINT, PetascopeRasql

    runner: list[PetascopeRasql] = []

    def run(statement: str) -> str:
        if not runner:
            runner.append(PetascopeRasql(endpoint or DEFAULT_ENDPOINT))
        return runner[0](statement)

    return run
