"""Alike crops stay hard to tell apart; crops with different calendars are separable."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_helpers import balanced_table, ndvi

from cropcube.synthetic import Scene, SceneConfig, generate_scene

ALIKE = [(1, 2), (9, 23), (9, 32), (21, 30)]  # grasslands, seed vs ware vs TBM potatoes, wheat vs barley
DIFFERENT = [(21, 4), (14, 21), (1, 4), (8, 14), (29, 4), (9, 14)]


@pytest.fixture(scope="module")
def scene() -> Scene:
    classes = sorted({k for pair in ALIKE + DIFFERENT for k in pair})
    return generate_scene(SceneConfig(seed=9, height=448, width=448), balanced_table(classes))


def _separation(scene: Scene, a: int, b: int) -> float:
    """Largest, over dates, standardised difference of NDVI means (d') between two classes."""
    nd = ndvi(scene).reshape(scene.spec.n_dates, -1)
    xa, xb = nd[:, (scene.labels == a).ravel()], nd[:, (scene.labels == b).ravel()]
    assert xa.shape[1] > 500 and xb.shape[1] > 500
    d = np.abs(xa.mean(1) - xb.mean(1)) / np.sqrt((xa.var(1) + xb.var(1)) / 2)
    return float(d.max())


def test_alike_crops_overlap(scene: Scene) -> None:
    for a, b in ALIKE:
        assert _separation(scene, a, b) < 2.0, (a, b)


def test_different_calendars_separate(scene: Scene) -> None:
    for a, b in DIFFERENT:
        assert _separation(scene, a, b) > 3.0, (a, b)
    worst_alike = max(_separation(scene, a, b) for a, b in ALIKE)
    best_different = min(_separation(scene, a, b) for a, b in DIFFERENT)
    assert best_different > 1.5 * worst_alike
