"""Metrics and parcel voting against hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from cropcube.errors import InputError
from cropcube.evaluation import (
    ParcelVoter,
    confusion_matrix,
    parcel_accuracy,
    parcel_truth,
    parcel_vote,
    segmentation_metrics,
)


def test_confusion_and_scores_match_a_hand_computed_example():
    truth = np.array([[1, 1, 2, 0], [2, 3, 3, 0]])
    pred = np.array([[1, 2, 2, 3], [2, 3, 1, 0]])
    cm = confusion_matrix(truth, pred, num_classes=3)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[1, 1] = 1  # class 1: one right, one taken for 2
    expected[1, 2] = 1
    expected[2, 2] = 2  # class 2: both right
    expected[3, 3] = 1  # class 3: one right, one taken for 1
    expected[3, 1] = 1
    np.testing.assert_array_equal(cm, expected)  # unlabelled pixels (truth 0) are not counted
    m = segmentation_metrics(truth, pred, 3)
    assert m.overall_accuracy == pytest.approx(4 / 6)
    # IoU: class 1 = 1 / (2 + 2 - 1); class 2 = 2 / (2 + 3 - 2); class 3 = 1 / (2 + 1 - 1)
    assert m.per_class[1]["iou"] == pytest.approx(1 / 3)
    assert m.per_class[2]["iou"] == pytest.approx(2 / 3)
    assert m.per_class[3]["iou"] == pytest.approx(1 / 2)
    assert m.miou == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert m.per_class[2]["precision"] == pytest.approx(2 / 3) and m.per_class[2]["recall"] == 1.0
    assert m.per_class[2]["f1"] == pytest.approx(0.8)


def test_miou_averages_only_classes_present_in_the_truth():
    truth = np.array([1, 1, 1, 1])
    pred = np.array([1, 1, 5, 5])  # class 5 predicted but absent: not averaged
    m = segmentation_metrics(truth, pred, 76)
    assert list(m.per_class) == [1] and m.miou == pytest.approx(0.5)


def test_metrics_reject_mismatched_or_out_of_range_input():
    with pytest.raises(InputError, match="4 values for 3 labels"):
        confusion_matrix([1, 2, 3], [1, 2, 3, 4], 3)
    with pytest.raises(InputError, match=r"0\.\.3"):
        confusion_matrix([1, 2, 9], [1, 2, 3], 3)


def test_parcel_vote_uses_mean_probability_and_streams_identically():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(6, 8)).transpose(2, 0, 1).astype(np.float32)
    ids = np.zeros((6, 8), dtype=np.int32)
    ids[:3, :5] = 7
    ids[3:, 2:] = 9
    voted = parcel_vote(probs, ids)
    for pid in (7, 9):
        expected = int(np.argmax(probs[:, ids == pid].mean(axis=1))) + 1
        assert (voted[ids == pid] == expected).all()
    outside = ids == 0
    np.testing.assert_array_equal(voted[outside], np.argmax(probs, axis=0)[outside] + 1)
    # The same votes from two windows added one after the other (tiled inference).
    voter = ParcelVoter(4)
    voter.add(probs[:, :, :4], ids[:, :4])
    voter.add(probs[:, :, 4:], ids[:, 4:])
    assert voter.result() == {7: int(voted[0, 0]), 9: int(voted[5, 7])}


def test_parcel_accuracy_grades_each_parcel_by_its_majority_label():
    ids = np.array([[1, 1, 1, 2, 2, 0]])
    labels = np.array([[4, 4, 5, 6, 0, 3]])
    truth = parcel_truth(ids, labels)
    assert truth == {1: 4, 2: 6}
    assert parcel_accuracy({1: 4, 2: 5}, truth) == (2, 0.5)
    with pytest.raises(InputError):
        ParcelVoter(4).add(np.zeros((3, 2, 2), dtype=np.float32), np.zeros((2, 2), dtype=np.int32))
