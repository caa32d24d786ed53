"""`cropcube evaluate`: a bundle against a label raster, with optional parcel voting, to JSON+Markdown."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.bundle import BundleMetadata
from cropcube.calendar import cube_dates, format_dates
from cropcube.cube_spec import CubeSpec
from cropcube.datasets import SceneData, load_scene
from cropcube.errors import InputError
from cropcube.evaluation.metrics import segmentation_metrics
from cropcube.evaluation.predict import classes_from_probabilities
from cropcube.evaluation.report import markdown_report, write_confusion_csv, write_confusion_png, write_json
from cropcube.evaluation.voting import ParcelVoter, parcel_accuracy, parcel_truth
from cropcube.inference import Classifier
from cropcube.inference.options import InferenceOptions
from cropcube.io import atomic_output, write_geotiff
from cropcube.readers import Grid, open_cube
from cropcube.readers.cube import open_cube_with_dates


def parcel_ids_from_geopackage(path: str | Path, scene: SceneData) -> npt.NDArray[np.int32]:
    """Rasterise BRP parcels (GeoPackage) onto the scene's grid: parcel id per pixel (0 = none)."""
    from cropcube.readers.brp import rasterize_brp, read_brp_parcels

    h, w = scene.shape
    grid = Grid(crs=scene.crs, transform=scene.transform, width=w, height=h)
    _, ids, report = rasterize_brp(read_brp_parcels(path), grid)
    if report.parcels_rasterised == 0:
        raise InputError(str(path), f"no parcel covers a pixel of the cube ({grid}): nothing to vote")
    return ids


def scene_layout(
    meta: BundleMetadata, cube_path: str | Path, dates: Sequence[dt.date] | None
) -> tuple[CubeSpec, npt.NDArray[np.float32] | None]:
    """The layout to read the cube with and the day of year its dates give the model.

    A format-1 bundle takes only cubes of its own dates (as it always did); a format-2 bundle takes
    any dates its calendar accepts (see :func:`cropcube.calendar.cube_dates`).

    Raises:
        InputError: ``--dates`` other than a format-1 bundle's own, or as :func:`cube_dates`.
    """
    if meta.calendar is None:
        if dates is not None and tuple(dates) != tuple(meta.spec.dates):
            raise InputError(
                "--dates",
                f"{format_dates(dates)}: this bundle (format 1) is fixed to its training dates "
                f"{format_dates(meta.spec.dates)}",
            )
        return meta.spec, None
    info = open_cube(cube_path) if dates is None else open_cube_with_dates(cube_path, dates, meta.spec.bands)
    if info.spec.bands != meta.spec.bands:
        raise InputError(
            str(cube_path), f"bands {list(info.spec.bands)}, the model needs {list(meta.spec.bands)}"
        )
    found = info.spec.dates if info.described else None
    known = cube_dates(meta, info.count, found, dates, str(cube_path), info.descriptions)
    spec = info.spec
    if known.warning:  # dates assumed: read the cube as the default layout
        spec = CubeSpec(dates=meta.spec.dates, bands=meta.spec.bands, dtype=info.dtype, crs=info.spec.crs,
                        resolution=info.spec.resolution)  # fmt: skip
    return spec, known.doy


def evaluate_bundle(
    bundle_path: str | Path,
    cube_path: str | Path,
    labels_path: str | Path,
    out_dir: str | Path,
    parcel_ids_path: str | Path | None = None,
    parcels_gpkg: str | Path | None = None,
    label_codes: Mapping[int, int] | None = None,
    tile: int = 256,
    dates: Sequence[dt.date] | None = None,
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
        dates: the cube's dates (``--dates``) when its band descriptions carry none.
        options: inference options (default: the defaults: the C++ kernel when built, as shipped);
            ``tile`` overrides their tile size.

    Returns:
        The report dict (also in ``report.json``).
    """
    # Scored through the shipped path: the same Classifier (and kernel) that `cropcube classify` runs.
    clf = Classifier(bundle_path, options, tile_size=tile)
    meta = clf.metadata
    spec, doy = scene_layout(meta, cube_path, dates)
    scene = load_scene(cube_path, labels_path, parcel_ids_path, label_codes, spec=spec)
    if parcels_gpkg is not None:
        scene.parcel_ids = parcel_ids_from_geopackage(parcels_gpkg, scene)
    k = meta.classes.num_classes
    if int(scene.labels.max()) > k:
        raise InputError(
            str(labels_path), f"class index {int(scene.labels.max())} exceeds the bundle's {k} classes"
        )
    probs = clf.predict_proba(scene.cube, doy=doy)
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
