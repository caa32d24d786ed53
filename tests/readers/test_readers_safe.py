from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import rowcol, xy
from rasterio.warp import transform as warp_transform

from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.errors import InputError
from cropcube.readers import Grid, open_cube, read_cube
from cropcube.readers.safe import safe_acquisitions, safe_band_files
from cropcube.readers.sentinel2 import build_cube_from_band_files

DATES = list(REFERENCE_2018_SPEC.dates)


def test_safe_folder_lists_10m_and_20m_files(safe_products: list[Path]) -> None:
    files = safe_band_files(safe_products[0])
    assert {(f.band, f.resolution_m) for f in files} == {
        (b, r) for b in ("B02", "B03", "B04", "B08") for r in (10, 20)
    }
    assert {f.date for f in files} == {DATES[0]}


def test_safe_folders_rebuild_the_cube_cropped_to_like(
    tmp_path: Path, safe_products: list[Path], flevoland_cube: Path, flevoland: dict[str, Any]
) -> None:
    acq = safe_acquisitions(safe_products)
    assert all(
        len(p) == 1 and p[0].endswith("_10m.jp2") for bands in acq.files.values() for p in bands.values()
    )
    build_cube_from_band_files(acq, DATES, tmp_path / "cube.tif", grid=Grid.of(flevoland_cube))
    assert open_cube(tmp_path / "cube.tif").spec.descriptions() == REFERENCE_2018_SPEC.descriptions()
    np.testing.assert_array_equal(read_cube(tmp_path / "cube.tif"), flevoland["data"])


def test_safe_zips_read_in_place(
    tmp_path: Path, safe_zips: list[Path], flevoland_cube: Path, flevoland: dict[str, Any]
) -> None:
    acq = safe_acquisitions(safe_zips)
    build_cube_from_band_files(acq, DATES, tmp_path / "cube.tif", grid=Grid.of(flevoland_cube))
    np.testing.assert_array_equal(read_cube(tmp_path / "cube.tif"), flevoland["data"])


def test_reprojection_to_another_utm_zone_puts_pixels_in_place(
    tmp_path: Path, safe_products: list[Path], flevoland: dict[str, Any]
) -> None:
    # A 10 m grid in UTM 32N over the middle of the cube: every output pixel must hold the value of
    # the source pixel under its centre (nearest neighbour), up to rounding at pixel edges.
    src = Grid("EPSG:32631", flevoland["transform"], 100, 100)
    left, bottom, right, top = src.bounds
    grid = Grid.from_bbox(
        (left + 200, bottom + 200, right - 200, top - 200), "EPSG:32632", bbox_crs="EPSG:32631"
    )
    build_cube_from_band_files(safe_acquisitions(safe_products), DATES, tmp_path / "utm32.tif", grid=grid)
    out = read_cube(tmp_path / "utm32.tif")
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    xs, ys = xy(grid.transform, rows.ravel(), cols.ravel(), offset="center")
    sx, sy = warp_transform("EPSG:32632", "EPSG:32631", xs, ys)
    srow, scol = (np.asarray(v, dtype=int) for v in rowcol(src.transform, sx, sy, op=np.floor))
    expected = flevoland["data"][:, srow, scol].reshape(out.shape)
    assert (out == expected).mean() > 0.99
    with rasterio.open(tmp_path / "utm32.tif") as ds:
        assert ds.crs.to_epsg() == 32632


def test_not_a_safe_and_corrupt_zip(tmp_path: Path) -> None:
    empty = tmp_path / "S2A_MSIL2A_20180108T105421_N0206_R051_T31UFU_20180108T105421.SAFE"
    empty.mkdir()
    (empty / "manifest.safe").write_text("<xml/>")
    with pytest.raises(InputError, match="not a Sentinel-2 SAFE product"):
        safe_band_files(empty)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError, match=r"broken\.zip.*not a readable SAFE"):
        safe_band_files(broken)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match=r"other\.zip.*GRANULE"):
        safe_band_files(other)
    with pytest.raises(InputError, match="does not exist"):
        safe_band_files(tmp_path / "gone.zip")
