"""Losses: class 0 ignored, label smoothing spreads the target, bad smoothing values are named."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cropcube.errors import InputError
from cropcube.trainers.config import config_from_dict
from cropcube.trainers.losses import SegmentationLoss, class_weights


def test_label_smoothing_matches_the_smoothed_target_cross_entropy() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 4, 4)
    labels = torch.randint(0, 6, (2, 4, 4))  # 0 = unlabelled, 1..5 = classes
    eps = 0.2
    loss = SegmentationLoss("ce", label_smoothing=eps)(logits, labels)
    keep = labels > 0
    logp = torch.log_softmax(logits, dim=1).permute(0, 2, 3, 1)[keep]  # (N, 5) labelled pixels only
    target = torch.full_like(logp, eps / 5)
    target[torch.arange(len(logp)), labels[keep] - 1] += 1 - eps
    expected = -(target * logp).sum(1).mean()
    assert math.isclose(float(loss), float(expected), rel_tol=1e-5)
    plain = SegmentationLoss("ce")(logits, labels)
    assert float(plain) != pytest.approx(float(loss))


def test_label_smoothing_out_of_range_is_named() -> None:
    base = {"data": {"synthetic": {"seed": 0, "height": 64, "width": 64}}}
    with pytest.raises(InputError, match=r"train\.label_smoothing"):
        config_from_dict({**base, "train": {"label_smoothing": 1.0}})
    cfg = config_from_dict({**base, "train": {"label_smoothing": 0.1}})
    assert cfg.train.label_smoothing == 0.1


def test_class_weights_follow_the_power_and_average_one_over_training_pixels() -> None:
    counts = np.array([999, 400, 100, 0, 25])  # index 0 = unlabelled, ignored; class 3 absent
    for power, ratio in ((0.5, 2.0), (1.0, 4.0)):
        w = class_weights(counts, power).numpy()
        assert w[2] == 0.0  # a class absent from training gets no weight
        assert w[1] / w[0] == pytest.approx(ratio)  # 4x rarer class -> 4 ** power heavier
        assert w[3] / w[1] == pytest.approx(ratio)
        assert (w * counts[1:]).sum() / counts[1:].sum() == pytest.approx(1.0)
    base = {"data": {"synthetic": {"seed": 0, "height": 64, "width": 64}}}
    with pytest.raises(InputError, match=r"train\.class_weight_power"):
        config_from_dict({**base, "train": {"class_weight_power": -1}})
    for bad in (-0.1, 1.0):
        with pytest.raises(InputError, match=r"train\.ema_decay"):
            config_from_dict({**base, "train": {"ema_decay": bad}})
