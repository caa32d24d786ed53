"""Endmember spectra (surface reflectance in B02, B03, B04, B08) and per-surface mixing inputs.

Values are calibrated on the real samples in ``../shared/data`` (Flevoland 2018, Flanders 2019):
bare clay soil, straw, water, asphalt, roofs. Each rendered surface (ditch, verge, road, yard,
parcel) is a mix of green canopy, dry matter and an "under" spectrum (soil, water, asphalt, roofs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cropcube.synthetic.parcels import (
    PARCEL_SURFACE_OFFSET,
    SURFACE_DITCH,
    SURFACE_ROAD,
    SURFACE_VERGE,
    SURFACE_YARD,
)
from cropcube.synthetic.phenology import ParcelPhenology, season

F32 = npt.NDArray[np.float32]

SOIL = np.array([0.130, 0.160, 0.195, 0.270], dtype=np.float32)
"""Dry, light marine clay of the IJsselmeer polders (scaled per parcel and date by its state)."""
DRY_MATTER = np.array([0.085, 0.120, 0.165, 0.300], dtype=np.float32)
"""Straw, stubble, dead leaves."""
RIPENING = np.array([0.055, 0.105, 0.100, 0.420], dtype=np.float32)
"""Canopy that has just turned yellow (ripening cereals, senescing leaves): still bright in NIR."""
WATER = np.array([0.040, 0.050, 0.030, 0.015], dtype=np.float32)
ASPHALT = np.array([0.075, 0.085, 0.095, 0.120], dtype=np.float32)
ROOFS = np.array([0.100, 0.110, 0.120, 0.160], dtype=np.float32)
VERGE_CANOPY = np.array([0.022, 0.052, 0.027, 0.42], dtype=np.float32)


@dataclass(frozen=True)
class SurfaceTable:
    """Mixing inputs of every surface code (rows indexed by surface code).

    Attributes:
        green: (T, S) green cover.
        dry: (T, S) dry-matter cover.
        under_factor: (T, S) multiplier of the under spectrum.
        canopy: (S, 4) green-canopy spectrum.
        under: (S, 4) under spectrum (soil, water, asphalt, roofs).
        heterogeneity: (S,) within-surface texture strength.
        canopy_scale: (T, 4) per-date multiplier of every canopy spectrum.
        ripeness: (T, S) age of the dry matter (0 ripening, 1 straw).
    """

    green: F32
    dry: F32
    under_factor: F32
    canopy: F32
    under: F32
    heterogeneity: F32
    canopy_scale: F32
    ripeness: F32


def surface_table(phen: ParcelPhenology, doy: npt.NDArray[np.float64]) -> SurfaceTable:
    """Stack the background surfaces (yard, verge, road, ditch) and the parcels into one table."""
    n_dates = doy.shape[0]
    s = season(doy.astype(np.float64)).astype(np.float32)
    n_bg = PARCEL_SURFACE_OFFSET + 1
    bg_green = np.zeros((n_dates, n_bg), dtype=np.float32)
    bg_green[:, SURFACE_YARD] = 0.35 * (0.6 + 0.4 * s)  # lawns, shelter-belt trees
    bg_green[:, SURFACE_VERGE] = 0.85 * (0.72 + 0.28 * s)
    bg_green[:, SURFACE_ROAD] = 0.0
    bg_green[:, SURFACE_DITCH] = 0.4 * (0.6 + 0.4 * s)  # grassy banks, reed
    bg_under = np.stack([ROOFS, SOIL, ASPHALT, WATER]).astype(np.float32)
    bg_factor = np.ones((n_dates, n_bg), dtype=np.float32)
    bg_canopy = np.tile(VERGE_CANOPY, (n_bg, 1))
    n_p = phen.green.shape[0]
    return SurfaceTable(
        green=np.concatenate([bg_green, phen.green.T], axis=1),
        dry=np.concatenate([np.zeros_like(bg_green), phen.dry.T], axis=1),
        under_factor=np.concatenate([bg_factor, phen.soil_factor.T], axis=1),
        canopy=np.concatenate([bg_canopy, phen.canopy]).astype(np.float32),
        under=np.concatenate([bg_under, np.tile(SOIL, (n_p, 1))]).astype(np.float32),
        heterogeneity=np.concatenate([np.full(n_bg, 0.5, np.float32), phen.heterogeneity]).astype(np.float32),
        canopy_scale=phen.canopy_scale,
        ripeness=np.concatenate([np.ones_like(bg_green), phen.ripeness.T], axis=1),
    )
