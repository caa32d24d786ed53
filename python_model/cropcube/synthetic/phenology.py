"""Per-parcel phenology: green cover, standing dry matter and soil state on each date.

Every parcel gets its class's calendar shifted by a random number of days and scaled by a random
vigour, so that parcels of one class differ the way real fields do (sowing dates, growth), while
classes with different calendars stay apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cropcube.synthetic.calendar import POST_HARVEST_STATES, CropCalendar

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_REGROW_DAYS = 25.0  # days for mown grass to close its canopy again
_MOW_DROP = 0.55  # share of the green cover removed by a cut


def season(doy: F64) -> F64:
    """Smooth annual cycle: 0 in mid-January, 1 in mid-July (light, temperature, soil dryness)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * (doy - 15.0) / 365.0)


def _ramp(x: F64) -> F64:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class ParcelPhenology:
    """Per-parcel, per-date state.

    Attributes:
        green: (P, T) green vegetation cover 0..1.
        dry: (P, T) standing dry matter (senesced canopy, straw, stubble) cover 0..1.
        soil_factor: (P, T) multiplier of the soil spectrum (moisture, ploughing, seedbed).
        canopy: (P, 4) green-canopy reflectance of each parcel.
        heterogeneity: (P,) within-field texture strength.
        canopy_scale: (T, 4) per-date multiplier of canopy reflectance (drought stress lowers NIR).
        ripeness: (P, T) age of the dry matter: 0 = just turned yellow (ripening), 1 = dry straw.
    """

    green: F32
    dry: F32
    soil_factor: F32
    canopy: F32
    heterogeneity: F32
    canopy_scale: F32
    ripeness: F32


def parcel_phenology(
    rng: np.random.Generator,
    calendars: Sequence[CropCalendar],
    class_index: npt.NDArray[np.int64],
    doy: F64,
    shift_days: float = 0.0,
    drought: float = 0.0,
) -> ParcelPhenology:
    """Draw per-parcel variation and evaluate the phenology of every parcel on every date.

    Args:
        rng: random generator.
        calendars: calendar of each class (``calendars[k]`` for class index ``k + 1``).
        class_index: class index (1-based) of each parcel.
        doy: day of year of each date (of the season's harvest year).
        shift_days: shift of all calendars (positive = later season).
        drought: summer drought 0..1 (as in 2018): grass browns, crops lose some green cover.

    Returns:
        The parcels' state on each date.
    """
    n = class_index.shape[0]
    cal = [calendars[k - 1] for k in class_index.tolist()]

    def col(name: str) -> F64:
        return np.array([getattr(c, name) for c in cal], dtype=np.float64).reshape(n, 1)

    jitter = col("jitter_days") * rng.standard_normal((n, 1)) + shift_days
    sow, emerge, peak = col("sow") + jitter, col("emerge") + jitter, col("peak") + jitter
    senesce, harvest = col("senesce") + jitter, col("harvest") + jitter
    vigour = np.clip(rng.normal(1.0, 0.07, (n, 1)), 0.75, 1.15)
    peak_cover = np.minimum(col("peak_cover") * vigour, 0.98)
    base_cover = np.minimum(col("base_cover") * np.clip(rng.normal(1.0, 0.05, (n, 1)), 0.8, 1.1), 0.97)
    dry_fraction = col("dry_fraction")
    post = np.array([POST_HARVEST_STATES.index(c.post) for c in cal]).reshape(n, 1)
    # A quarter of the fields that would get a green manure or keep stubble are ploughed instead.
    ploughed = rng.random((n, 1)) < 0.25
    post = np.where(ploughed & (post <= 2), 0, post)
    t = np.asarray(doy, dtype=np.float64).reshape(1, -1)

    has_season = col("peak_cover") > 0
    up = _ramp((t - emerge) / np.maximum(peak - emerge, 1.0))
    down = _ramp((t - senesce) / np.maximum(harvest - senesce, 1.0))
    in_season = has_season & (t >= emerge) & (t < harvest)
    green = np.where(in_season, peak_cover * up * (1.0 - down), 0.0)
    dry = np.where(in_season, peak_cover * down * dry_fraction, 0.0)

    after = t - harvest
    harvested = has_season & (after >= 0)
    state = post
    decay = np.exp(-np.maximum(after, 0.0) / 40.0)
    post_green = np.select(
        [state == 1, state == 2, state == 3],
        [0.12 * _ramp((after - 15.0) / 40.0), 0.85 * _ramp((after - 10.0) / 55.0), 0.6 * _ramp(after / 40.0)],
        0.0,
    )
    post_dry = np.select(
        [state == 0, state == 1, state == 2],
        [0.05 * decay, 0.5 * dry_fraction * peak_cover * decay, 0.3 * decay],
        0.0,
    )
    # Perennials (state "none") simply drop their leaves: only the base cover remains.
    green = np.where(harvested, post_green, green)
    dry = np.where(harvested, post_dry, dry)

    # Before sowing a spring crop: the previous crop's winter state (green manure on some fields).
    winter_green = np.where(rng.random((n, 1)) < 0.3, rng.uniform(0.2, 0.5, (n, 1)), 0.0)
    before = has_season & (t < sow - 15.0)
    green = np.where(before, winter_green, green)

    # Year-round cover (grass sward, orchard understorey): seasonal, with mowing dips and late dry matter.
    cuts = col("cuts").astype(np.int64)
    mow = np.ones((n, t.shape[1]))
    first_cut = col("first_cut") + jitter
    interval = col("cut_interval")
    for k in range(int(cuts.max(initial=0))):
        cut_day = first_cut + k * interval + rng.normal(0.0, 8.0, (n, 1))  # farmers differ
        since = t - cut_day
        drop = _MOW_DROP * np.clip(1.0 - since / _REGROW_DAYS, 0.0, 1.0) * (since >= 0)
        mow *= np.where(k < cuts, 1.0 - drop, 1.0)
    base = base_cover * (0.8 + 0.2 * season(t)) * mow
    late_summer = np.exp(-(((t - 235.0) / 45.0) ** 2))
    base_dry = base_cover * dry_fraction * 0.4 * late_summer
    green = base + green * (1.0 - base)
    dry = np.minimum(dry * (1.0 - base) + base_dry, 1.0 - green)
    drought_peak = drought * np.exp(-(((t - 205.0) / 45.0) ** 2))
    if drought > 0:
        # Shallow-rooted grass browns first; deep-rooted crops keep more of their canopy.
        browned = green * np.where(has_season, 0.25, 0.6) * drought_peak
        green, dry = green - browned, dry + browned
    canopy_scale = np.ones((t.shape[1], 4))
    canopy_scale[:, 3] = 1.0 - 0.35 * drought_peak[0]  # stressed, thinner canopies scatter less NIR

    # Soil: clay ploughed in autumn is rough and dark; frost and dry spells weather it into a bright
    # crust by late winter; a fresh seedbed is dry and bright; showers darken it on some dates.
    soil_factor = np.where(before, rng.uniform(0.85, 1.3, (n, 1)), 1.0)
    soil_factor *= np.where(has_season & (t >= sow) & (t < emerge), 1.06, 1.0)
    soil_factor *= np.where(harvested & (state == 0) & (after > 20), 0.68, 1.0)
    soil_factor *= np.clip(rng.normal(1.0, 0.05, soil_factor.shape), 0.85, 1.15)
    soil_factor *= np.clip(rng.normal(1.0, 0.1, (n, 1)), 0.7, 1.35)  # soil differences between fields

    canopy = np.array([c.canopy for c in cal], dtype=np.float64)
    canopy *= np.clip(rng.normal(1.0, 0.04, (n, 1)), 0.85, 1.15)
    canopy[:, 3] *= np.clip(rng.normal(1.0, 0.05, n), 0.85, 1.15)  # NIR: leaf structure, LAI
    heterogeneity = np.clip(rng.normal(1.0, 0.25, n), 0.4, 1.6)
    return ParcelPhenology(
        green=green.astype(np.float32),
        dry=dry.astype(np.float32),
        soil_factor=soil_factor.astype(np.float32),
        canopy=canopy.astype(np.float32),
        heterogeneity=heterogeneity.astype(np.float32),
        canopy_scale=canopy_scale.astype(np.float32),
        ripeness=np.where(
            in_season, np.clip((t - senesce) / np.maximum(harvest - senesce, 1.0), 0, 1), 1.0
        ).astype(np.float32),
    )
