"""Typed description of a Sentinel-2 time-series cube: dates, bands, band order, dtype, scaling.

The default is the 2018 reference layout: 7 dates x 4 bands (B02, B03, B04, B08) = 28 uint16 bands,
date-major (channel = 4 * date + band), digital numbers with reflectance = DN * 1e-4 and nodata 0.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.calendar import check_order
from cropcube.errors import InputError

S2_BANDS = ("B02", "B03", "B04", "B08")
REFERENCE_2018_DATES = (
    "2018-01-08",
    "2018-03-19",
    "2018-05-08",
    "2018-06-30",
    "2018-08-06",
    "2018-09-18",
    "2018-11-17",
)
_DESCRIPTION = re.compile(r"^(\d{4}-\d{2}-\d{2})_(B\d{2}A?)$")
_DTYPES = ("uint16", "int16", "float32")


def _parse_date(value: str | dt.date, what: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(what, f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class CubeSpec:
    """Layout of a cube of ``len(dates) * len(bands)`` bands.

    Attributes:
        dates: acquisition dates, strictly increasing.
        bands: Sentinel-2 band names per date, in storage order.
        band_order: ``"date-major"`` (channel = date * n_bands + band), the only order the reference
            and the model use; cubes in other orders are reordered on read.
        dtype: storage dtype of the digital numbers.
        dn_scale: factor from digital number to surface reflectance.
        nodata: DN value meaning "no data" (a pixel is nodata when all its bands equal it).
        crs: coordinate reference system of the grid.
        resolution: pixel size in CRS units.
    """

    dates: tuple[dt.date, ...] = field(
        default_factory=lambda: tuple(dt.date.fromisoformat(d) for d in REFERENCE_2018_DATES)
    )
    bands: tuple[str, ...] = S2_BANDS
    band_order: str = "date-major"
    dtype: str = "uint16"
    dn_scale: float = 1e-4
    nodata: float = 0
    crs: str = "EPSG:32631"
    resolution: float = 10.0

    def __post_init__(self) -> None:
        dates = tuple(_parse_date(d, "cube dates") for d in self.dates)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "bands", tuple(self.bands))
        if not dates:
            raise InputError("cube dates", "at least one date is needed")
        check_order(dates, "cube dates")  # the one rule for dates (cropcube.calendar)
        if not self.bands or len(set(self.bands)) != len(self.bands):
            raise InputError("cube bands", f"{self.bands!r} must be non-empty and unique")
        if self.band_order != "date-major":
            raise InputError("band_order", f"{self.band_order!r}: only 'date-major' is supported")
        if self.dtype not in _DTYPES:
            raise InputError("dtype", f"{self.dtype!r} is not one of {_DTYPES}")
        if not self.dn_scale > 0:
            raise InputError("dn_scale", f"{self.dn_scale} must be positive")
        if not self.resolution > 0:
            raise InputError("resolution", f"{self.resolution} must be positive")

    @property
    def n_dates(self) -> int:
        """Number of dates."""
        return len(self.dates)

    @property
    def n_bands(self) -> int:
        """Number of spectral bands per date."""
        return len(self.bands)

    @property
    def n_channels(self) -> int:
        """Number of stored bands (dates x bands)."""
        return self.n_dates * self.n_bands

    def channel(self, date_index: int, band_index: int) -> int:
        """0-based storage channel of a (date, band) pair."""
        if not 0 <= date_index < self.n_dates or not 0 <= band_index < self.n_bands:
            raise InputError(
                "channel", f"({date_index}, {band_index}) is outside {self.n_dates}x{self.n_bands}"
            )
        return date_index * self.n_bands + band_index

    def band_index(self, band: str) -> int:
        """Index of a band name within a date."""
        try:
            return self.bands.index(band)
        except ValueError:
            raise InputError("band", f"{band!r} is not one of {self.bands}") from None

    def descriptions(self) -> list[str]:
        """GDAL band descriptions ``YYYY-MM-DD_B0x`` in storage order."""
        return [f"{d.isoformat()}_{b}" for d in self.dates for b in self.bands]

    def day_of_year(self) -> npt.NDArray[np.int64]:
        """Day of year (1..366) of each date."""
        return np.array([d.timetuple().tm_yday for d in self.dates], dtype=np.int64)

    def with_dates(self, dates: Sequence[str | dt.date]) -> CubeSpec:
        """The same layout with other dates."""
        return CubeSpec(
            dates=tuple(_parse_date(d, "cube dates") for d in dates),
            bands=self.bands,
            band_order=self.band_order,
            dtype=self.dtype,
            dn_scale=self.dn_scale,
            nodata=self.nodata,
            crs=self.crs,
            resolution=self.resolution,
        )

    @classmethod
    def from_descriptions(
        cls, descriptions: Sequence[str | None], where: str = "cube", **kw: Any
    ) -> CubeSpec:
        """Infer dates and bands from band descriptions ``YYYY-MM-DD_B0x`` (date-major).

        Args:
            descriptions: one description per band, as GDAL reports them.
            where: name of the input, for error messages.
            **kw: other :class:`CubeSpec` fields (dtype, crs, ...).

        Raises:
            InputError: descriptions are missing, malformed, or not a full date-major grid.
        """
        parsed = []
        for i, d in enumerate(descriptions, start=1):
            m = _DESCRIPTION.match(d or "")
            if not m:
                raise InputError(where, f"band {i} description {d!r} is not 'YYYY-MM-DD_Bxx'")
            parsed.append((m.group(1), m.group(2)))
        dates: list[str] = []
        bands: list[str] = []
        for date, band in parsed:
            if not dates or dates[-1] != date:
                dates.append(date)
            if len(dates) == 1:
                bands.append(band)
        spec = cls(dates=tuple(_parse_date(d, where) for d in dates), bands=tuple(bands), **kw)
        expected = [(d.isoformat(), b) for d in spec.dates for b in spec.bands]
        if parsed != expected:
            raise InputError(where, "band descriptions are not a full date-major grid of dates x bands")
        return spec

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (bundle metadata, coverage metadata)."""
        return {
            "dates": [d.isoformat() for d in self.dates],
            "bands": list(self.bands),
            "band_order": self.band_order,
            "dtype": self.dtype,
            "dn_scale": self.dn_scale,
            "nodata": self.nodata,
            "crs": self.crs,
            "resolution": self.resolution,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CubeSpec:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                dates=tuple(_parse_date(x, "cube dates") for x in d["dates"]),
                bands=tuple(d["bands"]),
                band_order=d.get("band_order", "date-major"),
                dtype=d.get("dtype", "uint16"),
                dn_scale=float(d.get("dn_scale", 1e-4)),
                nodata=d.get("nodata", 0),
                crs=d.get("crs", "EPSG:32631"),
                resolution=float(d.get("resolution", 10.0)),
            )
        except KeyError as exc:
            raise InputError("cube spec", f"missing key {exc}") from None


REFERENCE_2018_SPEC = CubeSpec()
"""The 2018 reference layout: 7 dates x (B02, B03, B04, B08), uint16 DN, scale 1e-4, nodata 0."""

REFERENCE_2018_GRID = {
    "crs": "EPSG:32631",
    "resolution": 10.0,
    "origin_e": 674900.0,
    "origin_n": 5853960.0,
    "width": 5490,
    "height": 2170,
}
"""The reference area's grid (upper-left corner E/N, size in pixels)."""
