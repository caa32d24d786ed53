"""Scores of a written class map against truth rasters on its grid: pixels and parcels.

Used by ``cropcube demo`` to score the published crop map against the synthetic scene's truth (the
map is read back from the file, so the score is the score of what the user gets).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from cropcube.evaluation.metrics import segmentation_metrics
from cropcube.evaluation.voting import parcel_accuracy, parcel_truth
from cropcube.readers import Grid, read_label_raster


@dataclass(frozen=True)
class MapScores:
    """Accuracy of a class map.

    Attributes:
        overall_accuracy: share of labelled pixels classified right.
        miou: mean IoU over the classes present in truth or prediction.
        classes_present: classes counted in the mIoU.
        parcels: parcels scored.
        parcel_accuracy: share of parcels whose majority class is their true class.
    """

    overall_accuracy: float
    miou: float
    classes_present: int
    parcels: int
    parcel_accuracy: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def line(self) -> str:
        """One line for a report."""
        return (
            f"pixel accuracy {100 * self.overall_accuracy:.1f} %, mIoU {100 * self.miou:.1f} % over "
            f"{self.classes_present} classes, parcel accuracy {100 * self.parcel_accuracy:.1f} % over "
            f"{self.parcels} parcels"
        )


def score_map(crops: str | Path, labels: str | Path, parcel_ids: str | Path, num_classes: int) -> MapScores:
    """Score a class-map file against a label raster and a parcel-id raster on the same grid.

    A parcel's predicted class is its pixel majority in the map (a voted map is constant per parcel,
    so there it is the vote).
    """
    grid = Grid.of(crops)
    pred = read_label_raster(crops, grid=grid)
    truth = read_label_raster(labels, grid=grid)
    with rasterio.open(parcel_ids) as ds:
        grid.require_same(Grid.of_dataset(ds, source=str(parcel_ids)), "parcel-id raster")
        ids = np.asarray(ds.read(1))
    m = segmentation_metrics(truth, pred, num_classes)
    n_parcels, parcel_oa = parcel_accuracy(parcel_truth(ids, pred), parcel_truth(ids, truth))
    return MapScores(m.overall_accuracy, m.miou, len(m.per_class), n_parcels, parcel_oa)
