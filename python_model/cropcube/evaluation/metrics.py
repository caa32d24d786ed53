"""Segmentation metrics from a confusion matrix over labelled pixels (class 0 = unlabelled, ignored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError


def confusion_matrix(
    target: npt.ArrayLike, prediction: npt.ArrayLike, num_classes: int
) -> npt.NDArray[np.int64]:
    """Counts (num_classes + 1, num_classes + 1): row = true class, column = predicted class.

    Pixels whose true class is 0 are not counted (row 0 stays zero); a prediction of 0 on a labelled
    pixel (e.g. nodata input) is counted as a miss in column 0.
    """
    t = np.asarray(target).ravel().astype(np.int64)
    p = np.asarray(prediction).ravel().astype(np.int64)
    if t.shape != p.shape:
        raise InputError("prediction", f"{p.size} values for {t.size} labels")
    n = num_classes + 1
    if t.size and (t.min() < 0 or t.max() >= n or p.min() < 0 or p.max() >= n):
        raise InputError("labels/prediction", f"class indices must be 0..{num_classes}")
    keep = t > 0
    return np.bincount(t[keep] * n + p[keep], minlength=n * n).reshape(n, n)


@dataclass
class SegmentationMetrics:
    """Scores of one confusion matrix.

    Attributes:
        confusion: the matrix (row true, column predicted), index = class index.
        overall_accuracy: correct / labelled pixels.
        miou: mean IoU over classes present in the truth.
        mean_f1: mean F1 over classes present in the truth.
        per_class: class index -> {iou, f1, precision, recall, support}.
    """

    confusion: npt.NDArray[np.int64]
    overall_accuracy: float
    miou: float
    mean_f1: float
    per_class: dict[int, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready scalar summary plus per-class scores."""
        return {
            "overall_accuracy": self.overall_accuracy,
            "miou": self.miou,
            "mean_f1": self.mean_f1,
            "labelled_pixels": int(self.confusion.sum()),
            "classes_present": len(self.per_class),
            "per_class": {str(k): v for k, v in self.per_class.items()},
        }


def scores_from_confusion(cm: npt.NDArray[np.int64]) -> SegmentationMetrics:
    """OA, mIoU and per-class IoU/F1/precision/recall over the classes present in the truth."""
    total = int(cm.sum())
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    per_class: dict[int, dict[str, float]] = {}
    for k in range(1, cm.shape[0]):
        if support[k] == 0:
            continue
        precision = tp[k] / predicted[k] if predicted[k] else 0.0
        recall = tp[k] / support[k]
        union = support[k] + predicted[k] - tp[k]
        per_class[k] = {
            "iou": float(tp[k] / union),
            "f1": float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0,
            "precision": float(precision),
            "recall": float(recall),
            "support": int(support[k]),
        }
    oa = float(tp[1:].sum() / total) if total else 0.0
    miou = float(np.mean([v["iou"] for v in per_class.values()])) if per_class else 0.0
    mf1 = float(np.mean([v["f1"] for v in per_class.values()])) if per_class else 0.0
    return SegmentationMetrics(cm, oa, miou, mf1, per_class)


def segmentation_metrics(
    target: npt.ArrayLike, prediction: npt.ArrayLike, num_classes: int
) -> SegmentationMetrics:
    """Confusion matrix and scores of a prediction against labels in one call."""
    return scores_from_confusion(confusion_matrix(target, prediction, num_classes))
