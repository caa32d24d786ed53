"""`cropcube cube ...` (build and inspect cubes) and `cropcube labels ...` (label rasters).

Each command parses its options and makes one call into :mod:`cropcube.readers.jobs`.
"""

from __future__ import annotations

import typer

from cropcube.cli import options

cube_app = typer.Typer(
    help="Build and inspect Sentinel-2 cubes (7 dates x B02,B03,B04,B08).", no_args_is_help=True
)
labels_app = typer.Typer(help="Rasterise crop labels onto a cube's grid.", no_args_is_help=True)


@cube_app.command("build")
def build(
    output: options.CubeOut,
    dates: options.DatesOpt,
    bands_dir: options.BandsDir = None,
    safe: options.Safe = None,
    bbox: options.Bbox = None,
    crs: options.Crs = None,
    resolution: options.Resolution = 10.0,
    like: options.Like = None,
    max_days: options.MaxDays = 0,
    resampling: options.Resampling = "nearest",
    cog: options.Cog = True,
) -> None:
    """Build a cube from Sentinel-2 L2A band files or SAFE products, aligned to a target grid."""
    from tqdm import tqdm

    from cropcube.readers.jobs import build_cube

    with tqdm(desc="cube", unit="window", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = build_cube(
            output,
            dates,
            bands_dir=bands_dir,
            safe=safe or [],
            bbox=bbox,
            crs=crs,
            resolution=resolution,
            like=like,
            max_days=max_days,
            resampling=resampling,
            cog=cog,
            progress=progress,
        )
    typer.echo(report)


@cube_app.command("from-netcdf")
def from_netcdf(
    stack: options.NetcdfArg,
    scl: options.Scl,
    dates: options.DatesOpt,
    output: options.CubeOut,
    max_days: options.MaxDays = 10,
    bbox: options.Bbox = None,
    crs: options.Crs = None,
    like: options.Like = None,
    cog: options.Cog = True,
    min_clear: options.MinClear = 0.5,
) -> None:
    """Build a cube of the clearest acquisition (SCL classes 4/5) near each wanted date."""
    from cropcube.readers.jobs import cube_from_netcdf

    report = cube_from_netcdf(
        stack, scl, dates, output, max_days=max_days, bbox=bbox, crs=crs, like=like, cog=cog,
        min_clear=min_clear,
    )  # fmt: skip
    typer.echo(report)


@cube_app.command("info")
def info(cube: options.CubeArg) -> None:
    """Check a cube and print its dates, bands and grid."""
    from cropcube.readers.jobs import describe_cube

    typer.echo(describe_cube(cube))


@labels_app.command("brp")
def labels_brp(
    gpkg: options.GpkgArg,
    like: options.LikeRequired,
    output: options.LabelsOut,
    parcel_ids: options.ParcelIdsOut = None,
    unknown_index: options.UnknownIndex = 0,
    layer: options.Layer = None,
    all_touched: options.AllTouched = False,
) -> None:
    """Rasterise BRP parcels onto a cube's grid: class index per pixel (+ parcel id)."""
    from cropcube.readers.jobs import brp_labels

    report = brp_labels(
        gpkg,
        like,
        output,
        parcel_ids=parcel_ids,
        unknown_index=unknown_index,
        layer=layer,
        all_touched=all_touched,
    )
    typer.echo(report.summary())


@labels_app.command("flanders")
def labels_flanders(
    label_ct: options.LabelCodeRasterArg,
    like: options.LikeRequired,
    output: options.LabelsOut,
    barley: options.Barley = "spring",
) -> None:
    """Map WorldCereal crop codes to BRP class indices on the cube's grid."""
    from cropcube.readers.jobs import flanders_labels

    typer.echo(flanders_labels(label_ct, like, output, barley).summary())


def register(app: typer.Typer) -> None:
    """Add the ``cube`` and ``labels`` groups to the app."""
    app.add_typer(cube_app, name="cube")
    app.add_typer(labels_app, name="labels")
