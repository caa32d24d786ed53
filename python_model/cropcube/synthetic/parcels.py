"""Polder-like field layout: long rectangular parcels in farm lots along roads, with ditches between.

Geometry is in metres from the scene's upper-left corner (x east, y south). The layout follows the
Noordoostpolder pattern: straight E-W roads with farm lots of about 230-360 m x 780-1000 m on both
sides, lots separated by ditches of 3-8 m and backed by a wider main ditch, N-S connecting roads every
few km, farm yards at the road end of some lots, and each lot split into one to four crop parcels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Surface codes of the rendered map: background kinds first, then parcels (surface = parcel id + 3).
SURFACE_YARD = 0
SURFACE_VERGE = 1
SURFACE_ROAD = 2
SURFACE_DITCH = 3
PARCEL_SURFACE_OFFSET = 3

_ROAD_WIDTH = 6.0
_VERGE_WIDTH = 3.0
_ROADSIDE_DITCH = 4.0


@dataclass(frozen=True)
class PolderLayout:
    """Rectangles of a scene, in metres from its upper-left corner.

    Attributes:
        width_m: scene width in metres.
        height_m: scene height in metres.
        parcels: (P, 4) float64 ``x0, y0, x1, y1`` of crop parcels; parcel id = row + 1.
        background: (B, 5) float64 ``kind, x0, y0, x1, y1`` drawn in order before the parcels
            (verges, roads, yards); everything not drawn is ditch.
    """

    width_m: float
    height_m: float
    parcels: npt.NDArray[np.float64]
    background: npt.NDArray[np.float64]

    @property
    def n_parcels(self) -> int:
        """Number of parcels."""
        return int(self.parcels.shape[0])

    def parcel_areas(self) -> npt.NDArray[np.float64]:
        """Area of each parcel in square metres."""
        p = self.parcels
        return (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])


def _lot_parcels(rng: np.random.Generator, x0: float, x1: float, y0: float, y1: float) -> list[list[float]]:
    """Split one lot (yard already removed) into 1-4 crop parcels along its length."""
    depth = y1 - y0
    n = int(rng.choice([1, 2, 3, 4], p=[0.2, 0.35, 0.3, 0.15]))
    n = max(1, min(n, int(depth // 150)))
    shares = rng.dirichlet(np.full(n, 4.0))
    cuts = y0 + np.concatenate([[0.0], np.cumsum(shares)]) * depth
    out = []
    for a, b in itertools.pairwise(cuts.tolist()):
        # Parcels of one farm often touch (no ditch): their boundary pixels mix two crops.
        gap = float(rng.uniform(0.0, 3.0)) if rng.random() < 0.4 else 0.0
        top, bottom = a + (gap / 2 if a > y0 else 0.0), b - (gap / 2 if b < y1 else 0.0)
        if x1 - x0 > 200 and rng.random() < 0.15:
            mid = x0 + (x1 - x0) * float(rng.uniform(0.35, 0.65))
            out += [[x0, top, mid, bottom], [mid, top, x1, bottom]]
        else:
            out.append([x0, top, x1, bottom])
    return out


def _lot_row(
    rng: np.random.Generator,
    width_m: float,
    y0: float,
    y1: float,
    road_at_bottom: bool,
    cross_roads: npt.NDArray[np.float64],
) -> tuple[list[list[float]], list[list[float]]]:
    """Lots between ``y0`` and ``y1``, split by N-S roads; returns (parcels, yards)."""
    parcels: list[list[float]] = []
    yards: list[list[float]] = []
    edges = np.concatenate([[-400.0], cross_roads, [width_m + 400.0]])
    half = _ROAD_WIDTH / 2 + _VERGE_WIDTH + _ROADSIDE_DITCH
    for left, right in itertools.pairwise(edges.tolist()):
        x = left + (half if left > -400 else 0.0)
        stop = right - (half if right < width_m + 400 else 0.0)
        while stop - x > 120:
            w = float(rng.uniform(230, 360))
            if stop - x - w < 150:  # no sliver lot at the end of a segment
                w = stop - x
            lx0, lx1 = x, x + w
            ly0, ly1 = y0, y1
            if rng.random() < 0.4:
                yard_depth = float(rng.uniform(50, 90))
                if road_at_bottom:
                    yards.append([lx0, ly1 - yard_depth, lx1, ly1])
                    ly1 -= yard_depth + float(rng.uniform(2, 5))
                else:
                    yards.append([lx0, ly0, lx1, ly0 + yard_depth])
                    ly0 += yard_depth + float(rng.uniform(2, 5))
            parcels += _lot_parcels(rng, lx0, lx1, ly0, ly1)
            x = lx1 + float(rng.uniform(3, 8))  # lot ditch
    return parcels, yards


def generate_layout(rng: np.random.Generator, width_m: float, height_m: float) -> PolderLayout:
    """Generate a polder layout covering a ``width_m x height_m`` scene.

    Args:
        rng: random generator.
        width_m: scene width in metres.
        height_m: scene height in metres.

    Returns:
        The layout, parcels clipped to the scene (parcels narrower than 5 m after clipping dropped).
    """
    cross_roads = []
    x = float(rng.uniform(-3000, 0))
    while x < width_m + 400:
        x += float(rng.uniform(2500, 4500))
        if x < width_m + 400:
            cross_roads.append(x)
    cross = np.array(cross_roads)
    corridor = _ROAD_WIDTH + 2 * _VERGE_WIDTH + 2 * _ROADSIDE_DITCH
    parcels: list[list[float]] = []
    background: list[list[float]] = []
    for cx in cross:
        verge = _ROAD_WIDTH / 2 + _VERGE_WIDTH
        background.append([SURFACE_VERGE, cx - verge, -1e4, cx + verge, 1e6])
        background.append([SURFACE_ROAD, cx - _ROAD_WIDTH / 2, -1e4, cx + _ROAD_WIDTH / 2, 1e6])
    y = -float(rng.uniform(0, 2000))
    while y < height_m:
        y += float(rng.uniform(8, 12))  # main (back) ditch
        depth = float(rng.uniform(780, 1000))
        p, yards = _lot_row(rng, width_m, y, y + depth, True, cross)
        parcels += p
        background += [[SURFACE_YARD, *r] for r in yards]
        y += depth + _ROADSIDE_DITCH
        background.append([SURFACE_VERGE, -1e4, y, 1e6, y + corridor - 2 * _ROADSIDE_DITCH])
        background.append([SURFACE_ROAD, -1e4, y + _VERGE_WIDTH, 1e6, y + _VERGE_WIDTH + _ROAD_WIDTH])
        y += corridor - _ROADSIDE_DITCH
        depth = float(rng.uniform(780, 1000))
        p, yards = _lot_row(rng, width_m, y, y + depth, False, cross)
        parcels += p
        background += [[SURFACE_YARD, *r] for r in yards]
        y += depth
    rects = np.array(parcels, dtype=np.float64).reshape(-1, 4)
    rects[:, [0, 2]] = rects[:, [0, 2]].clip(0, width_m)
    rects[:, [1, 3]] = rects[:, [1, 3]].clip(0, height_m)
    keep = (rects[:, 2] - rects[:, 0] >= 5) & (rects[:, 3] - rects[:, 1] >= 5)
    return PolderLayout(
        width_m=width_m,
        height_m=height_m,
        parcels=rects[keep],
        background=np.array(background, dtype=np.float64).reshape(-1, 5),
    )


def _pixel_span(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], res: float, lo: int, hi: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pixel index range [i0, i1) whose centres lie in [a, b), clipped to [lo, hi)."""
    i0 = np.ceil(a / res - 0.5).astype(np.int64)
    i1 = np.ceil(b / res - 0.5).astype(np.int64)
    return np.clip(i0, lo, hi), np.clip(i1, lo, hi)


def paint_surfaces(layout: PolderLayout, res: float, r0: int, r1: int, n_cols: int) -> npt.NDArray[np.int32]:
    """Rasterise the layout by pixel centre on rows ``r0:r1`` of a grid with pixel size ``res``.

    Returns:
        int32 surface codes: :data:`SURFACE_DITCH` etc. for background, parcel id + 3 for parcels.
    """
    out = np.full((r1 - r0, n_cols), SURFACE_DITCH, dtype=np.int32)
    bg = layout.background
    parcel_codes = np.arange(layout.n_parcels) + 1 + PARCEL_SURFACE_OFFSET
    codes = np.concatenate([bg[:, 0].astype(np.int64), parcel_codes])
    rects = np.concatenate([bg[:, 1:5], layout.parcels])
    c0, c1 = _pixel_span(rects[:, 0], rects[:, 2], res, 0, n_cols)
    y0, y1 = _pixel_span(rects[:, 1], rects[:, 3], res, r0, r1)
    hit = np.flatnonzero((c1 > c0) & (y1 > y0))
    for i in hit.tolist():
        out[y0[i] - r0 : y1[i] - r0, c0[i] : c1[i]] = codes[i]
    return out


def assign_classes(
    rng: np.random.Generator, areas: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Give each parcel a class so that class areas follow ``weights``, exactly in expectation.

    Systematic sampling: parcels (in random order) and classes (in random order, each with a span
    proportional to its weight) are laid along the same line of length ``sum(areas)``, shifted by a
    random offset; a parcel gets the class under its midpoint. Each parcel's midpoint is uniform on
    the line, so a parcel is class ``k`` with probability ``weights[k] / sum(weights)`` (unbiased),
    and every class's area stays within about one parcel of its target (so even small scenes have
    the right mix of common classes, while rare classes appear when their share allows).

    Args:
        rng: random generator.
        areas: area of each parcel.
        weights: relative frequency of each class (index 0 = class index 1).

    Returns:
        Class index (1-based) of each parcel.
    """
    total = float(areas.sum())
    order = rng.permutation(areas.shape[0])
    ends = np.cumsum(areas[order])
    position = (ends - areas[order] / 2 + rng.uniform(0.0, total)) % total
    class_order = rng.permutation(weights.shape[0])
    bounds = np.cumsum(weights[class_order]) / weights.sum() * total
    picked = class_order[np.minimum(np.searchsorted(bounds, position, side="right"), weights.size - 1)]
    out = np.empty(areas.shape[0], dtype=np.int64)
    out[order] = picked + 1
    return out
