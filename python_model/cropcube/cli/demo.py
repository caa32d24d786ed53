"""`cropcube demo`: the main job on the embedded default, with no database.

Builds (or reuses) a synthetic Sentinel-2 2018 scene on the reference grid, classifies it with the
shipped demo bundle through the C++ kernel (pure-Python path when the kernel is not built), votes per
parcel, and writes a crop-map COG, a PNG quicklook with legend and a summary. The scene's truth gives
an honest score: the demo scene uses another seed than the scene the demo model was trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import rasterio
import typer

from cropcube.io import atomic_output

DEMO_SEED = 2018
"""Seed of the demo scene (the shipped model was trained on other seeds)."""


def _scene(out: Path, size: int, seed: int) -> dict[str, Path]:
    """The demo scene's files, generated unless an identical scene is already there."""
    from cropcube.synthetic import SceneConfig, generate_scene, write_scene

    scene_dir = out / "scene"
    names = {
        "cube": "cube.tif",
        "labels": "labels.tif",
        "parcel_ids": "parcel_ids.tif",
        "parcels": "parcels.gpkg",
    }
    paths = {k: scene_dir / v for k, v in names.items()}
    marker = scene_dir / "demo_scene.json"
    wanted = {"size": size, "seed": seed}
    reusable = marker.is_file() and all(p.is_file() for p in paths.values())
    if reusable and json.loads(marker.read_text()) == wanted:
        typer.echo(f"reusing the scene in {scene_dir}")
        return paths
    typer.echo(f"building a {size} x {size} px synthetic 2018 scene (seed {seed}) in {scene_dir} ...")
    written = write_scene(generate_scene(SceneConfig(seed=seed, height=size, width=size)), scene_dir)
    with atomic_output(marker) as tmp:
        tmp.write_text(json.dumps(wanted))
    return {k: Path(written[k]) for k in names}


def _read(path: Path) -> np.ndarray[Any, Any]:
    with rasterio.open(path) as src:
        return np.asarray(src.read(1))


def _scores(crops: Path, labels: Path, parcel_ids: Path, num_classes: int) -> dict[str, float]:
    from cropcube.evaluation.metrics import segmentation_metrics
    from cropcube.evaluation.voting import parcel_accuracy, parcel_truth

    pred, truth, ids = _read(crops), _read(labels), _read(parcel_ids)
    m = segmentation_metrics(truth, pred, num_classes)
    # Voted maps are constant per parcel: a parcel's pixel majority is its vote.
    n_parcels, parcel_oa = parcel_accuracy(parcel_truth(ids, pred), parcel_truth(ids, truth))
    return {
        "overall_accuracy": m.overall_accuracy,
        "miou": m.miou,
        "classes_present": len(m.per_class),
        "parcels": n_parcels,
        "parcel_accuracy": parcel_oa,
    }


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("demo_out"),
    size: Annotated[int, typer.Option("--size", help="Scene side in 10 m pixels.")] = 1024,
    seed: Annotated[int, typer.Option("--seed", help="Scene seed.")] = DEMO_SEED,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Bundle (default: $CROPCUBE_MODEL, else the shipped demo model)."),
    ] = None,
    voting: Annotated[
        bool, typer.Option("--voting/--no-voting", help="Vote per parcel (mean probability).")
    ] = True,
    backend: Annotated[str, typer.Option("--backend", help="auto, native (C++ kernel) or python.")] = "auto",
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Classify a synthetic 2018 scene with the shipped model and report how well it did."""
    from cropcube.inference.files import classify_file

    if size < 64:
        raise typer.BadParameter(
            f"{size} px is too small for a meaningful scene (at least 64)", param_hint="--size"
        )
    scene = _scene(out, size, seed)
    summary = classify_file(
        scene["cube"],
        out / "crops.tif",
        model=model,
        parcels=scene["parcels"] if voting else None,
        confidence=True,
        quicklook=True,
        device=device,
        backend=backend,  # type: ignore[arg-type]
    )
    from cropcube.bundle.io import read_metadata
    from cropcube.inference.config import resolve_model_path

    meta = read_metadata(resolve_model_path(model))
    scores = _scores(out / "crops.tif", scene["labels"], scene["parcel_ids"], meta.classes.num_classes)
    report = {
        "scene": {k: str(v) for k, v in scene.items()},
        "classification": summary.to_dict(),
        "scores": scores,
    }
    with atomic_output(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2))
    typer.echo(summary.format(meta.classes.names()))
    typer.echo(
        f"against the scene's truth: pixel accuracy {100 * scores['overall_accuracy']:.1f} %, "
        f"mIoU {100 * scores['miou']:.1f} % over {scores['classes_present']} classes, "
        f"parcel accuracy {100 * scores['parcel_accuracy']:.1f} % over {scores['parcels']} parcels"
    )
    typer.echo(f"summary: {out / 'summary.json'}")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""
    app.command("demo")(demo)
