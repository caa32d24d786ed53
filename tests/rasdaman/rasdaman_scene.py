"""Shared data of the rasdaman tests: a tiny grid and cube, a toy classifier."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.bundle.metadata import BundleMetadata
from cropcube.classes import load_class_table
from cropcube.cube_spec import CubeSpec
from cropcube.inference.map_rule import clear_non_cropland
from cropcube.inference.result import ClassMaps
from cropcube.readers.grid import Grid

GRID = Grid.from_origin("EPSG:32631", 677400.0, 5851960.0, 10.0, 46, 38)  # deliberately not a tile multiple


def make_cube(seed: int = 0) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint8]]:
    """A smooth 28-band DN cube with parcels, a nodata corner, and matching labels."""
    rng = np.random.default_rng(seed)
    h, w = GRID.height, GRID.width
    parcels = (np.arange(h)[:, None] // 9) * 7 + (np.arange(w)[None, :] // 11)
    labels = (1 + parcels % 76).astype(np.uint8)
    base = 800 + 90 * (parcels % 13)
    # B08 (band 3): green crops (NDVI about 0.5) on four parcels in five; the fifth is bare, which
    # the published maps' rule sets to class 0 (cropcube.inference.map_rule).
    nir = np.where(parcels % 5 == 0, 0, 1500 + 200 * (parcels % 3))
    cube = np.stack(
        [base + 150 * (k % 4) + 40 * (k // 4) + (nir if k % 4 == 3 else 0) for k in range(28)]
    ).astype(np.float64)
    cube += rng.normal(0, 25, cube.shape)
    cube = np.clip(cube, 1, 20000).astype(np.uint16)
    cube[:, :3, :4] = 0  # nodata pixels
    labels[:3, :4] = 0
    return cube, labels


@dataclass
class Scene:
    cube_path: Path
    labels_path: Path
    cube: npt.NDArray[np.uint16]
    labels: npt.NDArray[np.uint8]


def box_classes(cube: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint8]:
    """Toy model with a 3x3 receptive field and a parity pattern (it notices misaligned tiles)."""
    band = cube[13].astype(np.float64)  # 2018-05-08 B03
    padded = np.pad(band, 1, mode="edge")
    h, w = band.shape
    mean = sum(padded[r : r + h, c : c + w] for r in range(3) for c in range(3)) / 9.0
    parity = (np.arange(h)[:, None] % 2 + np.arange(w)[None, :] % 2) % 2  # period = downsampling factor
    return (1 + ((mean // 60).astype(np.int64) + parity) % 76).astype(np.uint8)


class ToyClassifier:
    """Implements the TileClassifier protocol; counts calls; can be told to die after N tiles."""

    def __init__(self, die_after: int | None = None) -> None:
        self.metadata = toy_metadata()
        self.calls = 0
        self.die_after = die_after

    def run(
        self, cube: npt.NDArray[np.uint16], *, core: tuple[int, int, int, int] | None = None
    ) -> ClassMaps:
        if self.die_after is not None and self.calls >= self.die_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        row, col, rows, cols = core if core is not None else (0, 0, *cube.shape[1:])
        classes = model_classes(cube)[row : row + rows, col : col + cols]
        return ClassMaps(classes=np.ascontiguousarray(classes))


def toy_metadata() -> BundleMetadata:
    return BundleMetadata(
        model_name="toy_box3",
        model_version="0.0-test",
        spec=CubeSpec(),
        classes=load_class_table(),
        receptive_field=3,
        downsampling_factor=2,
        halo=2,
        normalisation={"kind": "none"},
        content_hash="sha256:" + "ab" * 32,
    )


def model_classes(cube: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint8]:
    """What the toy model gives for one window, nodata pixels set to 0 (as the kernel does)."""
    out = box_classes(cube)
    out[(cube == 0).all(axis=0)] = 0
    return out


def published(cube: npt.NDArray[Any], classes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A map as published: the classes after the one map rule (non-cropland = 0)."""
    return clear_non_cropland(ClassMaps(classes=classes), cube, CubeSpec()).classes


def reference_classes(cube: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint8]:
    """One pass over the whole image, then the map rule (what every tiling must reproduce)."""
    return published(cube, model_classes(cube))
