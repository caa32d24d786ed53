"""`cropcube classify`: the embedded default, a cube file in, a class-map COG out."""

from __future__ import annotations

from pathlib import Path

import typer


def classify(
    cube: Path = typer.Argument(..., help="Cube GeoTIFF/COG: 28 bands (7 dates x B02,B03,B04,B08), date-major."),
    output: Path = typer.Option(..., "--output", "-o", help="Class-map COG to write (uint8, 0 = no data)."),
    parcels: Path | None = typer.Option(None, "--parcels", help="BRP GeoPackage: vote one class per parcel."),
    model: Path | None = typer.Option(
        None, "--model", help="Bundle (.pt); default $CROPCUBE_MODEL, the config file, then the demo bundle."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    backend: str = typer.Option("auto", "--backend", help="auto, native (C++ kernel) or python."),
    confidence: bool = typer.Option(False, "--confidence", help="Also write <stem>_confidence.tif."),
    quicklook: bool = typer.Option(True, "--quicklook/--no-quicklook", help="Write <stem>.png with a legend."),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0 = all)."),
    tile_size: int = typer.Option(0, "--tile-size", help="Kernel core tile edge in pixels (0 = default 512)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Classify a Sentinel-2 cube file into crop classes (streaming, any scene size)."""
    from cropcube.inference import classify_file
    from cropcube.inference.classifier import Classifier

    if backend not in ("auto", "native", "python"):
        raise typer.BadParameter(f"{backend!r} is not auto, native or python", param_hint="--backend")
    clf = Classifier(model, backend=backend, device=device, threads=threads, tile_size=tile_size)  # type: ignore[arg-type]
    summary = classify_file(cube, output, parcels=parcels, confidence=confidence, quicklook=quicklook,
                            classifier=clf, tile_size=tile_size, progress=progress)  # fmt: skip
    typer.echo(summary.format(names=clf.metadata.classes.names()))


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.command("classify")(classify)
