"""Evaluation: metrics, tiled prediction, parcel voting, confusion matrices and reports."""

from cropcube.evaluation.metrics import (
    SegmentationMetrics,
    confusion_matrix,
    scores_from_confusion,
    segmentation_metrics,
)
from cropcube.evaluation.predict import classes_from_probabilities, predict_probabilities
from cropcube.evaluation.voting import ParcelVoter, parcel_accuracy, parcel_truth, parcel_vote

__all__ = [
    "ParcelVoter",
    "SegmentationMetrics",
    "classes_from_probabilities",
    "confusion_matrix",
    "parcel_accuracy",
    "parcel_truth",
    "parcel_vote",
    "predict_probabilities",
    "scores_from_confusion",
    "segmentation_metrics",
]
