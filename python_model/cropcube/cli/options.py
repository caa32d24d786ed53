"""Every option and argument of the ``cropcube`` command, declared once (after rasterio's ``rio/options.py``).

A command declares a parameter by its alias, e.g. ``model: options.Model = None``; the alias carries
the flag names, the help text and the validation, so the same option reads and checks the same in
every command. Validation happens while parsing, before any work starts:

- numbers have ranges (``--tile-size 0`` or ``--threads -1`` are usage errors naming the option);
- input files must exist and be files (a directory says "is a directory"), input folders folders;
- output files must not be directories and their folder must be writable; outputs that would
  overwrite an input are refused by the job itself (it knows all its inputs);
- lists (dates, bbox) are parsed into values here.

A usage error exits with status 2 and names the option; errors found later by the job (an
:class:`~cropcube.errors.InputError`) exit with status 2 too and name the input (see ``main.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from cropcube import calendar
from cropcube.errors import InputError
from cropcube.io.checks import require_dir, require_file, require_output_dir, require_output_file
from cropcube.rasdaman import ids
from cropcube.rasdaman.transport import credentials

# -- value parsers and checks (BadParameter names the option in the message) ----------------------


def _checked(check: Callable[[Path], object]) -> Callable[[Path | None], Path | None]:
    def callback(value: Path | None) -> Path | None:
        if value is None:
            return None
        try:
            check(value)
        except InputError as exc:
            raise typer.BadParameter(str(exc)) from None
        return value

    return callback


def _checked_list(check: Callable[[Path], object]) -> Callable[[list[Path] | None], list[Path] | None]:
    one = _checked(check)

    def callback(values: list[Path] | None) -> list[Path] | None:
        for v in values or []:
            one(v)
        return values

    return callback


def input_file(what: str) -> Callable[[Path | None], Path | None]:
    """Callback: the value is an existing, readable file."""
    return _checked(lambda p: require_file(p, what))


def input_dir(what: str) -> Callable[[Path | None], Path | None]:
    """Callback: the value is an existing, readable folder."""
    return _checked(lambda p: require_dir(p, what))


def output_file(what: str) -> Callable[[Path | None], Path | None]:
    """Callback: the value can be written as a file (not a folder; its folder writable)."""
    return _checked(lambda p: require_output_file(p, (), what))


def output_dir(what: str) -> Callable[[Path | None], Path | None]:
    """Callback: the value is a folder that exists or can be created, and is writable."""
    return _checked(lambda p: require_output_dir(p, what))


def _safe_product(p: Path) -> None:
    if p.is_dir():
        require_dir(p, "SAFE product folder")
    else:
        require_file(p, "SAFE product (.SAFE folder or .zip)")


class Dates(tuple[dt.date, ...]):
    """Dates parsed from ``D1,D2,...`` (ISO ``YYYY-MM-DD``), strictly increasing."""


def parse_dates(text: str | Dates) -> Dates:
    """``2018-01-08,2018-03-19,...`` -> :class:`Dates` (checked by :func:`cropcube.calendar.parse_dates`)."""
    if isinstance(text, Dates):
        return text
    try:
        return Dates(calendar.parse_dates(str(text)))
    except InputError as exc:
        raise typer.BadParameter(exc.problem) from None


class BBox(tuple[float, float, float, float]):
    """A box ``minx,miny,maxx,maxy`` of finite numbers with min < max."""


def parse_bbox(text: str | BBox) -> BBox:
    """``minx,miny,maxx,maxy`` -> :class:`BBox`."""
    if isinstance(text, BBox):
        return text
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not four numbers minx,miny,maxx,maxy") from None
    if len(values) != 4:
        raise typer.BadParameter(f"{text!r} is not four numbers minx,miny,maxx,maxy")
    minx, miny, maxx, maxy = values
    if not all(abs(v) < float("inf") for v in values) or not (minx < maxx and miny < maxy):
        raise typer.BadParameter(f"{text!r} must be finite with minx < maxx and miny < maxy")
    return BBox((minx, miny, maxx, maxy))


class Fractions(tuple[float, ...]):
    """One value in [0, 1], or one per date ``F1,F2,...``."""


def parse_fractions(text: str | Fractions) -> Fractions:
    """``0.3`` or ``0,0.5,0.2`` -> :class:`Fractions` (each in [0, 1])."""
    if isinstance(text, Fractions):
        return text
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number or a comma-separated list of numbers") from None
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if bad:
        raise typer.BadParameter(f"{bad[0]} is not in [0, 1]")
    return Fractions(values)


class CodeMap(dict[int, int]):
    """Raw label value -> class index (labels given as crop codes)."""


def parse_label_codes(value: str | CodeMap) -> CodeMap:
    """``worldcereal`` (the Flanders sample's codes) or a JSON file ``{"code": class index, ...}``."""
    import json

    if isinstance(value, CodeMap):
        return value
    if value == "worldcereal":
        from cropcube.readers.flanders import worldcereal_lookup

        return CodeMap(worldcereal_lookup())
    try:
        require_file(value, "JSON file of code -> class index")
    except InputError as exc:
        raise typer.BadParameter(
            f"{value!r} is neither 'worldcereal' nor a JSON file ({exc.problem})"
        ) from None
    try:
        mapping = json.loads(Path(value).read_text(encoding="utf-8"))
        codes = CodeMap({int(k): int(v) for k, v in mapping.items()})
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{value}: not a JSON object of code -> class index ({exc})") from None
    bad = [v for v in codes.values() if not 0 <= v <= 255]
    if bad:
        raise typer.BadParameter(f"{value}: class index {bad[0]} is not in 0..255")
    return codes


def parse_crs(text: str) -> str:
    """A CRS GDAL/PROJ understands (``EPSG:32631``, WKT, PROJ string)."""
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        CRS.from_user_input(text)
    except CRSError:
        raise typer.BadParameter(f"{text!r} is not a coordinate reference system (e.g. EPSG:32631)") from None
    return text


# -- inputs --------------------------------------------------------------------------------------

CubeArg = Annotated[
    Path,
    typer.Argument(
        help="Cube GeoTIFF/COG: dates x (B02,B03,B04,B08) bands, date-major (from `cropcube cube build`).",
        callback=input_file("cube"),
        show_default=False,
    ),
]
Cube = Annotated[
    Path, typer.Option("--cube", help="Cube GeoTIFF in the bundle's layout.", callback=input_file("cube"))
]
Labels = Annotated[
    Path,
    typer.Option("--labels", help="Label raster on the cube's grid.", callback=input_file("label raster")),
]
Like = Annotated[
    Path | None,
    typer.Option("--like", help="Use the grid of this raster.", callback=input_file("raster")),
]
LikeRequired = Annotated[
    Path,
    typer.Option(
        "--like", help="Cube (or raster) whose grid the labels take.", callback=input_file("raster")
    ),
]
Parcels = Annotated[
    Path | None,
    typer.Option(
        "--parcels",
        help="BRP GeoPackage: vote one class per parcel (must cover the cube).",
        callback=input_file("parcels GeoPackage"),
    ),
]
CroplandMask = Annotated[
    Path | None,
    typer.Option(
        "--mask",
        help="Without --parcels: cropland polygons (e.g. last year's BRP) or a raster (non-zero = cropland), "
        "any CRS; pixels outside get 0. Water and never-green pixels get 0 anyway.",
        callback=input_file("cropland mask"),
    ),
]
ParcelsFormat = Annotated[
    Literal["gpkg", "parquet"],
    typer.Option(
        "--parcels-format",
        help="Per-parcel table written with --parcels: <stem>_parcels.gpkg, or .parquet (GeoParquet, "
        "needs cropcube[parquet]).",
    ),
]
ParcelIdsIn = Annotated[
    Path | None,
    typer.Option(
        "--parcel-ids", help="Parcel-id raster (enables voting).", callback=input_file("parcel-id raster")
    ),
]
Model = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Bundle (.pt); default $CROPCUBE_MODEL, the config file's `model = PATH`, then the demo bundle.",
        callback=input_file("model bundle"),
    ),
]
BundleArg = Annotated[
    Path, typer.Argument(help="Model bundle (.pt).", callback=input_file("model bundle"), show_default=False)
]
GpkgArg = Annotated[
    Path,
    typer.Argument(
        help="BRP GeoPackage (brpgewaspercelen_*.gpkg).",
        callback=input_file("BRP GeoPackage"),
        show_default=False,
    ),
]
LabelCodeRasterArg = Annotated[
    Path,
    typer.Argument(
        help="WorldCereal crop-type raster (*_label_crop_type_CT.tif).",
        callback=input_file("WorldCereal label raster"),
        show_default=False,
    ),
]
BandsDir = Annotated[
    Path | None,
    typer.Option(
        "--bands-dir", help="Folder of per-band files (GeoTIFF/JP2).", callback=input_dir("band-file folder")
    ),
]
Safe = Annotated[
    list[Path] | None,
    typer.Option(
        "--safe",
        help="SAFE product folder or zip (repeatable).",
        callback=_checked_list(_safe_product),
        metavar="PATH",  # typer would print the Python type, <list[Path]>
    ),
]
NetcdfArg = Annotated[
    Path,
    typer.Argument(
        help="10 m netCDF stack with B02, B03, B04, B08 (e.g. S2_L2A_10m_*.nc).",
        callback=input_file("netCDF stack"),
        show_default=False,
    ),
]
Scl = Annotated[
    Path,
    typer.Option(
        "--scl",
        help="20 m netCDF stack with the SCL band (S2_L2A_20m_*.nc).",
        callback=input_file("SCL netCDF stack"),
    ),
]
ConfigArg = Annotated[
    Path,
    typer.Argument(
        help="Training config (.yaml/.yml/.toml).", callback=input_file("training config"), show_default=False
    ),
]
CheckpointArg = Annotated[
    Path,
    typer.Argument(
        help="Training checkpoint (<run>/checkpoint.pt).",
        callback=input_file("training checkpoint"),
        show_default=False,
    ),
]

# -- outputs -------------------------------------------------------------------------------------

ClassMapOut = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        help="Class-map COG to write (.tif; uint8, 0 = no data). Beside it: <stem>.tif.aux.xml (class "
        "names, attribute table), <stem>.qml (QGIS style), <stem>.png, <stem>.stac.json, <stem>.json, "
        "<stem>_confidence.tif and <stem>_parcels.gpkg when asked (docs/maps.md).",
        callback=output_file("output"),
    ),
]
CubeOut = Annotated[
    Path, typer.Option("--output", "-o", help="Cube to write (GeoTIFF/COG).", callback=output_file("output"))
]
LabelsOut = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        help="Class-index raster to write (uint8, 0 = none).",
        callback=output_file("output"),
    ),
]
ParcelIdsOut = Annotated[
    Path | None,
    typer.Option(
        "--parcel-ids",
        help="Also write the parcel-id raster (int32).",
        callback=output_file("parcel-id output"),
    ),
]
StacOut = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="STAC Item to write (default <bundle stem>.stac.json beside the bundle).",
        callback=output_file("STAC Item output"),
    ),
]
BundleOut = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        help="Bundle to write (.pt); the model card goes beside it.",
        callback=output_file("bundle output"),
    ),
]
OnnxOut = Annotated[
    Path | None,
    typer.Option(
        "--onnx",
        help="Also write the bundle as an ONNX model with its metadata (needs cropcube[export]).",
        callback=output_file("ONNX output"),
    ),
]
DemoOutDir = Annotated[
    Path, typer.Option("--out", "-o", help="Output folder.", callback=output_dir("output folder"))
]
ReportDir = Annotated[
    Path, typer.Option("--out", "-o", help="Report folder.", callback=output_dir("report folder"))
]
SceneDirArg = Annotated[
    Path,
    typer.Argument(
        help="Folder for cube.tif, labels.tif, parcel_ids.tif, parcels.gpkg, scene.json.",
        callback=output_dir("scene folder"),
        show_default=False,
    ),
]
RunDir = Annotated[
    Path | None,
    typer.Option(
        "--out-dir", "-o", help="Run folder (overrides the config).", callback=output_dir("run folder")
    ),
]
BuildDir = Annotated[
    Path | None,
    typer.Option(
        "--build-dir",
        help="CMake build folder (default udf/build; rasdaman deploy: udf/build-rasdaman).",
        callback=output_dir("build folder"),
    ),
]

# -- inference options (the fields of the one options object the kernel receives) -----------------

# Unset (None) means "the config file's value, else the default" (cropcube.conf / CROPCUBE_* env):
# a command passes on only the options the user gave.
Backend = Annotated[
    Literal["auto", "native", "python"] | None,
    typer.Option("--backend", help="auto (native when built; default), native (C++ kernel) or python."),
]
Device = Annotated[
    Literal["auto", "cpu", "cuda"] | None, typer.Option("--device", help="auto (default), cpu or cuda.")
]
Threads = Annotated[
    int | None, typer.Option("--threads", help="CPU threads (default 0 = all).", min=0, max=1024)
]
TileSize = Annotated[
    int | None,
    typer.Option(
        "--tile-size",
        help="Kernel core tile edge in pixels (default 512), rounded up to the model's downsampling.",
        min=16,
        max=8192,
    ),
]
NonFinite = Annotated[
    Literal["error", "nodata"] | None,
    typer.Option(
        "--nonfinite", help="NaN/inf in float cubes: error (default), or treat those pixels as nodata."
    ),
]


def given(**options: Any) -> dict[str, Any]:
    """The options the user gave (not None), to pass on unchanged."""
    return {k: v for k, v in options.items() if v is not None}


Confidence = Annotated[bool, typer.Option("--confidence", help="Also write <stem>_confidence.tif.")]
Quicklook = Annotated[
    bool, typer.Option("--quicklook/--no-quicklook", help="Write <stem>.png with a legend.")
]
Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]
Voting = Annotated[bool, typer.Option("--voting/--no-voting", help="Vote per parcel (mean probability).")]
EvalTile = Annotated[int, typer.Option("--tile", help="Inference tile size in pixels.", min=16, max=8192)]

# -- scenes and cubes ------------------------------------------------------------------------------

Seed = Annotated[
    int, typer.Option("--seed", help="Random seed: same seed, byte-identical files.", min=0, max=2**32 - 1)
]
DemoSize = Annotated[int, typer.Option("--size", help="Scene side in 10 m pixels.", min=64, max=8192)]
SceneSize = Annotated[int, typer.Option("--size", help="Square side in 10 m pixels.", min=16, max=20000)]
SceneHeight = Annotated[
    int | None, typer.Option("--height", help="Rows (overrides --size).", min=16, max=20000)
]
SceneWidth = Annotated[
    int | None, typer.Option("--width", help="Columns (overrides --size).", min=16, max=20000)
]
CloudFraction = Annotated[
    Fractions,
    typer.Option(
        "--cloud-fraction",
        help="Cloud cover 0..1: one value, or one per date (F1,F2,...).",
        parser=parse_fractions,
        metavar="F[,F...]",
    ),
]
Haze = Annotated[
    Fractions,
    typer.Option(
        "--haze",
        help="Haze strength 0..1: one value, or one per date.",
        parser=parse_fractions,
        metavar="F[,F...]",
    ),
]
Shadow = Annotated[bool, typer.Option("--shadow/--no-shadow", help="Cast cloud shadows.")]
PhenologyShift = Annotated[
    float,
    typer.Option(
        "--phenology-shift",
        help="Shift every crop calendar by DAYS (positive = later).",
        min=-120.0,
        max=120.0,
    ),
]
Drought = Annotated[
    float,
    typer.Option("--drought", help="Summer drought 0..1 (1 = like 2018: brown grassland).", min=0.0, max=1.0),
]
Noise = Annotated[
    float, typer.Option("--noise", help="Sensor noise (1 = Sentinel-2-like, 0 = none).", min=0.0, max=10.0)
]
DatesOpt = Annotated[
    Dates,
    typer.Option(
        "--dates", help="Dates D1,...,Dn (YYYY-MM-DD), increasing.", parser=parse_dates, metavar="D1,D2,..."
    ),
]
CubeDatesOpt = Annotated[
    Dates | None,
    typer.Option(
        "--dates",
        help="The cube's acquisition dates D1,...,Dn (YYYY-MM-DD), increasing, one per date of the cube; "
        "needed when its band descriptions carry no dates (default: those dates, else the bundle's "
        "default calendar).",
        parser=parse_dates,
        metavar="D1,D2,...",
    ),
]
Bbox = Annotated[
    BBox | None,
    typer.Option(
        "--bbox", help="Target box minx,miny,maxx,maxy in --crs.", parser=parse_bbox, metavar="X0,Y0,X1,Y1"
    ),
]
Crs = Annotated[str | None, typer.Option("--crs", help="Target CRS, e.g. EPSG:32631.", parser=parse_crs)]
Resolution = Annotated[
    float, typer.Option("--resolution", help="Target pixel size in CRS units.", min=0.01, max=100000.0)
]
MaxDays = Annotated[
    int, typer.Option("--max-days", help="Use the nearest acquisition within this many days.", min=0, max=366)
]
MinClear = Annotated[
    float,
    typer.Option(
        "--min-clear",
        help="Warn when the clearest acquisition near a date has less than this fraction of clear pixels.",
        min=0.0,
        max=1.0,
    ),
]
Resampling = Annotated[
    Literal["nearest", "bilinear", "cubic", "average"],
    typer.Option("--resampling", help="nearest (keeps digital numbers), bilinear, cubic, average."),
]
Cog = Annotated[bool, typer.Option("--cog/--no-cog", help="Cloud-Optimized GeoTIFF or plain tiled GeoTIFF.")]

# -- labels ----------------------------------------------------------------------------------------

UnknownIndex = Annotated[
    int,
    typer.Option(
        "--unknown-index", help="Class index for gewascodes not in the table (0 = none).", min=0, max=255
    ),
]
Layer = Annotated[
    str | None, typer.Option("--layer", help="GeoPackage layer (default: the only one / brp_gewas).")
]
AllTouched = Annotated[bool, typer.Option("--all-touched", help="Burn every pixel a parcel touches.")]
Barley = Annotated[
    Literal["spring", "drop"],
    typer.Option("--barley", help="1500 (barley, season unclear): spring or drop."),
]

# -- training and bundles --------------------------------------------------------------------------

Epochs = Annotated[int | None, typer.Option("--epochs", help="Override train.epochs.", min=1, max=100000)]
Resume = Annotated[bool, typer.Option("--resume/--no-resume", help="Continue from <out-dir>/checkpoint.pt.")]
Export = Annotated[
    bool, typer.Option("--export/--no-export", help="Write <out-dir>/model.pt + model.md at the end.")
]
LabelCodes = Annotated[
    CodeMap | None,
    typer.Option(
        "--label-codes",
        help="'worldcereal' or a JSON file code -> class index, if labels are codes.",
        parser=parse_label_codes,
        metavar="worldcereal|FILE.json",
    ),
]
Version = Annotated[str, typer.Option("--version", help="Version string of these weights.")]

# -- kernel ----------------------------------------------------------------------------------------

Sanitize = Annotated[bool, typer.Option("--sanitize", help="AddressSanitizer+UBSan build (udf/build-asan).")]
Jobs = Annotated[
    int, typer.Option("--jobs", "-j", help="Parallel compile jobs (0 = all cores).", min=0, max=256)
]

# -- rasdaman (cli/rasdaman.py, cli/rasdaman_udf.py) -------------------------------------------------


def _value(check: Callable[[Any], Any]) -> Callable[[Any, Any, Any], Any]:
    """Callback: ``check(value)`` (None passes); its InputError becomes a usage error of the option.

    A value taken from an environment variable says so, since the user did not type it.
    """

    def callback(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None:
            return None
        try:
            return check(value)
        except InputError as exc:
            source = ctx.get_parameter_source(param.name or "")  # typer's own click: compare by name
            where = f" (from ${param.envvar})" if getattr(source, "name", "") == "ENVIRONMENT" else ""
            raise typer.BadParameter(f"{exc.problem}{where}") from None

    return callback


def _timeout(value: float) -> float:
    seconds = ids.seconds(value)
    if seconds > MAX_TIMEOUT:
        raise InputError("--timeout", f"{value:g} s is more than a day ({MAX_TIMEOUT:g} s)")
    return seconds


def _coverage_id(what: str) -> Callable[[str], ids.CoverageId]:
    def parse(value: str) -> ids.CoverageId:
        try:
            return ids.CoverageId(value, what)
        except InputError as exc:
            raise typer.BadParameter(exc.problem) from None

    return parse


def parse_area(text: str | AreaBox) -> AreaBox:
    """``E_MIN,E_MAX,N_MIN,N_MAX`` -> :class:`AreaBox`."""
    if isinstance(text, AreaBox):
        return text
    try:
        return AreaBox(ids.area(text))
    except InputError as exc:
        raise typer.BadParameter(
            exc.problem if exc.what == "--area" else f"{exc.what}: {exc.problem}"
        ) from None


def parse_cells(text: str | CellBox) -> CellBox:
    """``X0:X1,Y0:Y1`` -> :class:`CellBox`."""
    if isinstance(text, CellBox):
        return text
    try:
        return CellBox(ids.cells(text))
    except InputError as exc:
        raise typer.BadParameter(exc.problem) from None


class AreaBox(tuple[float, float, float, float]):
    """A box ``(e_min, e_max, n_min, n_max)`` in a coverage's CRS."""


class CellBox(tuple[int, int, int, int]):
    """Inclusive rasdaman grid indices ``(x0, x1, y0, y1)``."""


MAX_TIMEOUT = 86400.0

Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar=credentials.URL_ENV,
        show_envvar=False,
        callback=_value(ids.endpoint),
        help=f"petascope OWS endpoint, e.g. {credentials.DEFAULT_ENDPOINT} (default ${credentials.URL_ENV}; "
        "deploy: that example).",
    ),
]
Transport = Annotated[
    Literal["auto", "petascope", "rasql"],
    typer.Option(
        "--transport",
        help="petascope (WCS/WCPS/WCS-T), rasql (rasmgr; a community core without petascope) or auto: "
        "petascope when an endpoint is set and answers, else rasql.",
    ),
]
RasqlHost = Annotated[
    str,
    typer.Option(
        "--rasql-host",
        envvar=credentials.RASQL_HOST_ENV,
        show_envvar=False,
        callback=_value(ids.host),
        help=f"rasmgr host of the rasql transport (default ${credentials.RASQL_HOST_ENV}, else localhost).",
    ),
]
RasqlPort = Annotated[
    int,
    typer.Option(
        "--rasql-port",
        envvar=credentials.RASQL_PORT_ENV,
        show_envvar=False,
        min=1,
        max=65535,
        help=f"rasmgr port (default ${credentials.RASQL_PORT_ENV}, else 7001).",
    ),
]
Retries = Annotated[
    int, typer.Option("--retries", help="Retries on connection errors, timeouts and 5xx.", min=0, max=20)
]
Timeout = Annotated[
    float,
    typer.Option(
        "--timeout",
        callback=_value(_timeout),
        help="Wall time of one call in seconds, connecting and every retry included.",
    ),
]
InputCoverage = Annotated[
    str,
    typer.Argument(
        help="Feature coverage or collection (2-D 28 bands, or 3-D time x E x N over petascope).",
        parser=_coverage_id("input coverage id"),
        show_default=False,
    ),
]
OutputCoverage = Annotated[
    str,
    typer.Argument(
        help="New coverage (or collection) of crop classes to create.",
        parser=_coverage_id("output coverage id"),
        show_default=False,
    ),
]
FeaturesId = Annotated[
    str,
    typer.Option(
        "--features-id",
        help="Id of the 2-D 28-band coverage / collection.",
        parser=_coverage_id("--features-id"),
    ),
]
Features3dId = Annotated[
    str,
    typer.Option("--features-3d-id", help="Id of the 3-D coverage.", parser=_coverage_id("--features-3d-id")),
]
LabelsId = Annotated[
    str,
    typer.Option(
        "--labels-id", help="Id of the label coverage / collection.", parser=_coverage_id("--labels-id")
    ),
]
IngestCube = Annotated[
    Path | None,
    typer.Option(
        "--cube", help="28-band cube GeoTIFF (from `cropcube cube build`).", callback=input_file("cube")
    ),
]
IngestLabels = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        help="uint8 class-index GeoTIFF (`cropcube labels brp`).",
        callback=input_file("label raster"),
    ),
]
Layout = Annotated[
    Literal["2d", "3d", "both"],
    typer.Option("--layout", help="2d (28 bands), 3d (time x E x N, 4 bands; petascope) or both."),
]
IngestMethod = Annotated[
    Literal["auto", "wcst", "wcst_import"],
    typer.Option(
        "--method", help="petascope: wcst (direct), wcst_import, or auto (wcst_import when installed)."
    ),
]
IngestWorkDir = Annotated[
    Path,
    typer.Option(
        "--work-dir", help="Ingredients and progress records.", callback=output_dir("ingest work folder")
    ),
]
UploadTileSize = Annotated[
    int, typer.Option("--tile-size", help="Upload tile edge in pixels.", min=16, max=8192)
]
Replace = Annotated[
    bool, typer.Option("--replace", help="Delete and rebuild an existing coverage this job did not make.")
]
Restart = Annotated[bool, typer.Option("--restart", help="Ignore progress records of earlier runs.")]
Mode = Annotated[
    Literal["client", "udf"],
    typer.Option(
        "--mode", help="client (classify here; any rasdaman) or udf (crop.classify inside; enterprise)."
    ),
]
Area = Annotated[
    AreaBox | None,
    typer.Option(
        "--area",
        help="Box E_MIN,E_MAX,N_MIN,N_MAX in the coverage CRS (petascope).",
        parser=parse_area,
        metavar="E_MIN,E_MAX,N_MIN,N_MAX",
    ),
]
Cells = Annotated[
    CellBox | None,
    typer.Option(
        "--cells",
        help="X0:X1,Y0:Y1 inclusive rasdaman grid indices (any transport).",
        parser=parse_cells,
        metavar="X0:X1,Y0:Y1",
    ),
]
ProgressRecord = Annotated[
    Path | None,
    typer.Option(
        "--progress",
        help="Progress record (default <output_id>.progress.json).",
        callback=output_file("progress record"),
    ),
]
Udf = Annotated[str, typer.Option("--udf", help="UDF name in udf mode.", callback=_value(ids.udf_name))]
Writer = Annotated[
    Literal["wcst", "rasql"],
    typer.Option("--writer", help="petascope output written by wcst (UpdateCoverage) or rasql tile updates."),
]
Query = Annotated[
    str, typer.Argument(help="A WCPS query (petascope) or a rasql select (rasql).", show_default=False)
]
AnswerOut = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the answer to this file.", callback=output_file("answer")),
]
RmanHome = Annotated[
    Path | None,
    typer.Option(
        "--rmanhome",
        envvar="RMANHOME",
        show_envvar=False,
        help="The rasdaman installation (default $RMANHOME; a dry run needs none).",
        callback=input_dir("rasdaman installation (RMANHOME)"),
    ),
]
UdfModel = Annotated[
    Path | None,
    typer.Option(
        "--model", help="Bundle to install (default: the packaged one).", callback=input_file("model bundle")
    ),
]
Language = Annotated[
    Literal["cpp", "python"],
    typer.Option("--language", help="UDF behind crop.classify: cpp (crop.so) or python (crop.py)."),
]
RestartCommand = Annotated[
    list[str] | None,
    typer.Option(
        "--restart-command",
        help="Command that restarts rasdaman (repeatable), e.g. 'systemctl restart rasdaman'. "
        "Default: $RMANHOME/bin/stop_rasdaman.sh then start_rasdaman.sh.",
    ),
]
NoRestart = Annotated[
    bool, typer.Option("--no-restart", help="Do not restart rasdaman (files load on next start).")
]
NoWcps = Annotated[bool, typer.Option("--no-wcps", help="Skip the petascope (WCPS) class.")]
NoRegister = Annotated[
    bool,
    typer.Option(
        "--no-register",
        help="Build and install only: no restart, no rasql (e.g. in a container image build; run deploy "
        "again once the server is up).",
    ),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the steps without running them.")]
