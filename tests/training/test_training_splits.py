"""Spatially blocked splits, chip sampling and augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cropcube.datasets import (
    SPLITS,
    AugmentConfig,
    augment_batch,
    blocked_split,
    chip_weights,
    cross_validation_splits,
)
from cropcube.errors import InputError


def test_chips_of_different_splits_never_overlap_or_touch():
    split = blocked_split(256, 320, 64, (0.6, 0.2, 0.2), seed=3, buffer=4)
    chip, owner = 24, np.full((256, 320), -1)
    for i, name in enumerate(SPLITS):
        wins = split.windows(name, chip, stride=10)
        assert wins, name
        for r, c in wins:
            patch = owner[r : r + chip, c : c + chip]
            assert ((patch == -1) | (patch == i)).all()
            owner[r : r + chip, c : c + chip] = i
    # Any two pixels of different splits are at least 2 * buffer apart (no shared parcel edge).
    for i in range(3):
        grown = np.zeros_like(owner, dtype=bool)
        ys, xs = np.nonzero(owner == i)
        for dy in range(-8, 9):
            for dx in range(-8, 9):
                grown[np.clip(ys + dy, 0, 255), np.clip(xs + dx, 0, 319)] = True
        others = (owner != i) & (owner >= 0)
        assert not (grown & others).any()


def test_split_is_reproducible_and_covers_every_split():
    a = blocked_split(512, 512, 64, seed=1)
    b = blocked_split(512, 512, 64, seed=1)
    c = blocked_split(512, 512, 64, seed=2)
    np.testing.assert_array_equal(a.assignment, b.assignment)
    assert not np.array_equal(a.assignment, c.assignment)
    counts = np.bincount(a.assignment.ravel(), minlength=3)
    assert counts.tolist() == [44, 10, 10]


def test_split_rejects_impossible_settings():
    with pytest.raises(InputError, match="need 3"):
        blocked_split(64, 64, 64)
    with pytest.raises(InputError, match="summing to 1"):
        blocked_split(256, 256, 32, (0.5, 0.5, 0.5))
    with pytest.raises(InputError, match="exceeds the usable block size"):
        blocked_split(256, 256, 32, buffer=4).windows("train", 32)


@pytest.mark.parametrize(
    ("size", "block", "folds", "n_val"), [(64, 16, 4, 3), (100, 20, 3, 2), (96, 32, 9, 1)]
)
def test_cross_validation_tests_every_block_once_and_never_trains_on_it(size, block, folds, n_val):
    splits = cross_validation_splits(size, size, block, folds, n_val, seed=5)
    assert len(splits) == folds
    tested = np.stack([s.assignment == 2 for s in splits])
    assert (tested.sum(axis=0) == 1).all()  # each block is a test block in exactly one fold
    for s in splits:
        counts = np.bincount(s.assignment.ravel(), minlength=3)
        assert counts[1] == n_val and counts[0] >= 1
        # the pixels scored by a fold are exactly its test blocks, disjoint from its training pixels
        assert not (s.mask("test") & (s.mask("train") | s.mask("val"))).any()
    covered = np.logical_or.reduce([s.mask("test") for s in splits])
    n = size // block * block
    assert covered[:n, :n].all() and not covered[n:, :].any()


def test_cross_validation_refuses_folds_that_leave_no_training_block():
    with pytest.raises(InputError, match="4 folds with 3 validation blocks do not fit 4 blocks"):
        cross_validation_splits(64, 64, 32, 4, 3)
    with pytest.raises(InputError, match="1 folds"):
        cross_validation_splits(64, 64, 16, 1, 3)
    with pytest.raises(InputError, match="0 px: a block needs at least 1 px"):
        cross_validation_splits(64, 64, 0, 4, 3)


def test_balanced_weights_favour_chips_with_rare_classes():
    labels = np.ones((32, 64), dtype=np.uint8)
    labels[:16, 48:] = 7  # one rare patch
    wins = [(0, 0), (0, 16), (0, 32), (0, 48), (16, 0)]
    w = chip_weights(labels, wins, 16, num_classes=10)
    assert w[3] == w.max() and w[3] > 3 * w[0]


def test_d4_moves_labels_with_pixels_and_dropout_blanks_whole_dates():
    b, t, h = 16, 7, 8
    y = torch.randint(1, 50, (b, h, h))
    x = y[:, None].repeat(1, 4 * t, 1, 1).float() * 100  # every band equals 100 x label
    gen = torch.Generator().manual_seed(0)
    xa, ya = augment_batch(x, y, AugmentConfig(d4=True, date_dropout=0.3, cloud=0.0), gen)
    assert not torch.equal(ya, y)  # something was flipped
    for i in range(b):
        kept = [d for d in range(t) if xa[i, 4 * d].abs().sum() > 0]
        assert kept  # one date always stays
        for d in range(t):
            band = xa[i, 4 * d : 4 * d + 4]
            assert torch.equal(band, torch.zeros_like(band)) or torch.equal(
                band, ya[i].float().expand(4, h, h) * 100
            )


def test_gain_scales_each_chip_date_band_by_one_factor_and_keeps_nodata():
    b, t, h = 8, 7, 6
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(b, 4 * t, h, h, generator=gen) * 3000 + 100
    x[:, :, 0, 0] = 0  # a nodata pixel
    y = torch.randint(1, 50, (b, h, h), generator=gen)
    cfg = AugmentConfig(d4=False, date_dropout=0.0, cloud=0.0, gain=0.1)
    xa, ya = augment_batch(x, y, cfg, torch.Generator().manual_seed(2))
    assert torch.equal(ya, y)
    ratio = xa[:, :, 1:, 1:] / x[:, :, 1:, 1:]
    per_channel = ratio.flatten(2)
    torch.testing.assert_close(per_channel, per_channel[:, :, :1].expand_as(per_channel))  # one factor each
    factors = per_channel[:, :, 0].log()
    assert 0.05 < float(factors.std()) < 0.2 and not torch.allclose(factors, factors[0, 0])
    assert torch.equal(xa[:, :, 0, 0], torch.zeros(b, 4 * t))  # nodata stays nodata
    again, _ = augment_batch(x, y, cfg, torch.Generator().manual_seed(2))
    assert torch.equal(again, xa)  # reproducible from the generator


@pytest.mark.parametrize("name", ["date_dropout", "cloud", "gain"])
def test_augment_settings_out_of_range_are_named(name):
    from cropcube.trainers.config import config_from_dict

    base = {"data": {"synthetic": {"seed": 0, "height": 64, "width": 64}}}
    with pytest.raises(InputError, match=rf"augment\.{name}"):
        config_from_dict({**base, "augment": {name: 1.5}})
