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
    device: options.Device = "auto",
    backend: options.Backend = "auto",
    confidence: options.Confidence = False,
    quicklook: options.Quicklook = True,
    threads: options.Threads = 0,
    tile_size: options.TileSize = None,
    nonfinite: options.NonFinite = "error",
    progress: options.Progress = True,
) -> None:
    """Classify a Sentinel-2 cube file into crop classes (streaming, any scene size, resumable)."""
    from cropcube.inference.files import classify_file

    summary = classify_file(
        cube,
        output,
        model=model,
        parcels=parcels,
        confidence=confidence,
        quicklook=quicklook,
        device=device,
        backend=backend,
        tile_size=tile_size or 0,
        threads=threads,
        nonfinite=nonfinite,
        progress=progress,
        mask=mask,
        parcel_format=parcels_format,
    )
    typer.echo(summary.format())
    for warning in summary.warnings:  # again after the report, where the eye lands
        typer.secho(f"WARNING: {warning}", fg=typer.colors.RED, bold=True, err=True)


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.command("classify")(classify)
