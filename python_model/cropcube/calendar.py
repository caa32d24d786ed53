"""Acquisition dates -> day of year, and every check on them: the one place dates are validated.

Dates reach a model from three sources, all turned into day-of-year values here:

* GeoTIFF band descriptions ``YYYY-MM-DD_Bxx`` (:func:`dates_from_descriptions`);
* the time axis of a 3-D coverage (:func:`dates_from_time_axis`);
* an explicit ``--dates D1,D2,...`` (:func:`parse_dates`).

A bundle of format 2 declares which calendars it accepts (:class:`Calendar`: a range of date counts
T, a season of days of year, and a default calendar for callers that know no dates);
:meth:`Calendar.doy_for` checks a cube's dates against it. Day of year counts from 1 January of the
first date's year, so a calendar running past 31 December keeps increasing (and falls outside any
season that ends in the same year: an error, never a wrap-around).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError

if TYPE_CHECKING:
    from cropcube.bundle.metadata import BundleMetadata

_DESCRIPTION = re.compile(r"^(\d{4}-\d{2}-\d{2})_(B\d{2}A?)$")
_TIME_COORD = re.compile(r'^"?(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?)?"?$')

Doy = npt.NDArray[np.float32]


def parse_date(text: str | dt.date, what: str) -> dt.date:
    """One ISO date ``YYYY-MM-DD``; ``what`` names the input in the error."""
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise InputError(what, f"{str(text)!r} is not a date YYYY-MM-DD") from None


def check_order(dates: Sequence[dt.date], what: str) -> tuple[dt.date, ...]:
    """The dates as a tuple when there is at least one and they strictly increase.

    Raises:
        InputError: no date, a date given twice, or dates out of order (each named).
    """
    if not dates:
        raise InputError(what, "no date given; expected D1,D2,... as YYYY-MM-DD")
    for a, b in itertools.pairwise(dates):
        if a == b:
            raise InputError(what, f"{a.isoformat()} appears twice: dates must be strictly increasing")
        if b < a:
            raise InputError(
                what, f"{b.isoformat()} comes after {a.isoformat()}: dates must be strictly increasing"
            )
    return tuple(dates)


def parse_dates(text: str, what: str = "--dates") -> tuple[dt.date, ...]:
    """``D1,D2,...`` -> checked dates (see :func:`check_order`)."""
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise InputError(what, "no date given; expected D1,D2,... as YYYY-MM-DD")
    return check_order([parse_date(p, what) for p in parts], what)


def day_of_year(dates: Sequence[dt.date]) -> Doy:
    """Day of year of each date, counted from 1 January of the first date's year (1 = 1 January)."""
    if not dates:
        return np.zeros(0, dtype=np.float32)
    jan1 = dt.date(dates[0].year, 1, 1)
    return np.array([(d - jan1).days + 1 for d in dates], dtype=np.float32)


def dates_from_descriptions(descriptions: Sequence[str | None], where: str) -> tuple[dt.date, ...]:
    """Distinct dates of band descriptions ``YYYY-MM-DD_Bxx``, in file order, checked for order.

    Raises:
        InputError: a band description without a date (named with its band number), or dates that
            repeat out of sequence or decrease.
    """
    dates: list[dt.date] = []
    for i, text in enumerate(descriptions, start=1):
        m = _DESCRIPTION.match(text or "")
        if not m:
            raise InputError(
                where,
                f"band {i} description {text!r} has no date (expected 'YYYY-MM-DD_Bxx'); "
                "name the cube's dates with --dates",
            )
        date = parse_date(m.group(1), where)
        if not dates or dates[-1] != date:
            dates.append(date)
    return check_order(dates, f"{where} band descriptions")


def dates_from_time_axis(coordinates: Sequence[Any], where: str) -> tuple[dt.date, ...]:
    """Dates of a coverage's time-axis coordinates (ISO dates or date-times, quoted or not).

    Raises:
        InputError: a coordinate that is not a date (e.g. a plain index or number), or dates that
            repeat or decrease.
    """
    dates: list[dt.date] = []
    for i, value in enumerate(coordinates):
        if isinstance(value, dt.datetime):
            dates.append(value.date())
            continue
        if isinstance(value, dt.date):
            dates.append(value)
            continue
        m = _TIME_COORD.match(str(value).strip())
        date = None
        if m:
            try:
                date = dt.date.fromisoformat(m.group(1))
            except ValueError:
                date = None
        if date is None:
            raise InputError(
                where,
                f"time axis coordinate {i} ({str(value)!r}) is not a date; the time axis must carry "
                'ISO dates (e.g. "2019-05-01T00:00:00Z")',
            )
        dates.append(date)
    return check_order(dates, f"{where} time axis")


@dataclass(frozen=True)
class Calendar:
    """The calendars a format-2 bundle accepts (the metadata's ``"calendar"`` block).

    Attributes:
        min_dates: fewest dates T a cube may have.
        max_dates: most dates T.
        season_start: first accepted day of year (1..366).
        season_end: last accepted day of year.
        default_dates: the calendar used when a caller knows no dates (UDF without dates, a cube
            without dated band descriptions); also the input layout's dates.
        trained_on: free text: the calendars and seasons the weights were trained on.
    """

    min_dates: int
    max_dates: int
    season_start: int
    season_end: int
    default_dates: tuple[dt.date, ...]
    trained_on: str = ""

    def __post_init__(self) -> None:
        where = "bundle calendar"
        object.__setattr__(self, "default_dates", check_order(tuple(self.default_dates), where))
        if not 1 <= self.min_dates <= self.max_dates:
            raise InputError(
                where, f"n_dates [{self.min_dates}, {self.max_dates}] is not a range of counts >= 1"
            )
        if not 1 <= self.season_start <= self.season_end <= 366:
            raise InputError(
                where, f"season_doy [{self.season_start}, {self.season_end}] is not a range within 1..366"
            )
        self.check_doy(self.default_doy, "bundle calendar default_dates")

    @property
    def default_doy(self) -> Doy:
        """Day of year of the default dates."""
        return day_of_year(self.default_dates)

    def to_dict(self) -> dict[str, Any]:
        """The metadata's ``"calendar"`` block."""
        return {
            "n_dates": [self.min_dates, self.max_dates],
            "season_doy": [self.season_start, self.season_end],
            "default_dates": [d.isoformat() for d in self.default_dates],
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "bundle calendar") -> Calendar:
        """Inverse of :meth:`to_dict`.

        Raises:
            InputError: missing keys or values of the wrong kind.
        """
        try:
            lo, hi = (int(v) for v in d["n_dates"])
            start, end = (int(v) for v in d["season_doy"])
            dates = tuple(parse_date(v, where) for v in d["default_dates"])
            return cls(lo, hi, start, end, dates, str(d.get("trained_on", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(where, f"calendar block is incomplete or malformed: {exc!r}") from None

    def describe(self) -> str:
        """One line for messages and model cards."""
        return (
            f"{self.min_dates}..{self.max_dates} dates within day of year {self.season_start}.."
            f"{self.season_end}"
        )

    def check_count(self, n_dates: int, what: str) -> None:
        """Raise unless T = ``n_dates`` is within the declared range."""
        if not self.min_dates <= n_dates <= self.max_dates:
            raise InputError(
                what,
                f"{n_dates} dates is outside the bundle's range of {self.min_dates}..{self.max_dates} dates",
            )

    def check_doy(self, doy: Any, what: str) -> Doy:
        """Day-of-year values (1-D) checked against the calendar: finite, increasing, in season, T in range.

        Raises:
            InputError: naming ``what`` and the first offending value.
        """
        arr = np.asarray(doy, dtype=np.float64)
        if arr.ndim != 1:
            raise InputError(what, f"day-of-year values must be 1-D, got shape {arr.shape}")
        self.check_count(arr.size, what)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise InputError(what, f"day of year {arr[bad[0]]} (date {bad[0] + 1}) is not a finite number")
        steps = np.flatnonzero(np.diff(arr) <= 0)
        if steps.size:
            i = int(steps[0])
            raise InputError(
                what,
                f"day of year {arr[i + 1]:g} (date {i + 2}) does not come after {arr[i]:g} (date {i + 1}): "
                "dates must be strictly increasing",
            )
        out = np.flatnonzero((arr < self.season_start) | (arr > self.season_end))
        if out.size:
            i = int(out[0])
            raise InputError(
                what,
                f"day of year {arr[i]:g} (date {i + 1}) is outside the bundle's season "
                f"{self.season_start}..{self.season_end}",
            )
        return arr.astype(np.float32)

    def doy_for(self, dates: Sequence[dt.date] | None, n_dates: int, what: str) -> Doy:
        """Day of year of a cube's dates (None = the default calendar) for a cube of ``n_dates`` dates.

        Raises:
            InputError: dates of the wrong count for the cube, T outside the range, dates out of
                order or outside the season; without dates, a cube whose T differs from the default.
        """
        if dates is None:
            if n_dates != len(self.default_dates):
                raise InputError(
                    what,
                    f"the cube has {n_dates} dates but no dates are known for it, and the bundle's "
                    f"default calendar has {len(self.default_dates)}: give the cube's dates "
                    "(--dates, dated band descriptions or a time axis)",
                )
            return self.default_doy
        if len(dates) != n_dates:
            raise InputError(what, f"{len(dates)} dates given, but the cube has {n_dates} dates")
        self.check_count(n_dates, what)
        doy = self.check_doy(day_of_year(check_order(dates, what)), what)
        return doy


def fixed_calendar(dates: Sequence[dt.date]) -> Calendar:
    """The calendar of a format-1 bundle: exactly its own dates (for messages and checks)."""
    doy = day_of_year(dates)
    n = len(dates)
    return Calendar(n, n, int(doy.min()), int(doy.max()), tuple(dates), "fixed calendar (bundle format 1)")


def format_dates(dates: Sequence[dt.date]) -> str:
    """``2019-05-01, 2019-06-10`` for messages."""
    return ", ".join(d.isoformat() for d in dates)


@dataclass(frozen=True)
class CubeDates:
    """The day of year a model gets for one cube, and what the user must be told about it.

    Attributes:
        doy: day of year per date for the module, or None for a format-1 bundle (its own fixed
            calendar, as before format 2).
        warning: a message for the log (dates assumed or ignored), or None.
    """

    doy: Doy | None
    warning: str | None = None


def cube_dates(
    meta: BundleMetadata,
    n_channels: int,
    found: Sequence[dt.date] | None,
    given: Sequence[dt.date] | None,
    where: str,
    descriptions: Sequence[str | None] = (),
) -> CubeDates:
    """Which day of year each date of a cube is, for a bundle: the one rule every path uses.

    Args:
        meta: the bundle's metadata.
        n_channels: the cube's band count (T x C).
        found: dates the cube itself carries (band descriptions, a time axis), or None.
        given: dates the user gave (``--dates``), or None; they must agree with ``found``.
        where: the cube, for messages.
        descriptions: the cube's band descriptions when ``found`` is None (to name a band whose
            description has no date).

    Raises:
        InputError: a band count that is not T x C, ``--dates`` of the wrong length or disagreeing
            with the cube's own dates, band descriptions without dates; for a format-2 bundle T outside
            its range or dates out of order or outside its season.
    """
    n_bands = meta.spec.n_bands
    if n_channels % n_bands:
        raise InputError(where, f"{n_channels} bands is not a whole number of dates of {n_bands} bands")
    t = n_channels // n_bands
    if given is not None:
        given = check_order(list(given), "--dates")
        if len(given) != t:
            raise InputError(
                "--dates", f"{len(given)} dates given, but {where} has {t} dates ({n_channels} bands)"
            )
        if found is not None and tuple(found) != tuple(given):
            raise InputError(
                "--dates",
                f"{format_dates(given)} differ from the dates {format_dates(found)} that {where} carries",
            )
    dates = tuple(given) if given is not None else (tuple(found) if found is not None else None)
    calendar = meta.calendar
    if calendar is None:  # format 1: the bundle's own calendar, whatever the cube's dates
        if dates is not None and dates != tuple(meta.spec.dates):
            return CubeDates(
                None,
                f"{where}: dates {format_dates(dates)} differ from the model's training dates "
                f"{format_dates(meta.spec.dates)} (a fixed-calendar bundle, format 1: it is given "
                "its own dates)",
            )
        return CubeDates(None)
    if dates is None:
        if any(descriptions):
            dates_from_descriptions(descriptions, where)  # raises, naming the band without a date
        doy = calendar.doy_for(None, t, where)
        return CubeDates(
            doy,
            f"{where}: no dates known (no dated band descriptions, no --dates): assuming the bundle's "
            f"default calendar {format_dates(calendar.default_dates)}",
        )
    return CubeDates(calendar.doy_for(dates, t, where))
