"""Crop calendars show up in the spectra: peaks, harvests, bare soil, green grassland, knobs."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_helpers import balanced_table, ndvi

from cropcube.synthetic import Scene, SceneConfig, generate_scene

GRASS, WHEAT_W, BARLEY_W, MAIZE, POTATO_NAK, BEET_SUGAR, ONION, TULIP, POTATO_WARE = (
    1,
    21,
    30,
    4,
    9,
    14,
    8,
    29,
    23,
)
# Reference dates: 0 Jan-08, 1 Mar-19, 2 May-08, 3 Jun-30, 4 Aug-06, 5 Sep-18, 6 Nov-17.


@pytest.fixture(scope="module")
def crops() -> Scene:
    table = balanced_table(
        [GRASS, WHEAT_W, BARLEY_W, MAIZE, POTATO_NAK, BEET_SUGAR, ONION, TULIP, POTATO_WARE]
    )
    return generate_scene(SceneConfig(seed=5, height=384, width=384), table)


def _median_ndvi(scene: Scene, k: int) -> np.ndarray:
    nd = ndvi(scene)
    m = scene.labels == k
    assert m.sum() > 500, f"class {k} too rare in the test scene"
    return np.median(nd[:, m], axis=1)


def test_winter_cereals_peak_before_maize(crops: Scene) -> None:
    for cereal in (WHEAT_W, BARLEY_W):
        nd_c, nd_m = _median_ndvi(crops, cereal), _median_ndvi(crops, MAIZE)
        assert int(np.argmax(nd_c)) < int(np.argmax(nd_m))
        assert nd_c[2] > 0.7 > nd_m[2]  # May: cereals green, maize just sown
        assert nd_m[4] > 0.7 > nd_c[4]  # August: maize green, cereals harvested


def test_bare_soil_after_harvest(crops: Scene) -> None:
    assert _median_ndvi(crops, POTATO_NAK)[5] < 0.3  # seed potatoes lifted by mid-September
    assert _median_ndvi(crops, ONION)[5] < 0.3
    assert _median_ndvi(crops, TULIP)[3] < 0.3  # bulbs lifted by end of June
    assert _median_ndvi(crops, BEET_SUGAR)[1] < 0.3  # March: not yet sown
    assert _median_ndvi(crops, BEET_SUGAR)[5] > 0.7  # September: still green


def test_grassland_green_all_year(crops: Scene) -> None:
    assert np.all(_median_ndvi(crops, GRASS) > 0.6)


def test_low_sun_winter_dates_are_darker_in_nir(crops: Scene) -> None:
    nir = crops.cube[3::4].astype(np.float64)
    grass = crops.labels == GRASS
    assert np.median(nir[0][grass]) < np.median(nir[3][grass])


def test_phenology_shift_delays_green_up() -> None:
    table = balanced_table([MAIZE, WHEAT_W])
    early = generate_scene(SceneConfig(seed=2, height=192, width=192, phenology_shift_days=-15), table)
    late = generate_scene(SceneConfig(seed=2, height=192, width=192, phenology_shift_days=15), table)
    assert np.array_equal(early.labels, late.labels)
    assert _median_ndvi(late, MAIZE)[3] < _median_ndvi(early, MAIZE)[3] - 0.1  # end of June
    assert _median_ndvi(late, WHEAT_W)[1] < _median_ndvi(early, WHEAT_W)[1]  # March


def test_drought_browns_grassland_in_august() -> None:
    table = balanced_table([GRASS, MAIZE])
    wet = generate_scene(SceneConfig(seed=4, height=128, width=128), table)
    dry = generate_scene(SceneConfig(seed=4, height=128, width=128, drought=1.0), table)
    assert _median_ndvi(dry, GRASS)[4] < _median_ndvi(wet, GRASS)[4] - 0.1
    assert abs(_median_ndvi(dry, GRASS)[0] - _median_ndvi(wet, GRASS)[0]) < 0.02  # January untouched


def test_noise_knob() -> None:
    quiet = generate_scene(SceneConfig(seed=3, height=128, width=128, noise=0.0))
    loud = generate_scene(SceneConfig(seed=3, height=128, width=128, noise=3.0))
    diff = loud.cube.astype(np.float64) - quiet.cube
    assert 20 < np.std(diff) < 400  # DN: a few thousandths of reflectance, scaled by the knob
    assert abs(np.mean(diff)) < 5
