"""`cropcube classify`: the embedded default, a cube file in, a class-map COG out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def classify(
    cube: Annotated[
        Path, typer.Argument(help="Cube GeoTIFF/COG: 28 bands (7 dates x B02,B03,B04,B08), date-major.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Class-map COG to write (uint8, 0 = no data).")
    ],
    parcels: Annotated[
        Path | None, typer.Option("--parcels", help="BRP GeoPackage: vote one class per parcel.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", help="Bundle (.pt); default $CROPCUBE_MODEL, the config file, then the demo bundle."
        ),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    backend: Annotated[str, typer.Option("--backend", help="auto, native (C++ kernel) or python.")] = "auto",
    confidence: Annotated[
        bool, typer.Option("--confidence", help="Also write <stem>_confidence.tif.")
    ] = False,
    quicklook: Annotated[
        bool, typer.Option("--quicklook/--no-quicklook", help="Write <stem>.png with a legend.")
    ] = True,
    threads: Annotated[int, typer.Option("--threads", help="CPU threads (0 = all).")] = 0,
    tile_size: Annotated[
        int, typer.Option("--tile-size", help="Kernel core tile edge in pixels (0 = 512).")
    ] = 0,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Classify a Sentinel-2 cube file into crop classes (streaming, any scene size)."""
    from cropcube.inference import classify_file
    from cropcube.inference.classifier import Classifier

    if backend not in ("auto", "native", "python"):
        raise typer.BadParameter(f"{backend!r} is not auto, native or python", param_hint="--backend")
    clf = Classifier(model, backend=backend, device=device, threads=threads, tile_size=tile_size)  # type: ignore[arg-type]
    summary = classify_file(
        cube,
        output,
        parcels=parcels,
        confidence=confidence,
        quicklook=quicklook,
        classifier=clf,
        tile_size=tile_size,
        progress=progress,
    )
    typer.echo(summary.format(names=clf.metadata.classes.names()))


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.command("classify")(classify)
