"""`cropcube classify`: the embedded default, a cube file in, a class-map COG out."""

from __future__ import annotations

import typer

from cropcube.cli import options


def classify(
    cube: options.CubeArg,
    output: options.ClassMapOut,
    parcels: options.Parcels = None,
    parcels_format: options.ParcelsFormat = "gpkg",
    mask: options.CroplandMask = None,
    model: options.Model = None,
    device: options.Device = None,
    backend: options.Backend = None,
    confidence: options.Confidence = False,
    quicklook: options.Quicklook = True,
    threads: options.Threads = None,
    tile_size: options.TileSize = None,
    nonfinite: options.NonFinite = None,
    progress: options.Progress = True,
    dates: options.CubeDatesOpt = None,
) -> None:
    """Classify a Sentinel-2 cube file into crop classes (streaming, any scene size, resumable)."""
    from cropcube.inference.files import classify_file
    from cropcube.inference.options import InferenceOptions

    # Built once, over the config file's values; classify_file hands it unchanged to the kernel.
    inference = InferenceOptions.build(
        device=device, backend=backend, threads=threads, tile_size=tile_size, nonfinite=nonfinite
    )
    summary = classify_file(
        cube,
        output,
        model=model,
        parcels=parcels,
        confidence=confidence,
        quicklook=quicklook,
        progress=progress,
        mask=mask,
        parcel_format=parcels_format,
        dates=dates,
        options=inference,
    )
    typer.echo(summary.format())
    for warning in summary.warnings:  # again after the report, where the eye lands
        typer.secho(f"WARNING: {warning}", fg=typer.colors.RED, bold=True, err=True)


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.command("classify")(classify)
