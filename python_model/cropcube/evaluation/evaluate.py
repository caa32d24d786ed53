"""`cropcube evaluate`: a bundle against a label raster, with optional parcel voting, to JSON+Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.datasets import SceneData, load_scene
from cropcube.datasets.scene import check_cube_values
from cropcube.errors import InputError
from cropcube.evaluation.metrics import segmentation_metrics
from cropcube.evaluation.predict import classes_from_probabilities
from cropcube.evaluation.report import markdown_report, write_confusion_csv, write_confusion_png, write_json
from cropcube.evaluation.voting import ParcelVoter, parcel_accuracy, parcel_truth
from cropcube.inference import Classifier
from cropcube.inference.options import InferenceOptions
from cropcube.io import atomic_output, write_geotiff
from cropcube.readers import Grid


def parcel_ids_from_geopackage(path: str | Path, scene: SceneData) -> npt.NDArray[np.int32]:
    """Rasterise BRP parcels (GeoPackage) onto the scene's grid: parcel id per pixel (0 = none)."""
    from cropcube.readers.brp import rasterize_brp, read_brp_parcels

    h, w = scene.shape
    grid = Grid(crs=scene.crs, transform=scene.transform, width=w, height=h)
    _, ids, report = rasterize_brp(read_brp_parcels(path), grid)
    if report.parcels_rasterised == 0:
        raise InputError(str(path), f"no parcel covers a pixel of the cube ({grid}): nothing to vote")
    return ids


def evaluate_bundle(
    bundle_path: str | Path,
    cube_path: str | Path,
    labels_path: str | Path,
    out_dir: str | Path,
    parcel_ids_path: str | Path | None = None,
    parcels_gpkg: str | Path | None = None,
    label_codes: Mapping[int, int] | None = None,
    tile: int = 256,
    options: InferenceOptions | None = None,
) -> dict[str, Any]:
    """Classify a cube with a bundle and score it against labels; write the report files.

    Writes ``report.json``, ``report.md``, ``confusion.csv``, ``confusion.png``, ``prediction.tif``
    (and ``confusion_voted.*``, ``prediction_voted.tif`` with parcels) into ``out_dir``.

    Args:
        bundle_path: the model bundle.
        cube_path: a cube in the bundle's layout (dates and bands are checked).
        labels_path: label raster on the cube's grid.
        out_dir: report folder.
        parcel_ids_path: parcel-id raster on the cube's grid (enables parcel voting).
        parcels_gpkg: BRP GeoPackage, rasterised onto the grid instead of ``parcel_ids_path``.
        label_codes: raw label value -> class index mapping, if labels are codes.
        tile: inference tile core size.
        options: inference options (default: the defaults: the C++ kernel when built, as shipped);
            ``tile`` overrides their tile size.

    Returns:
        The report dict (also in ``report.json``).
    """
    # Scored through the shipped path: the same Classifier (and kernel) that `cropcube classify` runs.
    clf = Classifier(bundle_path, options, tile_size=tile)
    meta = clf.metadata
    scene = load_scene(cube_path, labels_path, parcel_ids_path, label_codes, spec=meta.spec)
    if parcels_gpkg is not None:
        scene.parcel_ids = parcel_ids_from_geopackage(parcels_gpkg, scene)
    k = meta.classes.num_classes
    if int(scene.labels.max()) > k:
        raise InputError(
            str(labels_path), f"class index {int(scene.labels.max())} exceeds the bundle's {k} classes"
        )
    check_cube_values(scene.cube, str(cube_path))
    probs = clf.predict_proba(scene.cube)
    pred = classes_from_probabilities(probs)
    pixel = segmentation_metrics(scene.labels, pred, k)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "model": {"name": meta.model_name, "version": meta.model_version, "content_hash": meta.content_hash},
        "data": Path(cube_path).name,
        "labels": Path(labels_path).name,
        "pixel": pixel.summary(),
    }
    title = f"{meta.model_name} on {Path(cube_path).name}"

    def write_maps(
        suffix: str, cm: npt.NDArray[np.int64], prediction: npt.NDArray[np.uint8], caption: str
    ) -> None:
        write_confusion_csv(cm, meta.classes, out / f"confusion{suffix}.csv")
        write_confusion_png(cm, meta.classes, out / f"confusion{suffix}.png", caption)
        write_geotiff(
            out / f"prediction{suffix}.tif",
            prediction,
            scene.transform,
            scene.crs,
            nodata=0,
            colormap=meta.classes.palette(),
            cog=False,
        )

    write_maps("", pixel.confusion, pred, title)
    if scene.parcel_ids is not None:
        voter = ParcelVoter(k)
        voter.add(probs, scene.parcel_ids)
        voted = voter.apply(pred, scene.parcel_ids)
        vm = segmentation_metrics(scene.labels, voted, k)
        n, acc = parcel_accuracy(voter.result(), parcel_truth(scene.parcel_ids, scene.labels))
        report["parcel"] = {"voted_pixel": vm.summary(), "parcels": n, "parcel_accuracy": acc}
        write_maps("_voted", vm.confusion, voted, title + " (parcel voting)")
    write_json(report, out / "report.json")
    with atomic_output(out / "report.md") as tmp:
        tmp.write_text(markdown_report(report, meta.classes), encoding="utf-8")
    return report
