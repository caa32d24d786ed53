"""The crop calendar: per-class phenology and canopy reflectance, read from package data.

The table (``cropcube/resources/crop_calendar.csv``) has one row per BRP class and documents its
sources in its header and in ``docs/synthetic.md``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from cropcube.classes import ClassTable
from cropcube.errors import InputError

POST_HARVEST_STATES = ("bare", "residue", "cover", "regrow", "none")
_NUMERIC = (
    "sow",
    "emerge",
    "peak",
    "senesce",
    "harvest",
    "peak_cover",
    "base_cover",
    "dry_fraction",
    "cuts",
    "first_cut",
    "cut_interval",
    "jitter_days",
    "c_b02",
    "c_b03",
    "c_b04",
    "c_b08",
)


@dataclass(frozen=True)
class CropCalendar:
    """Phenology and canopy reflectance of one crop class (see the table header for the columns).

    Attributes:
        gewascode: BRP crop code.
        name_en: English name.
        sow: sowing/planting day of year (negative = previous autumn).
        emerge: emergence or leaf-out day.
        peak: day full canopy is reached.
        senesce: day senescence (or haulm killing, topping, leaf colouring) starts.
        harvest: harvest, lifting or leaf-fall day.
        peak_cover: green cover fraction at peak (0 = no seasonal crop, e.g. permanent grass).
        base_cover: year-round green cover (grass sward, understorey, evergreens).
        dry_fraction: share of the senesced canopy left standing as dry matter until harvest.
        post: state after harvest, one of :data:`POST_HARVEST_STATES`.
        cuts: number of mowing cuts (grass, alfalfa, clover).
        first_cut: day of the first cut.
        cut_interval: days between cuts.
        jitter_days: standard deviation of the per-parcel shift of all dates.
        canopy: reflectance of a full green canopy in B02, B03, B04, B08.
        source: source keys (see ``docs/synthetic.md``).
    """

    gewascode: int
    name_en: str
    sow: float
    emerge: float
    peak: float
    senesce: float
    harvest: float
    peak_cover: float
    base_cover: float
    dry_fraction: float
    post: str
    cuts: int
    first_cut: float
    cut_interval: float
    jitter_days: float
    canopy: tuple[float, float, float, float]
    source: str

    @property
    def has_season(self) -> bool:
        """Whether the class has a seasonal canopy (an arable crop, tree leaves)."""
        return self.peak_cover > 0


def _check_row(where: str, row: CropCalendar) -> None:
    what = f"{where}: gewascode {row.gewascode}"
    if row.post not in POST_HARVEST_STATES:
        raise InputError(what, f"post {row.post!r} is not one of {POST_HARVEST_STATES}")
    if not 0 <= row.peak_cover <= 1 or not 0 <= row.base_cover <= 1 or not 0 <= row.dry_fraction <= 1:
        raise InputError(what, "peak_cover, base_cover and dry_fraction must lie in 0..1")
    if row.has_season and not row.emerge < row.peak <= row.senesce < row.harvest:
        raise InputError(what, "dates must satisfy emerge < peak <= senesce < harvest")
    if row.cuts > 1 and row.cut_interval <= 0:
        raise InputError(what, "cut_interval must be positive when there is more than one cut")
    if not all(0 < c < 1 for c in row.canopy):
        raise InputError(what, "canopy reflectances must lie in (0, 1)")


def _parse(text: str, where: str) -> dict[int, CropCalendar]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    rows = list(csv.DictReader(lines))
    need = {"gewascode", "name_en", "post", "source", *_NUMERIC}
    if not rows or not need <= set(rows[0]):
        raise InputError(where, f"crop calendar needs columns {sorted(need)}")
    out: dict[int, CropCalendar] = {}
    for i, r in enumerate(rows, start=2):
        try:
            v = {k: float(r[k]) for k in _NUMERIC}
            row = CropCalendar(
                gewascode=int(r["gewascode"]),
                name_en=r["name_en"],
                sow=v["sow"],
                emerge=v["emerge"],
                peak=v["peak"],
                senesce=v["senesce"],
                harvest=v["harvest"],
                peak_cover=v["peak_cover"],
                base_cover=v["base_cover"],
                dry_fraction=v["dry_fraction"],
                post=r["post"],
                cuts=int(v["cuts"]),
                first_cut=v["first_cut"],
                cut_interval=v["cut_interval"],
                jitter_days=v["jitter_days"],
                canopy=(v["c_b02"], v["c_b03"], v["c_b04"], v["c_b08"]),
                source=r["source"],
            )
        except (TypeError, ValueError) as exc:
            raise InputError(where, f"data row {i}: {exc}") from exc
        _check_row(where, row)
        if row.gewascode in out:
            raise InputError(where, f"gewascode {row.gewascode} appears twice")
        out[row.gewascode] = row
    return out


@lru_cache(maxsize=4)
def _cached(path: str | None) -> dict[int, CropCalendar]:
    if path is None:
        text = resources.files("cropcube").joinpath("resources/crop_calendar.csv").read_text("utf-8")
        return _parse(text, "cropcube/resources/crop_calendar.csv")
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read crop calendar: {exc.strerror}") from exc
    return _parse(text, path)


def load_crop_calendar(table: ClassTable, path: str | Path | None = None) -> list[CropCalendar]:
    """Load the crop calendar, one entry per class of ``table`` in class-index order.

    Args:
        table: the class table whose classes need a calendar.
        path: an alternative CSV with the same columns (default: the packaged table).

    Returns:
        ``calendars[k]`` is the calendar of class index ``k + 1``.

    Raises:
        InputError: the file is unreadable, malformed, or lacks a class of ``table``.
    """
    by_code = _cached(str(path) if path else None)
    missing = [c.gewascode for c in table if c.gewascode not in by_code]
    if missing:
        raise InputError(str(path or "crop calendar"), f"no row for gewascodes {missing}")
    return [by_code[c.gewascode] for c in table]
