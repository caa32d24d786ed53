"""Clouds, shadows and haze: asked fractions, recorded truth, and nothing else changed."""

from __future__ import annotations

import datetime as dt

import numpy as np

from cropcube.synthetic import SceneConfig, generate_scene
from cropcube.synthetic.atmosphere import date_atmosphere

FRACTIONS = (0.0, 0.3, 0.0, 0.1, 0.0, 0.0, 0.6)


def test_clouds_cover_the_asked_fraction_and_are_recorded() -> None:
    clear = generate_scene(SceneConfig(seed=6, height=256, width=256))
    cloudy = generate_scene(SceneConfig(seed=6, height=256, width=256, cloud_fraction=FRACTIONS))
    assert np.array_equal(clear.labels, cloudy.labels)
    assert cloudy.cloud_mask.shape == (7, 256, 256)
    blue_clear = clear.cube[0::4].astype(np.float64)
    blue_cloudy = cloudy.cube[0::4].astype(np.float64)
    for t, f in enumerate(FRACTIONS):
        mask = cloudy.cloud_mask[t]
        if f == 0:
            assert not mask.any()
            assert np.array_equal(cloudy.cube[4 * t : 4 * t + 4], clear.cube[4 * t : 4 * t + 4])
            continue
        bright = blue_cloudy[t] > blue_clear[t] + 1000  # thick cloud
        assert f - 0.02 <= mask.mean() <= f + 0.25  # clouds exactly f, plus their shadows
        assert bright.mean() > 0.5 * f
        assert np.all(mask[bright])
        # Clouds are coherent blobs, not salt and pepper: most cloudy pixels have cloudy neighbours.
        assert (mask & np.roll(mask, 1, 0) & np.roll(mask, 1, 1)).sum() > 0.9 * mask.sum()
        outside = ~mask
        rel = np.abs(blue_cloudy[t][outside] - blue_clear[t][outside]) / blue_clear[t][outside]
        assert np.median(rel) == 0.0  # untouched away from clouds and shadows


def test_shadows_are_dark_and_beside_the_clouds() -> None:
    clear = generate_scene(SceneConfig(seed=8, height=256, width=256))
    cloudy = generate_scene(SceneConfig(seed=8, height=256, width=256, cloud_fraction=0.2))
    no_shadow = generate_scene(SceneConfig(seed=8, height=256, width=256, cloud_fraction=0.2, shadow=False))
    t = 3  # 30 June
    nir_clear = clear.cube[4 * t + 3].astype(np.float64)
    nir_cloudy = cloudy.cube[4 * t + 3].astype(np.float64)
    shadow_only = cloudy.cloud_mask[t] & ~no_shadow.cloud_mask[t]
    assert shadow_only.sum() > 100
    ratio = nir_cloudy[shadow_only] / nir_clear[shadow_only]
    assert np.median(ratio) < 0.9 and np.percentile(ratio, 10) < 0.8


def test_shadows_fall_away_from_the_sun() -> None:
    """At the 10:30 overpass the sun is in the south-south-east: shadows lie north-north-west."""
    atm = date_atmosphere(np.random.default_rng(0), dt.date(2018, 6, 30), 512, 512, 0.1, 0.0, True)
    assert atm.cloud is not None and atm.shadow is not None
    rows, cols = np.indices(atm.cloud.shape)
    cloud_w, shadow_w = atm.cloud, atm.shadow
    dy = (rows * shadow_w).sum() / shadow_w.sum() - (rows * cloud_w).sum() / cloud_w.sum()
    dx = (cols * shadow_w).sum() / shadow_w.sum() - (cols * cloud_w).sum() / cloud_w.sum()
    assert dy < -20 and abs(dx) < abs(dy)  # northwards (up), mostly
    assert shadow_w.max() > 0.9  # thick cloud cores cast full shadows (diffuse light only)
    winter = date_atmosphere(np.random.default_rng(0), dt.date(2018, 1, 8), 512, 512, 0.1, 0.0, True)
    assert winter.shadow is not None
    assert winter.shadow.sum() < shadow_w.sum()  # long winter shadows leave the frame more often


def test_haze_brightens_blue_most() -> None:
    clear = generate_scene(SceneConfig(seed=2, height=128, width=128, noise=0.0))
    hazy = generate_scene(SceneConfig(seed=2, height=128, width=128, noise=0.0, haze=0.5))
    gain = [np.median(hazy.cube[4 * 3 + b].astype(np.float64) - clear.cube[4 * 3 + b]) for b in range(4)]
    assert gain[0] > gain[1] > gain[2] > 0
    assert not hazy.cloud_mask.any()
