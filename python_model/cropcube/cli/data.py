"""`cropcube cube ...` (build cubes from Sentinel-2 data) and `cropcube labels ...` (make label rasters)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rasterio.enums import Resampling

from cropcube.classes import load_class_table
from cropcube.errors import InputError
from cropcube.io import write_geotiff
from cropcube.readers import Grid, open_cube
from cropcube.readers.brp import rasterize_brp, read_brp_parcels
from cropcube.readers.flanders import map_worldcereal_labels
from cropcube.readers.grid import _crs

cube_app = typer.Typer(
    help="Build and inspect Sentinel-2 cubes (7 dates x B02,B03,B04,B08).", no_args_is_help=True
)
labels_app = typer.Typer(help="Rasterise crop labels onto a cube's grid.", no_args_is_help=True)


def _dates(text: str) -> list[dt.date]:
    out = []
    for part in text.split(","):
        try:
            out.append(dt.date.fromisoformat(part.strip()))
        except ValueError:
            raise InputError("--dates", f"{part.strip()!r} is not a date YYYY-MM-DD") from None
    return out


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError("--bbox", f"{text!r} is not four numbers minx,miny,maxx,maxy") from None
    if len(values) != 4:
        raise InputError("--bbox", f"{text!r} is not four numbers minx,miny,maxx,maxy")
    return values[0], values[1], values[2], values[3]


def _target_grid(bbox: str | None, crs: str | None, resolution: float, like: Path | None) -> Grid | None:
    if like is not None:
        if bbox is not None:
            raise InputError("--like", "give either --like or --bbox, not both")
        return Grid.of(like)
    if bbox is None:
        if crs is not None:
            raise InputError("--crs", "needs --bbox")
        return None
    if crs is None:
        raise InputError("--bbox", "needs --crs (e.g. EPSG:32631)")
    _crs(crs, "--crs")
    return Grid.from_bbox(_bbox(bbox), crs, resolution)


@cube_app.command("build")
def build(
    output: Annotated[Path, typer.Option("-o", "--output", help="Cube to write (GeoTIFF/COG).")],
    dates: Annotated[str, typer.Option("--dates", help="Wanted dates D1,...,D7 (YYYY-MM-DD).")],
    bands_dir: Annotated[
        Path | None, typer.Option("--bands-dir", help="Folder of per-band files (GeoTIFF/JP2).")
    ] = None,
    safe: Annotated[
        list[Path] | None, typer.Option("--safe", help="SAFE product folder or zip (repeatable).")
    ] = None,
    bbox: Annotated[
        str | None, typer.Option("--bbox", help="Target box minx,miny,maxx,maxy in --crs.")
    ] = None,
    crs: Annotated[str | None, typer.Option("--crs", help="Target CRS, e.g. EPSG:32631.")] = None,
    resolution: Annotated[float, typer.Option("--resolution", help="Target pixel size in CRS units.")] = 10.0,
    like: Annotated[Path | None, typer.Option("--like", help="Use the grid of this raster.")] = None,
    max_days: Annotated[
        int, typer.Option("--max-days", help="Use the nearest acquisition within this many days.")
    ] = 0,
    resampling: Annotated[
        str, typer.Option("--resampling", help="nearest, bilinear, cubic, average.")
    ] = "nearest",
    cog: Annotated[
        bool, typer.Option("--cog/--no-cog", help="Cloud-Optimized GeoTIFF or plain tiled GeoTIFF.")
    ] = True,
) -> None:
    """Build a cube from Sentinel-2 L2A band files or SAFE products, aligned to a target grid."""
    from tqdm import tqdm

    from cropcube.readers.safe import safe_acquisitions
    from cropcube.readers.sentinel2 import Acquisitions, build_cube_from_band_files, find_band_files

    if (bands_dir is None) == (not safe):
        raise InputError("--bands-dir/--safe", "give exactly one source: --bands-dir DIR or --safe PATH...")
    if resampling not in ("nearest", "bilinear", "cubic", "average"):
        raise InputError("--resampling", f"{resampling!r} is not nearest, bilinear, cubic or average")
    grid = _target_grid(bbox, crs, resolution, like)
    if bands_dir is not None:
        acquisitions = Acquisitions.of(find_band_files(bands_dir), str(bands_dir))
    else:
        acquisitions = safe_acquisitions(safe or [])
    with tqdm(desc="cube", unit="window", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = build_cube_from_band_files(
            acquisitions,
            _dates(dates),
            output,
            grid=grid,
            max_days=max_days,
            resampling=Resampling[resampling],
            cog=cog,
            progress=progress,
        )
    typer.echo(report.summary())


@cube_app.command("from-netcdf")
def from_netcdf(
    stack: Annotated[
        Path, typer.Argument(help="10 m netCDF stack with B02, B03, B04, B08 (e.g. S2_L2A_10m_*.nc).")
    ],
    scl: Annotated[
        Path, typer.Option("--scl", help="20 m netCDF stack with the SCL band (S2_L2A_20m_*.nc).")
    ],
    dates: Annotated[str, typer.Option("--dates", help="Wanted dates D1,...,D7 (YYYY-MM-DD).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Cube to write.")],
    max_days: Annotated[int, typer.Option("--max-days", help="Search window around each wanted date.")] = 10,
    bbox: Annotated[str | None, typer.Option("--bbox", help="Only this box minx,miny,maxx,maxy.")] = None,
    crs: Annotated[str | None, typer.Option("--crs", help="CRS of --bbox (must be the stack's).")] = None,
    like: Annotated[Path | None, typer.Option("--like", help="Only the grid of this raster.")] = None,
    cog: Annotated[
        bool, typer.Option("--cog/--no-cog", help="Cloud-Optimized GeoTIFF or plain tiled GeoTIFF.")
    ] = True,
) -> None:
    """Build a cube of the clearest acquisition (SCL classes 4/5) near each wanted date."""
    from cropcube.readers.netcdf_stack import build_cube_from_netcdf

    grid = _target_grid(bbox, crs, 10.0, like)
    report = build_cube_from_netcdf(stack, scl, _dates(dates), output, max_days=max_days, cog=cog, grid=grid)
    typer.echo(report.summary())


@cube_app.command("info")
def info(cube: Annotated[Path, typer.Argument(help="A cube GeoTIFF.")]) -> None:
    """Check a cube and print its dates, bands and grid."""
    i = open_cube(cube)
    typer.echo(f"{cube}: {i.grid}")
    typer.echo(
        f"  {i.spec.n_dates} dates x {i.spec.n_bands} bands {list(i.spec.bands)}, {i.dtype}, "
        f"blocks {i.block_shape}"
    )
    typer.echo(
        "  dates: " + ", ".join(d.isoformat() for d in i.spec.dates) + ("" if i.described else " (assumed)")
    )


@labels_app.command("brp")
def labels_brp(
    gpkg: Annotated[Path, typer.Argument(help="BRP GeoPackage (brpgewaspercelen_*.gpkg).")],
    like: Annotated[Path, typer.Option("--like", help="Cube (or raster) whose grid the labels take.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Class-index raster to write (uint8, 0 = none).")
    ],
    parcel_ids: Annotated[
        Path | None, typer.Option("--parcel-ids", help="Also write the parcel-id raster (int32).")
    ] = None,
    unknown_index: Annotated[
        int, typer.Option("--unknown-index", help="Class index for gewascodes not in the table.")
    ] = 0,
    layer: Annotated[
        str | None, typer.Option("--layer", help="GeoPackage layer (default: the only one / brp_gewas).")
    ] = None,
    all_touched: Annotated[
        bool, typer.Option("--all-touched", help="Burn every pixel a parcel touches.")
    ] = False,
) -> None:
    """Rasterise BRP parcels onto a cube's grid: class index per pixel (+ parcel id)."""
    grid = Grid.of(like)
    table = load_class_table(unknown_index=unknown_index)
    parcels = read_brp_parcels(gpkg, layer)
    classes, ids, report = rasterize_brp(parcels, grid, table, all_touched=all_touched)
    if report.parcels_in_grid == 0:
        raise InputError(str(gpkg), f"no parcel overlaps the grid of {like} ({grid})")
    tags = {"CROPCUBE_LABEL_SOURCE": gpkg.name, "CROPCUBE_UNKNOWN_INDEX": str(unknown_index)}
    write_geotiff(
        output,
        classes,
        grid.transform,
        grid.crs,
        nodata=0,
        colormap=table.palette(),
        descriptions=["BRP class index"],
        tags=tags,
    )
    if parcel_ids is not None:
        write_geotiff(
            parcel_ids, ids, grid.transform, grid.crs, nodata=0, descriptions=["BRP parcel id"], tags=tags
        )
    typer.echo(report.summary())


@labels_app.command("flanders")
def labels_flanders(
    label_ct: Annotated[
        Path, typer.Argument(help="WorldCereal crop-type raster (*_label_crop_type_CT.tif).")
    ],
    like: Annotated[Path, typer.Option("--like", help="Cube whose grid the labels must share.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Class-index raster to write.")],
    barley: Annotated[
        str, typer.Option("--barley", help="1500 (barley, season unclear): spring or drop.")
    ] = "spring",
) -> None:
    """Map WorldCereal crop codes to BRP class indices on the cube's grid."""
    import rasterio
    from rasterio.errors import RasterioError

    if barley not in ("spring", "drop"):
        raise InputError("--barley", f"{barley!r} is not 'spring' or 'drop'")
    grid = Grid.of(like)
    label_grid = Grid.of(label_ct)
    grid.require_same(label_grid, "label raster")
    try:
        with rasterio.open(label_ct) as ds:
            codes = ds.read(1)
    except RasterioError as exc:
        raise InputError(str(label_ct), f"cannot read pixels: {exc}") from None
    table = load_class_table()
    labels, unmapped = map_worldcereal_labels(codes, "spring" if barley == "spring" else "drop", table)
    write_geotiff(
        output,
        labels,
        grid.transform,
        grid.crs,
        nodata=0,
        colormap=table.palette(),
        descriptions=["BRP class index"],
        tags={"CROPCUBE_LABEL_SOURCE": label_ct.name},
    )
    typer.echo(f"wrote {output}: {int((labels > 0).sum())} labelled pixels")
    for code, n in sorted(unmapped.items()):
        typer.echo(f"  WorldCereal code {code}: {n} pixels left unlabelled (0)")


def register(app: typer.Typer) -> None:
    """Add the ``cube`` and ``labels`` groups to the app."""
    app.add_typer(cube_app, name="cube")
    app.add_typer(labels_app, name="labels")
