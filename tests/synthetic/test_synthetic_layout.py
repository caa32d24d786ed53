"""Polder geometry: parcel sizes and shapes, ditches and roads, agreement of rasters and polygons."""

from __future__ import annotations

import numpy as np
import shapely

from cropcube.classes import load_class_table
from cropcube.synthetic import Scene
from cropcube.synthetic.parcels import assign_classes


def test_parcels_are_polder_rectangles_of_realistic_size(scene_512: Scene) -> None:
    geoms = [p.geometry for p in scene_512.parcels]
    b = np.array([g.bounds for g in geoms])
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    inner = (
        (b[:, 0] > b[:, 0].min())
        & (b[:, 2] < b[:, 2].max())
        & (b[:, 1] > b[:, 1].min())
        & (b[:, 3] < b[:, 3].max())
    )  # parcels not clipped by the scene edge
    area_ha = (w * h)[inner] / 1e4
    assert all(np.isclose(g.area, (g.bounds[2] - g.bounds[0]) * (g.bounds[3] - g.bounds[1])) for g in geoms)
    assert 4 < np.median(area_ha) < 20  # Noordoostpolder crop parcels: a few to 20 ha
    assert np.median(np.maximum(w, h)[inner] / np.minimum(w, h)[inner]) > 1.2  # elongated
    assert not shapely.union_all(geoms).is_empty
    assert np.isclose(shapely.union_all(geoms).area, sum(g.area for g in geoms))  # no overlaps


def test_ditches_roads_and_yards_are_unlabelled(scene_512: Scene) -> None:
    unlabelled = (scene_512.labels == 0).mean()
    assert 0.03 < unlabelled < 0.2
    # Ditches run between the lots: many image columns cross at least one unlabelled pixel.
    assert (scene_512.labels == 0).any(axis=0).mean() > 0.9


def test_rasters_agree_with_polygons(scene_512: Scene) -> None:
    ids, labels = scene_512.parcel_ids, scene_512.labels
    by_id = {p.parcel_id: p for p in scene_512.parcels}
    assert set(np.unique(ids[ids > 0]).tolist()) <= set(by_id)
    lut = np.zeros(max(by_id) + 1, dtype=np.uint8)
    for p in scene_512.parcels:
        lut[p.parcel_id] = p.class_index
    assert np.array_equal(labels, lut[ids])
    # Pixel centres of every labelled pixel lie inside their parcel's polygon.
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(ids)
    pick = rng.choice(rows.size, 2000, replace=False)
    t = scene_512.transform
    for r, c in zip(rows[pick], cols[pick], strict=True):
        x, y = t @ (c + 0.5, r + 0.5)
        assert by_id[int(ids[r, c])].geometry.contains(shapely.Point(x, y))
    table = load_class_table()
    assert all(table.by_index(p.class_index).gewascode == p.gewascode for p in scene_512.parcels)


def test_mixed_pixels_at_field_edges(scene_512: Scene) -> None:
    """Pixels only partly inside their parcel are blends: their NIR strays from the parcel's."""
    ids = scene_512.parcel_ids
    nir = scene_512.cube[4 * 4 + 3].astype(np.float64)  # 6 August
    bounds = np.zeros((ids.max() + 1, 4))
    for p in scene_512.parcels:
        bounds[p.parcel_id] = p.geometry.bounds
    rows, cols = np.nonzero(ids)
    t = scene_512.transform
    x0, y1 = t.c + cols * 10.0, t.f - rows * 10.0
    b = bounds[ids[rows, cols]]
    over_x = np.clip(np.minimum(x0 + 10, b[:, 2]) - np.maximum(x0, b[:, 0]), 0, 10)
    over_y = np.clip(np.minimum(y1, b[:, 3]) - np.maximum(y1 - 10, b[:, 1]), 0, 10)
    inside = over_x * over_y / 100.0
    median = np.zeros(ids.max() + 1)
    for pid in np.unique(ids).tolist()[1:]:
        median[pid] = np.median(nir[ids == pid])
    deviation = np.abs(nir[rows, cols] / median[ids[rows, cols]] - 1.0)
    pure, mixed = deviation[inside == 1.0], deviation[inside < 0.7]
    assert mixed.size > 1000
    assert np.median(mixed) > 2 * np.median(pure)


def test_class_assignment_follows_weights_in_expectation() -> None:
    rng = np.random.default_rng(1)
    weights = np.array([50.0, 30.0, 15.0, 4.0, 1.0])
    totals = np.zeros(5)
    for _ in range(200):
        areas = rng.uniform(5, 20, 60)
        classes = assign_classes(rng, areas, weights)
        totals += np.bincount(classes - 1, weights=areas, minlength=5)
    share = totals / totals.sum()
    assert np.allclose(share, weights / weights.sum(), rtol=0.15, atol=0.003)
