"""Sun geometry, clouds, cloud shadows, haze and sensor noise for each acquisition date.

Clouds are spatially coherent blobs (a fractal smooth field thresholded so that exactly the asked
fraction of the scene is covered), thick in the middle and thin at the edges; their shadows are the
same blobs displaced away from the sun by cloud height / tan(sun elevation). Haze is additive path
radiance (bluest most) with slight attenuation. Winter dates have a low sun: longer shadows, a darker
and noisier signal.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cropcube.synthetic.noise import SmoothField

F32 = npt.NDArray[np.float32]

LATITUDE = 52.7  # Noordoostpolder
LONGITUDE = 5.8
OVERPASS_UTC_HOURS = 10.8  # Sentinel-2 passes at about 10:30 local solar time
CLOUD = np.array([0.42, 0.41, 0.41, 0.45], dtype=np.float32)
HAZE_PATH = np.array([0.10, 0.075, 0.055, 0.025], dtype=np.float32)
SHADOW_DARKENING = 0.65  # share of direct light a thick cloud removes (diffuse light remains)


def sun_position(date: dt.date) -> tuple[float, float]:
    """Sun (elevation, azimuth) in degrees at the Sentinel-2 overpass over the polder."""
    doy = date.timetuple().tm_yday
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365.0)
    hour_angle = math.radians(15.0 * (OVERPASS_UTC_HOURS + LONGITUDE / 15.0 - 12.0))
    lat = math.radians(LATITUDE)
    sin_elev = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(hour_angle)
    elev = math.asin(sin_elev)
    az = math.atan2(
        math.sin(hour_angle), math.cos(hour_angle) * math.sin(lat) - math.tan(decl) * math.cos(lat)
    )
    return math.degrees(elev), (math.degrees(az) + 180.0) % 360.0


def illumination(elevation_deg: float) -> float:
    """Brightness factor of a low sun (more shade between plants and clods, weaker signal)."""
    rel = math.sin(math.radians(max(elevation_deg, 5.0))) / math.sin(math.radians(55.0))
    return 0.9 + 0.1 * min(rel, 1.0)


@dataclass(frozen=True)
class DateAtmosphere:
    """Atmospheric state of one date on the full grid.

    Attributes:
        cloud: (H, W) cloud opacity 0..1 (None when clear).
        shadow: (H, W) cloud-shadow strength 0..1 (None when none).
        haze: (H, W) haze strength (None when none).
        cloud_brightness: scale of the cloud spectrum on this date.
        illumination: low-sun brightness factor.
        noise_scale: relative sensor-noise level (higher at low sun).
    """

    cloud: F32 | None
    shadow: F32 | None
    haze: F32 | None
    cloud_brightness: float
    illumination: float
    noise_scale: float


def _shift(a: F32, dy: int, dx: int) -> F32:
    """``a`` moved by (dy, dx) pixels, zero-filled."""
    out = np.zeros_like(a)
    h, w = a.shape
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src = a[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def date_atmosphere(
    rng: np.random.Generator,
    date: dt.date,
    height: int,
    width: int,
    cloud_fraction: float,
    haze: float,
    shadow: bool,
    resolution: float = 10.0,
) -> DateAtmosphere:
    """Draw clouds, shadows and haze of one date.

    Args:
        rng: random generator.
        date: acquisition date (sets the sun position).
        height: grid rows.
        width: grid columns.
        cloud_fraction: share of the grid under cloud (0..1), met exactly up to ties.
        haze: haze strength (0 = none, 1 = heavy).
        shadow: cast cloud shadows.
        resolution: pixel size in metres.

    Returns:
        The date's atmosphere.
    """
    elev, azimuth = sun_position(date)
    illum = illumination(elev)
    noise_scale = 1.0 / math.sqrt(illum)
    cloud = shadow_map = haze_map = None
    brightness = float(rng.uniform(0.8, 1.2))
    if cloud_fraction > 0:
        field = SmoothField(rng, height, width, cell=80.0, octaves=4).full()
        if cloud_fraction >= 1:
            threshold = np.float32(-np.inf)
        else:
            threshold = np.float32(np.quantile(field, 1.0 - cloud_fraction))
        thick = np.clip((field - threshold) / 0.8, 0.0, 1.0) ** 0.6
        cloud = np.where(field > threshold, np.maximum(thick, 0.02), 0.0).astype(np.float32)
        cloud_height = float(rng.uniform(800.0, 2500.0))  # drawn always: --no-shadow keeps the clouds
        if shadow:
            reach = cloud_height / math.tan(math.radians(max(elev, 5.0))) / resolution
            away = math.radians(azimuth + 180.0)
            dx = round(reach * math.sin(away))
            dy = -round(reach * math.cos(away))  # rows grow southwards
            shadow_map = _shift(cloud, dy, dx) * (1.0 - cloud)
    if haze > 0:
        haze_field = SmoothField(rng, height, width, cell=150.0, octaves=2).full()
        haze_map = (haze * np.clip(1.0 + 0.35 * haze_field, 0.2, 2.0)).astype(np.float32)
    return DateAtmosphere(
        cloud=cloud,
        shadow=shadow_map,
        haze=haze_map,
        cloud_brightness=brightness,
        illumination=illum,
        noise_scale=noise_scale,
    )


def apply_atmosphere(
    surface: F32, atm: DateAtmosphere, r0: int, r1: int, cloud_texture: F32 | None = None
) -> F32:
    """Apply shadow, cloud and haze of rows ``r0:r1`` to a (4, rows, W) surface reflectance."""
    out = surface * np.float32(atm.illumination)
    if atm.shadow is not None:
        out *= 1.0 - SHADOW_DARKENING * atm.shadow[r0:r1][None]
    if atm.cloud is not None:
        op = atm.cloud[r0:r1][None]
        spec = (CLOUD * np.float32(atm.cloud_brightness))[:, None, None]
        if cloud_texture is not None:
            spec = spec * (1.0 + 0.08 * cloud_texture[None])
        out = out * (1.0 - op) + op * spec
    if atm.haze is not None:
        h = atm.haze[r0:r1][None]
        out = out * (1.0 - 0.25 * h) + h * HAZE_PATH[:, None, None]
    return out.astype(np.float32, copy=False)


def cloud_truth(atm: DateAtmosphere, height: int, width: int) -> npt.NDArray[np.bool_]:
    """Where clouds were put, and shadows strong enough to matter (> 10 % darkening)."""
    mask = np.zeros((height, width), dtype=bool)
    if atm.cloud is not None:
        mask |= atm.cloud > 0
    if atm.shadow is not None:
        mask |= atm.shadow * SHADOW_DARKENING > 0.1
    return mask
