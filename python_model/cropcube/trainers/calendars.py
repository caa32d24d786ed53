"""Training that learns calendars: every batch sees another subset of the scene's acquisitions.

A scene with a full time series (the synthetic generator's dates, or the 72 acquisitions of the Flanders
netCDF stacks) is cut per batch to T dates drawn from a range, at their real days of year, shifted
together by up to a few weeks (a season that comes early or late). Validation, test and the exported
bundle's default calendar use one fixed subset: evenly spaced dates of the series.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from cropcube.calendar import Calendar, parse_date
from cropcube.datasets import SceneData
from cropcube.errors import InputError

_KEYS = {"n_dates", "shift_days", "default_dates"}


@dataclass(frozen=True)
class CalendarSampling:
    """How training draws calendars from a scene's full time series.

    Attributes:
        doy: day of year of each of the scene's dates (T_full,).
        min_dates: fewest dates per batch.
        max_dates: most dates per batch.
        shift_days: the whole calendar moves by a uniform shift in [-shift_days, shift_days].
        default_index: the scene dates of the fixed calendar (validation, test, bundle default).
        n_bands: C.
    """

    doy: npt.NDArray[np.float32]
    min_dates: int
    max_dates: int
    shift_days: int
    default_index: npt.NDArray[np.int64]
    n_bands: int

    @property
    def season(self) -> tuple[int, int]:
        """The series' days widened by the shift, within 1..366."""
        return max(1, int(self.doy.min()) - self.shift_days), min(366, int(self.doy.max()) + self.shift_days)

    def calendar(self, scene: SceneData) -> Calendar:
        """The bundle calendar: T range, season, default dates."""
        start, end = self.season
        dates = scene.spec.dates
        trained_on = (
            f"subsets of {self.min_dates}..{self.max_dates} of the {len(dates)} acquisitions "
            f"{dates[0].isoformat()}..{dates[-1].isoformat()} of {scene.name}, "
            f"shifted by up to {self.shift_days} days"
        )
        default = tuple(dates[i] for i in self.default_index)
        return Calendar(self.min_dates, self.max_dates, start, end, default, trained_on)

    def sample(self, x: Tensor, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
        """One batch's calendar: (B, T_full*C, h, w) -> (B, T*C, h, w) and its doy (T,) float32."""
        t_full = self.doy.size
        t = int(rng.integers(self.min_dates, min(self.max_dates, t_full) + 1))
        index = np.sort(rng.choice(t_full, size=t, replace=False))
        start, end = self.season
        low = max(-self.shift_days, start - int(self.doy[index].min()))
        high = min(self.shift_days, end - int(self.doy[index].max()))
        doy = self.doy[index] + float(rng.integers(low, high + 1))
        c = self.n_bands
        b, _, h, w = x.shape
        sub = x.view(b, t_full, c, h, w)[:, torch.from_numpy(index)].reshape(b, t * c, h, w)
        return sub, torch.from_numpy(doy.astype(np.float32))

    def default_scene(self, scene: SceneData) -> SceneData:
        """The scene restricted to the default calendar's dates (for validation and test)."""
        c = self.n_bands
        channels = (self.default_index[:, None] * c + np.arange(c)[None, :]).reshape(-1)
        spec = scene.spec.with_dates([scene.spec.dates[i] for i in self.default_index])
        return dataclasses.replace(scene, cube=np.ascontiguousarray(scene.cube[channels]), spec=spec)


def calendar_sampling(options: dict[str, Any], scene: SceneData) -> CalendarSampling:
    """Read ``data.calendar``: ``n_dates: [min, max]``, ``shift_days``, ``default_dates``.

    ``default_dates`` is how many (evenly spaced over the series) or a list of the scene's dates.

    Raises:
        InputError: unknown keys, a range the series cannot give, a negative shift.
    """
    where = "data.calendar"
    unknown = set(options) - _KEYS
    if unknown:
        raise InputError(where, f"unknown keys {sorted(unknown)} (known: {sorted(_KEYS)})")
    t_full = scene.spec.n_dates
    default = options.get("default_dates")
    try:
        lo, hi = (int(v) for v in options.get("n_dates", (4, 12)))
        shift = int(options.get("shift_days", 15))
        n_default = len(default) if isinstance(default, list) else int(default or min(hi, t_full))
    except (TypeError, ValueError):
        raise InputError(where, f"{options!r}: n_dates must be [min, max], the others integers") from None
    if not 1 <= lo <= hi or lo > t_full:
        problem = f"[{lo}, {hi}] is not a range of counts within the {t_full} dates"
        raise InputError(f"{where}.n_dates", problem)
    if not 0 <= shift <= 60:
        raise InputError(f"{where}.shift_days", f"{shift} is not in 0..60")
    if not lo <= n_default <= min(hi, t_full):
        raise InputError(f"{where}.default_dates", f"{n_default} is not within n_dates and the series")
    doy = scene.spec.day_of_year().astype(np.float32)
    if isinstance(default, list):  # named dates (e.g. a layout users already have), all in the series
        wanted = [parse_date(v, f"{where}.default_dates") for v in default]
        missing = [d.isoformat() for d in wanted if d not in scene.spec.dates]
        if missing:
            raise InputError(f"{where}.default_dates", f"{missing} are not dates of the scene")
        default_index = np.array(sorted(scene.spec.dates.index(d) for d in wanted), dtype=np.int64)
    else:  # evenly spaced over the series
        default_index = np.unique(np.round(np.linspace(0, t_full - 1, n_default)).astype(np.int64))
    return CalendarSampling(doy, lo, hi, shift, default_index, scene.spec.n_bands)


def per_band(normalisation: dict[str, Any], n_bands: int) -> dict[str, Any]:
    """Per-channel (T*C) statistics pooled per band over the dates: what a calendar-free bundle needs."""
    mean = np.asarray(normalisation["mean"], dtype=np.float64).reshape(-1, n_bands)
    std = np.asarray(normalisation["std"], dtype=np.float64).reshape(-1, n_bands)
    band_mean = mean.mean(axis=0)
    band_std = np.sqrt(np.maximum((std**2 + mean**2).mean(axis=0) - band_mean**2, 1e-8))
    return {**normalisation, "mean": band_mean.tolist(), "std": band_std.tolist(), "per": "band"}
