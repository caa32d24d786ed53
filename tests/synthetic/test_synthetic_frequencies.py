"""Class frequencies follow the real 2018 pixel counts of the class table."""

from __future__ import annotations

import numpy as np
import pytest

from cropcube.classes import load_class_table
from cropcube.synthetic import Scene, SceneConfig, generate_scene


def _shares(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    table = load_class_table()
    want = np.array([c.pixels_2018 for c in table], dtype=np.float64)
    got = np.bincount(scene.labels.ravel(), minlength=len(table) + 1)[1:].astype(np.float64)
    return got / got.sum(), want / want.sum()


def test_common_classes_within_tolerance(scene_512: Scene) -> None:
    got, want = _shares(scene_512)
    common = want > 0.04  # grassland, seed potatoes, maize, sugar beet, onions, winter wheat, ...
    assert common.sum() >= 7
    assert np.all(np.abs(got[common] - want[common]) < 0.35 * want[common])
    assert abs(got[0] - want[0]) < 0.1 * want[0]  # permanent grassland, a third of the area


@pytest.mark.slow
def test_frequencies_on_a_large_scene() -> None:
    scene = generate_scene(SceneConfig(seed=11, height=1536, width=1536, noise=0.0, supersample=1))
    got, want = _shares(scene)
    frequent = want > 0.01
    assert np.all(np.abs(got[frequent] - want[frequent]) < 0.25 * want[frequent])
    # Rare classes appear roughly as often as their share says.
    rare = want < 0.002
    assert 0.2 < got[rare].sum() / want[rare].sum() < 3.0
    assert (got > 0).sum() > 40
