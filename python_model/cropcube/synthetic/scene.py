"""Scene configuration and generation: layout, classes, phenology, rendering, atmosphere, noise.

Every random component draws from its own child of ``numpy.random.SeedSequence(seed)``, so the same
seed gives the same scene bit for bit, and turning one knob (clouds, noise) leaves the others alone.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from rasterio.transform import Affine
from shapely.geometry import Polygon, box

from cropcube.classes import ClassTable, load_class_table
from cropcube.cube_spec import REFERENCE_2018_SPEC, CubeSpec
from cropcube.errors import InputError
from cropcube.synthetic.atmosphere import DateAtmosphere, apply_atmosphere, cloud_truth, date_atmosphere
from cropcube.synthetic.calendar import load_crop_calendar
from cropcube.synthetic.noise import SmoothField
from cropcube.synthetic.parcels import (
    PARCEL_SURFACE_OFFSET,
    PolderLayout,
    assign_classes,
    generate_layout,
    paint_surfaces,
)
from cropcube.synthetic.phenology import parcel_phenology
from cropcube.synthetic.spectra import DRY_MATTER, RIPENING, SurfaceTable, surface_table

_STRIP_ROWS = 128  # rows of the 10 m grid rendered at once (bounds memory; fixed for determinism)
_MAX_SIDE = 20000


def _per_date(value: float | Sequence[float], n_dates: int, what: str) -> tuple[float, ...]:
    values = [float(value)] * n_dates if isinstance(value, int | float) else [float(v) for v in value]
    if len(values) != n_dates:
        raise InputError(what, f"{len(values)} values for {n_dates} dates")
    for v in values:
        if not 0.0 <= v <= 1.0:
            raise InputError(what, f"{v} is not in 0..1")
    return tuple(values)


@dataclass(frozen=True)
class SceneConfig:
    """What to generate.

    Attributes:
        seed: random seed (same seed, same scene, byte for byte).
        height: rows (10 m pixels).
        width: columns.
        dates: acquisition dates (4 bands each: B02, B03, B04, B08); default the 7 reference dates.
        cloud_fraction: share of the scene under cloud, one value or one per date (0..1).
        haze: haze strength, one value or one per date (0 = none, 1 = heavy).
        shadow: cast cloud shadows.
        phenology_shift_days: shift of every crop calendar (positive = later spring).
        drought: summer drought 0..1 (1 = like July-August 2018: brown grassland).
        noise: sensor-noise level (1 = Sentinel-2-like, 0 = none).
        origin_e: easting of the upper-left corner (EPSG:32631).
        origin_n: northing of the upper-left corner.
        supersample: sub-pixels per pixel side when rendering (mixed pixels at field edges).
    """

    seed: int = 0
    height: int = 512
    width: int = 512
    dates: tuple[dt.date, ...] = field(default_factory=lambda: REFERENCE_2018_SPEC.dates)
    cloud_fraction: float | tuple[float, ...] = 0.0
    haze: float | tuple[float, ...] = 0.0
    shadow: bool = True
    phenology_shift_days: float = 0.0
    drought: float = 0.0
    noise: float = 1.0
    origin_e: float = 674900.0  # the reference grid's upper-left corner (REFERENCE_2018_GRID)
    origin_n: float = 5853960.0
    supersample: int = 2

    def __post_init__(self) -> None:
        spec = REFERENCE_2018_SPEC.with_dates(tuple(self.dates))  # validates and parses the dates
        object.__setattr__(self, "dates", spec.dates)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError("seed", f"{self.seed!r} is not a non-negative integer")
        for name in ("height", "width"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 8 <= v <= _MAX_SIDE:
                raise InputError(name, f"{v!r} is not an integer in 8..{_MAX_SIDE}")
        object.__setattr__(self, "cloud_fraction", self._normalise("cloud_fraction"))
        object.__setattr__(self, "haze", self._normalise("haze"))
        if not math.isfinite(self.noise) or self.noise < 0:
            raise InputError("noise", f"{self.noise} must be a finite number >= 0")
        if not math.isfinite(self.phenology_shift_days) or abs(self.phenology_shift_days) > 120:
            raise InputError("phenology_shift_days", f"{self.phenology_shift_days} is not within +-120 days")
        if not 0.0 <= self.drought <= 1.0:
            raise InputError("drought", f"{self.drought} is not in 0..1")
        if not (math.isfinite(self.origin_e) and math.isfinite(self.origin_n)):
            raise InputError("origin", f"({self.origin_e}, {self.origin_n}) is not finite")
        if self.supersample not in (1, 2, 3, 4):
            raise InputError("supersample", f"{self.supersample!r} is not 1, 2, 3 or 4")

    def _normalise(self, name: str) -> float | tuple[float, ...]:
        value = getattr(self, name)
        values = _per_date(value, len(self.dates), name)
        return values[0] if isinstance(value, int | float) else values

    def per_date(self, name: str) -> tuple[float, ...]:
        """``cloud_fraction`` or ``haze`` as one value per date."""
        return _per_date(getattr(self, name), len(self.dates), name)

    @property
    def spec(self) -> CubeSpec:
        """The cube layout of the scene."""
        return REFERENCE_2018_SPEC.with_dates(self.dates)

    @property
    def transform(self) -> Affine:
        """Geotransform of the 10 m grid."""
        return Affine(10.0, 0.0, self.origin_e, 0.0, -10.0, self.origin_n)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["dates"] = [x.isoformat() for x in self.dates]
        for k in ("cloud_fraction", "haze"):
            d[k] = list(d[k]) if isinstance(d[k], tuple) else d[k]
        return d


class ParcelRecord(NamedTuple):
    """One generated parcel: id in the parcel-id raster, class, BRP code, outline in EPSG:32631."""

    parcel_id: int
    class_index: int
    gewascode: int
    geometry: Polygon


@dataclass
class Scene:
    """A generated scene.

    Attributes:
        cube: (T*4, H, W) uint16 date-major digital numbers (reflectance = DN * 1e-4, never 0).
        labels: (H, W) uint8 class index (0 = no parcel: ditches, roads, yards).
        parcel_ids: (H, W) int32 parcel id (0 = none).
        transform: geotransform of the grid.
        crs: ``"EPSG:32631"``.
        spec: cube layout.
        parcels: the parcels.
        cloud_mask: (T, H, W) where clouds and cloud shadows were put.
        config: what was asked for.
    """

    cube: npt.NDArray[np.uint16]
    labels: npt.NDArray[np.uint8]
    parcel_ids: npt.NDArray[np.int32]
    transform: Affine
    crs: str
    spec: CubeSpec
    parcels: list[ParcelRecord]
    cloud_mask: npt.NDArray[np.bool_]
    config: SceneConfig

    def class_pixel_counts(self) -> dict[int, int]:
        """Labelled pixels per class index (classes present only)."""
        idx, counts = np.unique(self.labels[self.labels > 0], return_counts=True)
        return {int(i): int(c) for i, c in zip(idx, counts, strict=True)}


def season_doy(dates: Sequence[dt.date]) -> npt.NDArray[np.float64]:
    """Day of year of each date, counted from 1 January of the season's (median date's) year."""
    year = sorted(dates)[len(dates) // 2].year
    start = dt.date(year, 1, 1)
    return np.array([(d - start).days + 1 for d in dates], dtype=np.float64)


@dataclass(frozen=True)
class _Strip:
    """Date-independent inputs of one strip on the sub-pixel grid (per band: contiguous arrays)."""

    surf: npt.NDArray[np.int32]
    canopy: tuple[npt.NDArray[np.float32], ...]
    under: tuple[npt.NDArray[np.float32], ...]
    het: npt.NDArray[np.float32]
    tex_green: npt.NDArray[np.float32]
    tex_soil: npt.NDArray[np.float32]
    s: int


def _strip_inputs(
    layout: PolderLayout,
    table: SurfaceTable,
    tex_green: SmoothField,
    tex_soil: SmoothField,
    r0: int,
    r1: int,
    s: int,
) -> _Strip:
    surf = paint_surfaces(layout, 10.0 / s, r0 * s, r1 * s, tex_green.width * s)
    tsoil = tex_soil.rows(r0 * s, r1 * s, s)
    soil_texture = 1.0 + 0.05 * tsoil
    return _Strip(
        surf=surf,
        canopy=tuple(np.ascontiguousarray(table.canopy[:, b])[surf] for b in range(4)),
        under=tuple(np.ascontiguousarray(table.under[:, b])[surf] * soil_texture for b in range(4)),
        het=table.heterogeneity[surf],
        tex_green=tex_green.rows(r0 * s, r1 * s, s),
        tex_soil=tsoil,
        s=s,
    )


def _block_mean(a: npt.NDArray[np.float32], s: int) -> npt.NDArray[np.float32]:
    """Mean over s x s blocks (summing strided views is much faster than a reshaped mean)."""
    if s == 1:
        return a
    acc = a[0::s, 0::s].copy()
    for i in range(s):
        for j in range(s):
            if i or j:
                acc += a[i::s, j::s]
    acc *= np.float32(1.0 / (s * s))
    return acc


def _render_strip(strip: _Strip, table: SurfaceTable, date_index: int) -> npt.NDArray[np.float32]:
    """Surface reflectance (4, rows, W) of one date on one strip, averaged from sub-pixels."""
    surf = strip.surf
    g0 = table.green[date_index][surf]
    green = np.clip(g0 + strip.het * (0.25 * g0 * (1.0 - g0) + 0.03 * g0) * strip.tex_green, 0.0, 0.99)
    dry = np.clip(table.dry[date_index][surf] * (1.0 + 0.15 * strip.het * strip.tex_soil), 0.0, None)
    dry = np.minimum(dry, 1.0 - green)
    bare = (1.0 - green - dry) * table.under_factor[date_index][surf]
    scale = table.canopy_scale[date_index]
    ripe = table.ripeness[date_index][surf]
    bands = []
    for b in range(4):
        refl = green * (strip.canopy[b] * scale[b])
        refl += dry * (RIPENING[b] * scale[b] + (DRY_MATTER[b] - RIPENING[b] * scale[b]) * ripe)
        refl += bare * strip.under[b]
        bands.append(_block_mean(refl, strip.s))
    return np.stack(bands)


def _quantise(refl: npt.NDArray[np.float32]) -> npt.NDArray[np.uint16]:
    # DN 0 is nodata: real reflectance never rounds to it.
    return np.clip(np.rint(refl * 1e4), 1, 65535).astype(np.uint16)


def _parcel_records(
    layout: PolderLayout, classes: npt.NDArray[np.int64], table: ClassTable, cfg: SceneConfig
) -> list[ParcelRecord]:
    out = []
    for i, (x0, y0, x1, y1) in enumerate(layout.parcels.tolist()):
        k = int(classes[i])
        geom = box(cfg.origin_e + x0, cfg.origin_n - y1, cfg.origin_e + x1, cfg.origin_n - y0)
        out.append(ParcelRecord(i + 1, k, table.by_index(k).gewascode, geom))
    return out


def generate_scene(cfg: SceneConfig, table: ClassTable | None = None) -> Scene:
    """Generate a synthetic Sentinel-2 scene of the Noordoostpolder with its BRP-like truth.

    Args:
        cfg: what to generate.
        table: class table (default: the packaged 76 BRP classes).

    Returns:
        The scene (all arrays in memory).
    """
    table = table or load_class_table()
    calendars = load_crop_calendar(table)
    rngs = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(cfg.seed).spawn(6)]
    rng_layout, rng_class, rng_phen, rng_tex, rng_atm, rng_noise = rngs
    h, w, s = cfg.height, cfg.width, cfg.supersample
    n_dates = len(cfg.dates)

    layout = generate_layout(rng_layout, w * 10.0, h * 10.0)
    weights = np.array([c.pixels_2018 for c in table], dtype=np.float64)
    classes = assign_classes(rng_class, layout.parcel_areas(), weights)
    doy = season_doy(cfg.dates)
    phen = parcel_phenology(rng_phen, calendars, classes, doy, cfg.phenology_shift_days, cfg.drought)
    table_s = surface_table(phen, doy)

    surf10 = paint_surfaces(layout, 10.0, 0, h, w)
    parcel_ids = np.where(surf10 > PARCEL_SURFACE_OFFSET, surf10 - PARCEL_SURFACE_OFFSET, 0).astype(np.int32)
    class_lut = np.concatenate([[0], classes]).astype(np.uint8)
    labels = class_lut[parcel_ids]

    tex_green = SmoothField(rng_tex, h, w, cell=5.0, octaves=2)
    tex_soil = SmoothField(rng_tex, h, w, cell=12.0, octaves=2)
    tex_cloud = SmoothField(rng_tex, h, w, cell=20.0, octaves=2)
    clouds, hazes = cfg.per_date("cloud_fraction"), cfg.per_date("haze")
    atms: list[DateAtmosphere] = [
        date_atmosphere(rng_atm, d, h, w, clouds[t], hazes[t], cfg.shadow) for t, d in enumerate(cfg.dates)
    ]

    cube = np.empty((n_dates * 4, h, w), dtype=np.uint16)
    for r0 in range(0, h, _STRIP_ROWS):
        r1 = min(r0 + _STRIP_ROWS, h)
        strip = _strip_inputs(layout, table_s, tex_green, tex_soil, r0, r1, s)
        tcloud = tex_cloud.rows(r0, r1)
        for t in range(n_dates):
            refl = _render_strip(strip, table_s, t)
            refl = apply_atmosphere(refl, atms[t], r0, r1, tcloud)
            if cfg.noise > 0:
                sd = np.float32(cfg.noise * atms[t].noise_scale) * (0.003 + 0.015 * refl)
                refl += sd * rng_noise.standard_normal(refl.shape, dtype=np.float32)
            cube[4 * t : 4 * t + 4, r0:r1] = _quantise(refl)

    cloud_mask = np.stack([cloud_truth(a, h, w) for a in atms])
    return Scene(
        cube=cube,
        labels=labels,
        parcel_ids=parcel_ids,
        transform=cfg.transform,
        crs="EPSG:32631",
        spec=cfg.spec,
        parcels=_parcel_records(layout, classes, table, cfg),
        cloud_mask=cloud_mask,
        config=cfg,
    )
