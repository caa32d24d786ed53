"""Chip sampling from an in-memory scene: uniform or class-balanced, reproducible from a seed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from cropcube.datasets.scene import SceneData


def chip_weights(
    labels: npt.NDArray[np.uint8], windows: Sequence[tuple[int, int]], chip_size: int, num_classes: int
) -> npt.NDArray[np.float64]:
    """Sampling weight per chip for class-balanced sampling.

    A chip weighs the sum over its labelled pixels of 1 / (frequency of the pixel's class in all
    chips), so rare classes are drawn about as often as common ones; unlabelled chips weigh 0.
    """
    hist = np.zeros((len(windows), num_classes + 1), dtype=np.float64)
    for i, (r, c) in enumerate(windows):
        hist[i] = np.bincount(
            labels[r : r + chip_size, c : c + chip_size].ravel(), minlength=num_classes + 1
        )[: num_classes + 1]
    hist[:, 0] = 0
    freq = hist.sum(axis=0)
    inv = np.divide(1.0, freq, out=np.zeros_like(freq), where=freq > 0)
    weights: npt.NDArray[np.float64] = hist @ inv
    return weights


def chip_batches(
    scene: SceneData,
    windows: Sequence[tuple[int, int]],
    chip_size: int,
    batch_size: int,
    n_chips: int,
    rng: np.random.Generator,
    weights: npt.NDArray[np.float64] | None = None,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield (x float32 (B, T*C, h, w) raw DN, y int64 (B, h, w) class index) batches.

    Args:
        scene: the scene to cut chips from.
        windows: upper-left corners allowed for this split.
        chip_size: chip edge in pixels.
        batch_size: chips per batch (the last batch may be smaller).
        n_chips: chips per epoch.
        rng: source of randomness (seeded by the caller per epoch, so resumed runs repeat exactly).
        weights: per-window sampling weights (balanced sampling, with replacement); None for a
            shuffled pass (without replacement, repeated if ``n_chips`` exceeds the windows).
    """
    if weights is not None and weights.sum() > 0:
        order = rng.choice(len(windows), size=n_chips, replace=True, p=weights / weights.sum())
    else:
        reps = -(-n_chips // len(windows))
        order = np.concatenate([rng.permutation(len(windows)) for _ in range(reps)])[:n_chips]
    for start in range(0, n_chips, batch_size):
        idx = order[start : start + batch_size]
        xs = [scene.cube[:, r : r + chip_size, c : c + chip_size] for r, c in (windows[i] for i in idx)]
        ys = [scene.labels[r : r + chip_size, c : c + chip_size] for r, c in (windows[i] for i in idx)]
        x = torch.from_numpy(np.stack(xs).astype(np.float32))
        y = torch.from_numpy(np.stack(ys).astype(np.int64))
        yield x, y
