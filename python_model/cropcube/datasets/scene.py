"""A labelled scene in memory: cube, labels, optional parcel ids, all on one grid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rasterio.transform import Affine

from cropcube.cube_spec import CubeSpec
from cropcube.errors import InputError
from cropcube.readers import Grid, open_cube, read_cube, read_single_band


@dataclass
class SceneData:
    """A cube with per-pixel labels on the same grid.

    Attributes:
        cube: digital numbers (T*C, H, W), date-major.
        labels: class index per pixel (H, W), 0 = no label.
        spec: layout of ``cube``.
        transform: affine geotransform.
        crs: coordinate reference system (WKT or EPSG string).
        parcel_ids: parcel id per pixel (H, W), 0 = none; used for parcel voting.
        name: where the scene came from (for reports and training summaries).
    """

    cube: npt.NDArray[np.uint16]
    labels: npt.NDArray[np.uint8]
    spec: CubeSpec
    transform: Affine
    crs: str
    parcel_ids: npt.NDArray[np.int32] | None = None
    name: str = "scene"

    def __post_init__(self) -> None:
        if self.cube.ndim != 3 or self.cube.shape[0] != self.spec.n_channels:
            raise InputError(
                f"{self.name} cube", f"has shape {self.cube.shape}, expected ({self.spec.n_channels}, H, W)"
            )
        if self.labels.shape != self.cube.shape[1:]:
            raise InputError(
                f"{self.name} labels", f"shape {self.labels.shape} != cube grid {self.cube.shape[1:]}"
            )
        if self.parcel_ids is not None and self.parcel_ids.shape != self.labels.shape:
            raise InputError(
                f"{self.name} parcel ids", f"shape {self.parcel_ids.shape} != {self.labels.shape}"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the grid."""
        return int(self.labels.shape[0]), int(self.labels.shape[1])


def check_cube_values(cube: npt.NDArray[Any], where: str) -> None:
    """Reject NaN/inf and negative digital numbers.

    Raises:
        InputError: naming ``where`` and the number of bad values.
    """
    if np.issubdtype(cube.dtype, np.floating):
        bad = int((~np.isfinite(cube)).sum())
        if bad:
            raise InputError(where, f"{bad} NaN/inf values; digital numbers must be finite")
    if np.issubdtype(cube.dtype, np.signedinteger) or np.issubdtype(cube.dtype, np.floating):
        neg = int((cube < 0).sum())
        if neg:
            raise InputError(where, f"{neg} negative values; digital numbers must be >= 0")


def _read_single_band(path: Path, grid: Grid, what: str) -> npt.NDArray[Any]:
    """The raster's one integer band, on ``grid`` (raw values: codes or ids); see readers.read_single_band."""
    return read_single_band(path, grid, what)


def load_scene(
    cube_path: str | Path,
    labels_path: str | Path,
    parcel_ids_path: str | Path | None = None,
    label_codes: Mapping[int, int] | None = None,
    spec: CubeSpec | None = None,
) -> SceneData:
    """Read a cube GeoTIFF and a label GeoTIFF (and optionally a parcel-id GeoTIFF) on one grid.

    Args:
        cube_path: T*C-band cube with ``YYYY-MM-DD_Bxx`` band descriptions.
        labels_path: single-band label raster (class indices, or codes mapped by ``label_codes``).
        parcel_ids_path: single-band parcel-id raster (0 = none).
        label_codes: mapping raw label value -> class index; values not in it become 0 (ignored).
        spec: expected layout; by default taken from the band descriptions.

    Raises:
        InputError: missing/unreadable files, wrong band count or dates, NaN/inf, grids that differ.
    """
    cube_path, labels_path = Path(cube_path), Path(labels_path)
    info = open_cube(cube_path, spec)
    cube = read_cube(cube_path, spec=spec)
    check_cube_values(cube, str(cube_path))
    raw = _read_single_band(labels_path, info.grid, "label raster")
    labels = _map_labels(raw, label_codes, str(labels_path))
    parcel_ids = None
    if parcel_ids_path is not None:
        parcel_ids = _read_single_band(Path(parcel_ids_path), info.grid, "parcel-id raster").astype(np.int32)
    return SceneData(
        cube=np.ascontiguousarray(cube.astype(np.uint16, copy=False)),
        labels=labels,
        spec=info.spec,
        transform=info.grid.transform,
        crs=info.grid.crs,
        parcel_ids=parcel_ids,
        name=cube_path.name,
    )


def _map_labels(
    raw: npt.NDArray[Any], label_codes: Mapping[int, int] | None, where: str
) -> npt.NDArray[np.uint8]:
    if label_codes is None:
        if raw.min() < 0 or raw.max() > 255:
            raise InputError(where, "label values must be class indices 0..255 (or give label_codes)")
        return raw.astype(np.uint8)
    out = np.zeros(raw.shape, dtype=np.uint8)
    for code, index in label_codes.items():
        out[raw == int(code)] = int(index)
    return out
